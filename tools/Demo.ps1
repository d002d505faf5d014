#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Walks through the life of one Kata sandbox cgroup on this host with the built KataCgroups module.
.DESCRIPTION
    Run by `dotnet pwsh ./build.ps1 Demo`, which builds the module and passes the built manifest.

    As root: creates /kata-demo-<random>/pod1/sandbox1 (cgroup /kata-demo-<random>/pod1/kata_sandbox1) with
    the hypervisor devices and limits, starts `sleep 600` as a stand-in VMM and adds it, updates the limits,
    shows the cgroup object, its directories and the live cgroupfs values, previews a change with -WhatIf,
    removes the cgroup (the sleep goes back to the parent cgroup), then, when qemu-system-x86_64 is installed,
    places a short-lived QEMU (TCG) in a sandbox the way Kata does (its vCPU threads in the sandbox cgroup, the rest
    in the overhead cgroup) and removes it with its VMM, kills the sleep by its pid and removes the demo parent
    directories in every hierarchy. Everything is undone in `finally`, also on failure or Ctrl+C.

    Rootless (effective uid not 0, or uid 0 inside a user namespace): changes nothing; shows the read-only
    cmdlets working, the -WhatIf plan, and the warning each mutating cmdlet gives instead of acting.

    Exit code 0 on success, 1 on failure.
.PARAMETER ModulePath
    The module manifest to import, e.g. out/KataCgroups/KataCgroups.psd1.
.EXAMPLE
    dotnet pwsh ./tools/Demo.ps1 -ModulePath ./out/KataCgroups/KataCgroups.psd1
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)]
    [string] $ModulePath
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
if ([Console]::IsOutputRedirected) { $PSStyle.OutputRendering = 'PlainText' }   # clean logs

function Write-Section([string] $Title) {
    Write-Host ''
    Write-Host "== $Title ==" -ForegroundColor Cyan
}

function Write-Note([string] $Text) {
    Write-Host "   $Text" -ForegroundColor DarkGray
}

# Formatted objects, wide enough that table headers never wrap, in order with the Write-Host lines.
function Show-Object {
    $input | Out-String -Width 200 -Stream | ForEach-Object { Write-Host $_.TrimEnd() }
}

# The same test the module's host probe makes (runc's rule): rootless when the effective uid is not 0, or
# when uid 0 lives in a user namespace whose uid_map is not the identity map.
function Get-RootlessReason {
    $euid = [int](& id -u)
    if ($euid -ne 0) { return "effective uid $euid" }
    $map = Get-Content -Raw -Path /proc/self/uid_map -ErrorAction SilentlyContinue
    if ($map -and (($map.Trim() -split '\s+') -join ' ') -ne '0 0 4294967295') { return 'uid 0 inside a user namespace' }
    return $null
}

$ModulePath = (Resolve-Path -LiteralPath $ModulePath).ProviderPath   # a bare relative path would be taken for a module name
Import-Module $ModulePath -Force
$module = Get-Module KataCgroups
$suffix = [guid]::NewGuid().ToString('N').Substring(0, 8)
$demoRoot = "/kata-demo-$suffix"
$path = "$demoRoot/pod1/sandbox1"

Write-Host "KataCgroups $($module.Version) demo - module from $ModulePath" -ForegroundColor Green
$rootless = Get-RootlessReason

# ------------------------------------------------------------------------------------------------------
# Rootless: show what works and what each mutating cmdlet says instead of acting.
# ------------------------------------------------------------------------------------------------------
if ($rootless) {
    $exitCode = 0
    try {
        Write-Section "Running rootless ($rootless)"
        Write-Note 'Kata skips cgroup changes when rootless, and so does KataCgroups: every mutating cmdlet'
        Write-Note 'writes a warning and changes nothing. Reading and planning still work.'

        Write-Section '1. Read-only: where the sandbox cgroup would live (Get-KataCgroupPath)'
        Write-Note "Kata path rule: '$path' -> leaf gets the kata_ prefix"
        Get-KataCgroupPath -Path $path | Format-Table -AutoSize | Show-Object

        Write-Section '2. Read-only: Kata cgroups already on this host under /vc (Get-KataCgroup)'
        $existing = @(Get-KataCgroup)
        if ($existing.Count -eq 0) { Write-Note 'none under /vc' }
        else { $existing | Format-Table -AutoSize | Show-Object }

        Write-Section '3. Planning: New-KataCgroup -WhatIf prints what root would write'
        New-KataCgroup -Path $path -MemoryLimit 256MB -CpuShares 512 -PidsLimit 128 -WhatIf -WarningAction SilentlyContinue

        Write-Section '4. Mutating cmdlets warn and change nothing'
        Write-Host 'PS> New-KataCgroup -Path ... -MemoryLimit 256MB -CpuShares 512 -PidsLimit 128'
        $cg = New-KataCgroup -Path $path -MemoryLimit 256MB -CpuShares 512 -PidsLimit 128
        Write-Note "output objects: $(@($cg).Count)"

        Write-Host "PS> Add-KataCgroupProcess -Path ... -Id $PID"
        Add-KataCgroupProcess -Path $path -Id $PID -PassThru | Show-Object

        # Set and Remove resolve their target before the rootless guard: with nothing created they report
        # CgroupNotFound; pointed at an existing Kata cgroup they warn "skipped ... running rootless" too.
        foreach ($call in @(
                @{ Text = 'Set-KataCgroupResource -Path ... -MemoryLimit 512MB'; Run = { Set-KataCgroupResource -Path $path -MemoryLimit 512MB -ErrorAction Stop } },
                @{ Text = 'Remove-KataCgroup -Path ...'; Run = { Remove-KataCgroup -Path $path -ErrorAction Stop } })) {
            Write-Host "PS> $($call.Text)"
            try { & $call.Run }
            catch {
                Write-Note "$(($_.FullyQualifiedErrorId -split ',')[0]): $($_.Exception.Message)"
                Write-Note '(the cgroup could not be created rootless; on an existing Kata cgroup this cmdlet warns "skipped ...: running rootless" and changes nothing)'
            }
        }

        Write-Section '5. Nothing was created'
        $made = @(Get-KataCgroupPath -Path $path | Where-Object Exists)
        if ($made.Count -ne 0) { throw "rootless run created $($made.Count) directories: $($made.Directory -join ', ')" }
        Write-Note "no directory of $path exists in any hierarchy"
        Write-Host ''
        Write-Host 'Demo finished (rootless).' -ForegroundColor Green
    }
    catch {
        Write-Host "Demo failed: $($_.Exception.Message)" -ForegroundColor Red
        Write-Host $_.ScriptStackTrace -ForegroundColor DarkGray
        $exitCode = 1
    }
    exit $exitCode
}

# ------------------------------------------------------------------------------------------------------
# Root: the full life of a sandbox cgroup, undone in finally.
# ------------------------------------------------------------------------------------------------------

# Every hierarchy's mount point, from the module's own view of the host (read-only, before anything exists).
$layout = @(Get-KataCgroupPath -Path $path)
$mounts = @($layout | ForEach-Object { $_.Directory.Substring(0, $_.Directory.Length - $_.CgroupPath.Length) } | Select-Object -Unique)
$demoDirs = @($mounts | ForEach-Object { $_.TrimEnd('/') + $demoRoot })
$clash = @($demoDirs | Where-Object { Test-Path -LiteralPath $_ })
if ($clash.Count -gt 0) { throw "demo root already exists: $($clash -join ', ')" }

# On cgroup v2 (unified) hosts every controller shares the one 'unified' directory.
$isV2 = -not ($layout | Where-Object Controller -NE 'unified')

function Get-ControllerDir([string] $Controller) {
    $row = $layout | Where-Object Controller -EQ $Controller | Select-Object -First 1
    if (-not $row) { $row = $layout | Where-Object Controller -EQ 'unified' | Select-Object -First 1 }
    $row.Directory
}

function Read-CgroupFile([string] $Controller, [string] $File) {
    (Get-Content -Raw -LiteralPath (Join-Path (Get-ControllerDir $Controller) $File)).Trim()
}

$script:sleep = $null
$script:qemu = $null

# Idempotent: kill the stand-in VMM, remove the cgroup if it is still there, rmdir the demo tree (children
# first) in every hierarchy. Only ever touches $demoRoot, which this run created.
function Invoke-Cleanup([switch] $Quiet) {
    $problems = @()
    if ($script:sleep -and -not $script:sleep.HasExited) {
        if (-not $Quiet) { Write-Host "PS> Stop-Process -Id $($script:sleep.Id)" }
        Stop-Process -Id $script:sleep.Id -Force -ErrorAction SilentlyContinue
        $null = $script:sleep.WaitForExit(5000)
    }
    if ($script:qemu -and -not $script:qemu.HasExited) {
        Stop-Process -Id $script:qemu.Id -Force -ErrorAction SilentlyContinue
        $null = $script:qemu.WaitForExit(5000)
    }
    if (@(Get-KataCgroupPath -Path $path | Where-Object Exists).Count -gt 0) {
        Remove-KataCgroup -Path $path -Kill -Confirm:$false -ErrorAction Continue
    }
    foreach ($dir in $demoDirs) {
        if (-not (Test-Path -LiteralPath $dir)) { continue }
        $tree = @(Get-ChildItem -LiteralPath $dir -Directory -Recurse -ErrorAction SilentlyContinue |
                Sort-Object { $_.FullName.Length } -Descending | ForEach-Object FullName) + $dir
        foreach ($d in $tree) {
            # rmdir of a cgroup directory: the kernel may still be releasing an exited task (EBUSY), retry briefly.
            for ($i = 0; $i -lt 50 -and (Test-Path -LiteralPath $d); $i++) {
                try { [IO.Directory]::Delete($d) } catch { Start-Sleep -Milliseconds 100 }
            }
            if (Test-Path -LiteralPath $d) { $problems += $d }
            elseif (-not $Quiet) { Write-Note "rmdir $d" }
        }
    }
    $problems
}

$exitCode = 0
try {
    Write-Section "1. Kata path rules: '$path'"
    Write-Note 'Absolute paths are cleaned and the leaf gets the kata_ prefix (relative ones would go under /vc).'
    Write-Note 'Get-KataCgroupPath is read-only: nothing exists yet.'
    $layout | Format-Table -AutoSize | Show-Object

    Write-Section '2. Create it with limits and the hypervisor devices (New-KataCgroup)'
    Write-Host "PS> `$cg = New-KataCgroup -Path $path -MemoryLimit 256MB -CpuShares 512 -CpuQuota 50000 -CpuPeriod 100000 -PidsLimit 128 -Device 'c 10:229 rwm'"
    Write-Note "(-Device 'c 10:229 rwm' is /dev/fuse: a caller rule, kept next to the hypervisor rules)"
    $cg = New-KataCgroup -Path $path -MemoryLimit 256MB -CpuShares 512 -CpuQuota 50000 -CpuPeriod 100000 -PidsLimit 128 -Device 'c 10:229 rwm'
    if (-not $cg) { throw 'New-KataCgroup returned nothing' }
    Write-Note 'Warnings about missing /dev nodes are expected on hosts without them: they are skipped, never an error.'
    $cg | Format-Table -AutoSize | Show-Object

    Write-Section '3. Start a stand-in VMM (sleep 600) and add it (Add-KataCgroupProcess)'
    $script:sleep = Start-Process -FilePath sleep -ArgumentList 600 -PassThru
    Write-Note "started sleep, pid $($script:sleep.Id)"
    Write-Host "PS> `$cg | Add-KataCgroupProcess -Id $($script:sleep.Id) -PassThru"
    $cg | Add-KataCgroupProcess -Id $script:sleep.Id -PassThru | Format-Table -AutoSize | Show-Object
    $procs = @((Read-CgroupFile memory cgroup.procs) -split "`n")
    Write-Note "$(Get-ControllerDir memory)/cgroup.procs: $($procs -join ' ')"
    if ("$($script:sleep.Id)" -notin $procs) { throw "pid $($script:sleep.Id) is not in the memory cgroup" }

    Write-Section '4. Update limits (Set-KataCgroupResource -MemoryLimit 512MB -PidsLimit 256 -PassThru)'
    Write-Host 'PS> $cg | Set-KataCgroupResource -MemoryLimit 512MB -PidsLimit 256 -PassThru'
    $cg | Set-KataCgroupResource -MemoryLimit 512MB -PidsLimit 256 -PassThru | Format-Table -AutoSize | Show-Object

    Write-Section '5. The cgroup as read back from the host (Get-KataCgroup | Format-List)'
    Write-Host "PS> Get-KataCgroup -Path $path | Format-List"
    Get-KataCgroup -Path $path | Format-List | Show-Object

    Write-Section '6. Its directories (Get-KataCgroupPath)'
    Write-Host 'PS> $cg | Get-KataCgroupPath'
    $cg | Get-KataCgroupPath | Format-Table -AutoSize | Show-Object

    Write-Section '7. Live values, read straight from cgroupfs'
    # The files the limits landed in; on v2 the driver converted them (cpu.shares 512 -> cpu.weight 59).
    $expected = if ($isV2) {
        [ordered]@{
            'memory/memory.max' = '536870912'
            'cpu/cpu.weight'    = $null
            'cpu/cpu.max'       = '50000 100000'
            'pids/pids.max'     = '256'
        }
    }
    else {
        [ordered]@{
            'memory/memory.limit_in_bytes' = '536870912'
            'cpu/cpu.shares'               = '512'
            'cpu/cpu.cfs_period_us'        = '100000'
            'cpu/cpu.cfs_quota_us'         = '50000'
            'pids/pids.max'                = '256'
        }
    }
    foreach ($key in $expected.Keys) {
        $controller, $file = $key -split '/', 2
        $value = Read-CgroupFile $controller $file
        Write-Host ("   {0} = {1}" -f (Join-Path (Get-ControllerDir $controller) $file), $value)
        if ($null -ne $expected[$key] -and $value -ne $expected[$key]) { throw "$file is '$value', expected '$($expected[$key])'" }
    }
    if ($isV2) {
        # cgroup v2 has no devices.list: the rules live in an eBPF program attached to the directory.
        Write-Host "   devices: $((Get-KataCgroup -Path $path).Devices -join ', ')"
    }
    else {
        $devicesList = @((Read-CgroupFile devices devices.list) -split "`n")
        Write-Host "   $(Join-Path (Get-ControllerDir devices) devices.list):"
        foreach ($line in $devicesList) {
            $why = switch -Regex ($line) {
                '^b 253:\* rwm$' { 'hypervisor: device-mapper, hot-plugged into the VM' }
                '^c 10:232 rwm$' { 'hypervisor: /dev/kvm' }
                '^c 10:238 rwm$' { 'hypervisor: /dev/vhost-net' }
                '^c 10:229 rwm$' { 'caller rule (-Device), kept' }
                default { 'runc default' }
            }
            Write-Host ("     {0,-14} {1}" -f $line, $why)
        }
        foreach ($must in 'b 253:* rwm', 'c 10:229 rwm') {
            if ($must -notin $devicesList) { throw "devices.list lacks '$must'" }
        }
    }

    Write-Section '8. Preview a change (-WhatIf): the plan, nothing written'
    Write-Host 'PS> $cg | Set-KataCgroupResource -CpuShares 1024 -MemoryLimit 1GB -WhatIf'
    $before = Get-KataCgroup -Path $path
    $cg | Set-KataCgroupResource -CpuShares 1024 -MemoryLimit 1GB -WhatIf
    $after = Get-KataCgroup -Path $path
    if ($after.CpuShares -ne $before.CpuShares -or $after.MemoryLimit -ne $before.MemoryLimit) { throw '-WhatIf changed the cgroup' }
    Write-Note "read back: CpuShares still $($after.CpuShares), MemoryLimit still $($after.MemoryLimit)"

    Write-Section '9. Remove it (Remove-KataCgroup): its process goes back to the parent cgroup'
    Write-Host 'PS> $cg | Remove-KataCgroup'
    $cg | Remove-KataCgroup
    $left = @(Get-KataCgroupPath -Path $path | Where-Object Exists)
    if ($left.Count -gt 0) { throw "still present: $($left.Directory -join ', ')" }
    Write-Note 'every kata_sandbox1 directory is gone'
    $parentPath = Split-Path -Parent $cg.CgroupPath
    $inParent = 0
    foreach ($m in $mounts) {
        $procsFile = Join-Path ($m.TrimEnd('/') + $parentPath) cgroup.procs
        if ("$($script:sleep.Id)" -in @((Get-Content -LiteralPath $procsFile) -split "`n")) { $inParent++ }
    }
    Write-Note "sleep (pid $($script:sleep.Id)) is now in $parentPath in $inParent of $($mounts.Count) hierarchies"
    if ($inParent -ne $mounts.Count) { throw "sleep is in the parent cgroup in only $inParent of $($mounts.Count) hierarchies" }

    Write-Section '10. Optional: a real VMM placed the way Kata does (New-KataSandbox, Add-KataSandboxVmm)'
    if (-not (Get-Command qemu-system-x86_64 -CommandType Application -ErrorAction Ignore)) {
        Write-Note 'skipped: qemu-system-x86_64 is not installed'
    }
    else {
        # Kata's default layout: the vCPU threads in the sandbox cgroup with the limits, the rest of the VMM in the
        # overhead cgroup (kept under the demo root here, instead of Kata's /kata_overhead). QEMU under TCG names its
        # vCPU threads 'CPU <n>/TCG' with debug-threads=on; it runs only the firmware and is killed in this step.
        $sbArgs = @{ PodPath = "$demoRoot/pod2"; SandboxId = 'sb1'; OverheadRoot = "$demoRoot/kata_overhead" }
        Write-Host "PS> `$sb = New-KataSandbox -PodPath $demoRoot/pod2 -SandboxId sb1 -OverheadRoot $demoRoot/kata_overhead -CpuQuota 20000 -CpuPeriod 100000"
        $sb = New-KataSandbox @sbArgs -CpuQuota 20000 -CpuPeriod 100000 -WarningAction SilentlyContinue
        $script:qemu = Start-Process qemu-system-x86_64 -PassThru -ArgumentList '-name', 'kata-demo,debug-threads=on', '-accel', 'tcg',
            '-smp', '2', '-m', '64', '-display', 'none', '-nodefaults', '-monitor', 'none', '-serial', 'none'
        for ($i = 0; $i -lt 100 -and @(Get-ChildItem "/proc/$($script:qemu.Id)/task" -ErrorAction Ignore).Count -lt 3; $i++) { Start-Sleep -Milliseconds 50 }
        Write-Host "PS> `$sb | Add-KataSandboxVmm -Id $($script:qemu.Id) -PassThru"
        $sb | Add-KataSandboxVmm -Id $script:qemu.Id -PassThru -WarningAction SilentlyContinue |
            Format-List Layout, VmmPid, VcpuThreadIds, VcpuPlacement, SandboxCgroupPath, OverheadCgroupPath | Show-Object
        Write-Host 'PS> Get-KataCgroup -Path $sb.Path; Get-KataCgroup -CgroupPath $sb.OverheadCgroupPath'
        @(Get-KataCgroup -Path $sb.Path) + @(Get-KataCgroup -CgroupPath $sb.OverheadCgroupPath) | Format-Table | Show-Object
        Write-Host 'PS> $sb | Remove-KataSandbox -Kill'
        $sb | Remove-KataSandbox -Kill
        if (-not $script:qemu.WaitForExit(10000)) { throw "QEMU $($script:qemu.Id) did not end" }
        Write-Note 'both cgroups removed, QEMU ended'
    }

    Write-Section '11. Clean up: kill the sleep, remove the demo parents in every hierarchy'
    $problems = @(Invoke-Cleanup)
    if ($problems.Count -gt 0) { throw "could not remove: $($problems -join ', ')" }
    Write-Host ''
    Write-Host "Demo finished: nothing left under $demoRoot in any hierarchy." -ForegroundColor Green
}
catch {
    Write-Host "Demo failed: $($_.Exception.Message)" -ForegroundColor Red
    Write-Host $_.ScriptStackTrace -ForegroundColor DarkGray
    $exitCode = 1
}
finally {
    $problems = @(Invoke-Cleanup -Quiet)
    if ($problems.Count -gt 0) {
        Write-Host "Cleanup left: $($problems -join ', ')" -ForegroundColor Red
        $exitCode = 1
    }
}
exit $exitCode
