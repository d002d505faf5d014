<#
A real VMM for the tests: qemu-system-x86_64 under TCG (no KVM needed), started as a child process this test owns,
tracked in the suite's process list (TestHelpers.psm1: killed by PID at cleanup, looked for by the leak check).

  * Linux guest: Debian's kernel (tests/Guest/kernel.sh) and a busybox initramfs whose /init keeps the vCPU busy
    and prints "kc-tick <n>" to the serial console (tests/Vmm/init); boots in ~10 s on a loaded 2-core host.
  * Firmware guest: a 64 KiB BIOS image that loops and writes a '.' to the serial port every 2^24 rounds
    (tests/Vmm/guest.sh); runs at once, for hosts where QEMU itself is emulated.

QEMU runs with -name <unique>,debug-threads=on, so its threads are named ("CPU 0/TCG" for the vCPU, the rest
"qemu-system-x86", "call_rcu", "worker" …): Get-KcVmmThread reads them from /proc/<pid>/task/*/comm. The serial
console goes to a file; Get-KcVmmProgress reads how far the guest got. With -Gated the process is a shell that
waits for a gate file and then execs QEMU (same PID), so a test can place it in a cgroup before QEMU runs a single
instruction or allocates a page; Open-KcVmmGate lets it go.
#>
Set-StrictMode -Version Latest
Import-Module (Join-Path $PSScriptRoot '../Pester/TestHelpers.psm1')

$script:Repo = (Resolve-Path (Join-Path $PSScriptRoot '../..')).ProviderPath
$script:Assets = $null
# every VMM this module started and has not stopped: Clear-KcVmm stops them, also after a failed test
$script:Started = [System.Collections.Generic.List[object]]::new()

function Get-KcMissingVmm {
    <#
    '' when this host can run the test VMM (qemu-system-x86_64, busybox), else one sentence naming what is missing.
    In CI (KATACGROUPS_REQUIRE_GUEST=1, set by .ci/run) a missing QEMU is a failure, not a skip: this throws.
    #>
    $missing = @(foreach ($tool in 'qemu-system-x86_64', 'busybox') {
            if (-not (Get-Command $tool -CommandType Application -ErrorAction Ignore)) { $tool }
        })
    if (-not $missing) { return '' }
    $why = "host lacks $($missing -join ' and ') (the real-VMM tests run QEMU/TCG; .ci/run installs qemu-system-x86 and busybox-static)"
    if ($env:KATACGROUPS_REQUIRE_GUEST -eq '1') { throw "$why, and KATACGROUPS_REQUIRE_GUEST=1 makes that a failure" }
    $why
}

function Get-KcVmmAsset {
    <# The kernel, initrd and firmware paths (tests/Vmm/guest.sh builds them once per checkout into out/). #>
    if ($script:Assets) { return $script:Assets }
    $out = & (Join-Path $PSScriptRoot 'guest.sh') 2>&1
    if ($LASTEXITCODE -ne 0) { throw "tests/Vmm/guest.sh failed (exit $LASTEXITCODE): $($out -join "`n")" }
    $lines = @($out | ForEach-Object { "$_" } | Where-Object { $_ -like '/*' } | Select-Object -Last 3)
    $script:Assets = [pscustomobject]@{ Kernel = $lines[0]; Initrd = $lines[1]; Firmware = $lines[2] }
    $script:Assets
}

function Start-KcVmm {
    <#
    Starts a QEMU VMM and returns @{ Id; Process; Name; Guest; Directory; Console; Gate }. -Guest Linux boots the
    kernel with -MemoryMB of guest RAM; -FillMB makes the guest write that much into a tmpfs before its busy loop
    (guest RAM the VMM must back). -Gated: the process waits for Open-KcVmmGate before it execs QEMU.
    #>
    param([ValidateSet('Linux', 'Firmware')] [string] $Guest = 'Linux', [int] $MemoryMB = 256, [int] $FillMB = 0,
        [switch] $Gated)
    $assets = Get-KcVmmAsset
    $name = 'kc-vmm-' + [guid]::NewGuid().ToString('n').Substring(0, 10)
    $dir = "/run/$name"
    $null = New-Item -ItemType Directory -Path $dir
    $global:KcTestState.TempDirs.Add($dir)
    $global:KcTestState.AllTempDirs.Add($dir)
    $console = "$dir/console.log"
    $gate = "$dir/gate"
    # tb-size: TCG's translation cache is 1 GiB by default (virtual, touched as it fills); a small one keeps the
    # VMM's resident size about its guest's. -nodefaults: no NIC, VGA or option ROMs; the serial port is all the
    # guest has. -no-reboot: a guest that panics ends the VMM instead of booting again.
    $qemu = @('qemu-system-x86_64', '-name', "$name,debug-threads=on", '-accel', 'tcg,tb-size=16', '-smp', '1',
        '-m', "$MemoryMB", '-nodefaults', '-no-user-config', '-display', 'none', '-monitor', 'none', '-no-reboot',
        '-serial', "file:$console")
    $qemu += if ($Guest -eq 'Linux') {
        '-kernel', $assets.Kernel, '-initrd', $assets.Initrd, '-append', "console=ttyS0 quiet panic=-1 kc.fill=$FillMB"
    }
    else { '-bios', $assets.Firmware }
    $psi = [System.Diagnostics.ProcessStartInfo]::new('sh')
    # exec keeps the PID: the process the test started, and may have placed, is the VMM.
    $wait = if ($Gated) { 'while [ ! -e "$0" ]; do sleep 0.02; done; ' } else { '' }
    foreach ($a in @('-c', "${wait}exec `"`$@`"", $gate) + $qemu) { $psi.ArgumentList.Add($a) }
    $psi.UseShellExecute = $false
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardError = $true
    $p = [System.Diagnostics.Process]::Start($psi)
    Register-KcProcess $p
    # QEMU's messages (a refused option, "terminating on signal") are read in the background, for failures.
    $stderr = $p.StandardError.ReadToEndAsync()
    $null = $p.StandardOutput.ReadToEndAsync()
    $vmm = [pscustomobject]@{ Id = $p.Id; Process = $p; Name = $name; Guest = $Guest; Directory = $dir; Console = $console
        Gate = $gate; Stderr = $stderr }
    $script:Started.Add($vmm)
    $vmm
}

function Open-KcVmmGate {
    <# Lets a -Gated VMM exec QEMU. #>
    param([Parameter(Mandatory)] $Vmm)
    $null = New-Item -ItemType File -Path $Vmm.Gate -Force
}

function Get-KcVmmConsole {
    <# What the guest wrote to its serial console so far ('' before the first byte). #>
    param([Parameter(Mandatory)] $Vmm)
    try { [System.IO.File]::ReadAllText($Vmm.Console) } catch [System.IO.FileNotFoundException] { '' }
}

function Get-KcVmmProgress {
    <#
    How far the guest's busy loop got: the last "kc-tick <n>" of the Linux guest (0 before the first), or the
    number of '.' the firmware guest wrote.
    #>
    param([Parameter(Mandatory)] $Vmm)
    $text = Get-KcVmmConsole $Vmm
    if ($Vmm.Guest -eq 'Firmware') { return [long] $text.Length }
    $m = [regex]::Matches($text, 'kc-tick (\d+)')
    if ($m.Count) { [long] $m[$m.Count - 1].Groups[1].Value } else { [long] 0 }
}

function Get-KcVmmFailure {
    <# A description of the VMM for a failure message: alive or its exit code, QEMU's stderr, the console's end. #>
    param([Parameter(Mandatory)] $Vmm)
    $state = if ($Vmm.Process.HasExited) { "exited with $($Vmm.Process.ExitCode)" } else { 'running' }
    $err = if ($Vmm.Process.HasExited -and $Vmm.Stderr.Wait(1000)) { $Vmm.Stderr.Result.Trim() } else { '' }
    $tail = (Get-KcVmmConsole $Vmm) -split "`n" | Where-Object { $_ } | Select-Object -Last 5
    "VMM $($Vmm.Id) ($($Vmm.Name)) $state; stderr: '$err'; console ends: '$($tail -join ' | ')'"
}

function Wait-KcVmmProgress {
    <#
    Waits until the progress passes $From (default: the guest is running its loop) and returns it; throws with the
    VMM's state when it does not within $TimeoutSeconds (a Linux guest boots in ~10 s on a loaded 2-core host).
    #>
    param([Parameter(Mandatory)] $Vmm, [long] $From = 0, [int] $TimeoutSeconds = 90)
    $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
    while ($true) {
        $now = Get-KcVmmProgress $Vmm
        if ($now -gt $From) { return $now }
        if ($Vmm.Process.HasExited -or [DateTime]::UtcNow -gt $deadline) {
            throw "the guest made no progress past $From within $TimeoutSeconds s: $(Get-KcVmmFailure $Vmm)"
        }
        Start-Sleep -Milliseconds 100
    }
}

function Get-KcVmmThread {
    <#
    The VMM's threads as @{ Id; Name; IsVcpu } from /proc/<pid>/task/*/comm; QEMU names a vCPU thread "CPU <n>/TCG"
    (or /KVM) when started with debug-threads=on.
    #>
    param([Parameter(Mandatory)] $Vmm)
    foreach ($d in [System.IO.Directory]::GetDirectories("/proc/$($Vmm.Id)/task")) {
        $comm = try { [System.IO.File]::ReadAllText("$d/comm").TrimEnd("`n") } catch { continue }
        [pscustomobject]@{ Id = [int] [System.IO.Path]::GetFileName($d); Name = $comm; IsVcpu = $comm -match '^CPU \d+/(TCG|KVM)$' }
    }
}

function Get-KcThreadSchedStat {
    <#
    /proc/<pid>/task/<tid>/schedstat summed over the threads: RunNs, the time they ran on a CPU, and WaitNs, the
    time they were runnable but waited (on a run queue, or throttled by a CFS quota) (scheduler/sched-stats.rst).
    #>
    param([Parameter(Mandatory)] [int] $ProcessId, [Parameter(Mandatory)] [int[]] $ThreadId)
    $run = [long] 0; $wait = [long] 0
    foreach ($t in $ThreadId) {
        $f = [System.IO.File]::ReadAllText("/proc/$ProcessId/task/$t/schedstat").Trim().Split(' ')
        $run += [long] $f[0]; $wait += [long] $f[1]
    }
    [pscustomobject]@{ RunNs = $run; WaitNs = $wait; At = [System.Diagnostics.Stopwatch]::GetTimestamp() }
}

function Measure-KcThreadCpu {
    <#
    The threads' CPU use over $Seconds of wall time, as fractions of one CPU: Run (time on a CPU) and Runnable (on a
    CPU or waiting for one: 1.0 for a thread that never sleeps, whatever the load). $Before and $After run right
    before and after the interval (to read cgroup counters at its ends); their results are returned as Before and
    After.
    #>
    param([Parameter(Mandatory)] [int] $ProcessId, [Parameter(Mandatory)] [int[]] $ThreadId, [double] $Seconds = 3,
        [scriptblock] $Before, [scriptblock] $After)
    $b = if ($Before) { & $Before }
    $s0 = Get-KcThreadSchedStat $ProcessId $ThreadId
    Start-Sleep -Milliseconds ([int] ($Seconds * 1000))
    $s1 = Get-KcThreadSchedStat $ProcessId $ThreadId
    $a = if ($After) { & $After }
    $wallNs = ($s1.At - $s0.At) * 1e9 / [System.Diagnostics.Stopwatch]::Frequency
    [pscustomobject]@{
        Seconds  = [math]::Round($wallNs / 1e9, 3)
        Run      = [math]::Round(($s1.RunNs - $s0.RunNs) / $wallNs, 3)
        Runnable = [math]::Round((($s1.RunNs - $s0.RunNs) + ($s1.WaitNs - $s0.WaitNs)) / $wallNs, 3)
        Before   = $b
        After    = $a
    }
}

function Stop-KcVmm {
    <# Kills the VMM by its PID (if it still runs), reaps it and removes its directory. #>
    param([Parameter(Mandatory)] $Vmm)
    if ($global:KcTestState.Processes.ContainsKey($Vmm.Id)) { Stop-KcProcess -Id $Vmm.Id }
    if (Test-Path -LiteralPath $Vmm.Directory) { Remove-Item -LiteralPath $Vmm.Directory -Recurse -Force }
    $null = $global:KcTestState.TempDirs.Remove($Vmm.Directory)
    $null = $script:Started.Remove($Vmm)
}

function Clear-KcVmm {
    <# For AfterAll: stops every VMM this module started that a test did not stop (a failed test's included). #>
    foreach ($v in @($script:Started)) { Stop-KcVmm $v }
}

function Assert-KcVmmThread {
    <#
    Pester assertion of where VMM threads (Get-KcVmmThread objects) are, in every hierarchy this host has
    (Get-KcExpectedProcessLine): $V1Path in each v1 hierarchy, $UnifiedPath (default the same) in the cgroup2 tree.
    #>
    param([Parameter(Mandatory)] $Vmm, [Parameter(Mandatory)] [object[]] $Thread, [Parameter(Mandatory)] [string] $V1Path,
        [string] $UnifiedPath = $V1Path)
    $fields = @(Get-KcExpectedProcessLine)
    foreach ($t in $Thread) {
        $map = Get-KcThreadCgroup $Vmm.Id $t.Id
        foreach ($f in $fields) {
            $map[$f] | Should -BeExactly $(if ($f -eq '') { $UnifiedPath } else { $V1Path }) -Because "thread $($t.Id) '$($t.Name)' is there in hierarchy '$f'"
        }
    }
}

function Get-KcVmmRssAnon {
    <# The VMM's anonymous resident memory in bytes (RssAnon of /proc/<pid>/status): for a booted guest, mostly its RAM. #>
    param([Parameter(Mandatory)] $Vmm)
    $m = Select-String -LiteralPath "/proc/$($Vmm.Id)/status" -Pattern '^RssAnon:\s+(\d+) kB'
    [long] $m.Matches[0].Groups[1].Value * 1KB
}

Export-ModuleMember -Function *-KcVmm*, Get-KcMissingVmm, Get-KcThreadSchedStat, Measure-KcThreadCpu
