<#
Shared helpers for the KataCgroups Pester suite. The suite drives the BUILT module against this machine's real
cgroupfs, so every helper here is about isolation and cleanup:

  * every test works below its own hierarchy-relative root /kctest-<random> (New-KcTestRoot), never near the
    machine's own cgroups (its services live in the memory hierarchy under /process_api);
  * every process a test starts is a `sleep` tagged with an extra operand (Start-KcSleep), tracked by PID and
    killed by PID only (Stop-KcProcess);
  * Clear-KcTestState, called from AfterEach/AfterAll, kills the tracked processes and removes every directory
    the tests made, depth-first, in every hierarchy, and throws when something could not be cleaned, so a leak
    fails the block that caused it; zz.Leaks.Tests.ps1 checks the whole run at the end.

Tracking lives in one global object so it survives each test file re-importing this module.
#>
Set-StrictMode -Version Latest

$script:CgroupMountRoot = '/sys/fs/cgroup'

# `sleep 300 0.0271828` sleeps 300.03 s: GNU sleep sums its operands. The odd second operand tags the processes
# this suite starts, so the leak check can find one even after a crashed run lost its PID list.
$script:SleepMarker = '0.0271828'
$script:SleepSeconds = '300'

function Get-KcBpfDeviceProgramId {
    <# Ids of the loaded BPF_PROG_TYPE_CGROUP_DEVICE programs (bpftool), or nothing where bpftool is missing. #>
    if (-not (Get-Command bpftool -ErrorAction Ignore)) { return }
    $json = & bpftool prog show -j 2>$null
    if ($LASTEXITCODE -ne 0 -or -not $json) { return }
    foreach ($p in ($json | ConvertFrom-Json)) { if ($p.type -eq 'cgroup_device') { [int] $p.id } }
}

if (-not (Get-Variable -Name KcTestState -Scope Global -ErrorAction Ignore)) {
    $global:KcTestState = [pscustomobject]@{
        # pid -> System.Diagnostics.Process, every process the suite started and has not reaped yet
        Processes   = [System.Collections.Generic.Dictionary[int, System.Diagnostics.Process]]::new()
        # hierarchy-relative roots the suite handed out and has not removed yet
        Roots       = [System.Collections.Generic.List[string]]::new()
        # hierarchy mount points where the suite created /vc itself (removed again when empty)
        CreatedVc   = [System.Collections.Generic.HashSet[string]]::new()
        # temp directories (rootless copies of pwsh and the module)
        TempDirs    = [System.Collections.Generic.List[string]]::new()
        # every process the suite ever started, as @{ Id; StartTime } (the leak check looks at all of them)
        Started     = [System.Collections.Generic.List[object]]::new()
        # every temp directory the suite ever made
        AllTempDirs = [System.Collections.Generic.List[string]]::new()
        RootlessEnv = $null
        # where the test runner itself lives in each hierarchy (hierarchy field -> path), to put it back if a
        # broken cmdlet ever moved it into a test cgroup
        RunnerCgroup = @{}
        # cgroup device eBPF programs loaded before the suite ran (the leak check looks for new ones left over)
        BpfDeviceProgramsAtStart = @(Get-KcBpfDeviceProgramId)
    }
    foreach ($line in [System.IO.File]::ReadAllLines("/proc/$PID/cgroup")) {
        $parts = $line.Split(':', 3)
        $global:KcTestState.RunnerCgroup[$parts[1]] = $parts[2]
    }
}

function Get-KcModulePath {
    <# The built module under test: $env:KATACGROUPS_MODULE (set by build.ps1), else out/ of this checkout. #>
    $path = if ($env:KATACGROUPS_MODULE) { $env:KATACGROUPS_MODULE }
    else { Join-Path $PSScriptRoot '../../out/KataCgroups/KataCgroups.psd1' }
    if (-not (Test-Path -LiteralPath $path)) {
        throw "the built module was not found at '$path': run ./build.ps1 Build first, or set `$env:KATACGROUPS_MODULE"
    }
    (Resolve-Path -LiteralPath $path).ProviderPath
}

function Get-KcCommandCase {
    <# One @{ Name = ... } per command the module under test exports (imported globally): -ForEach cases at discovery. #>
    Import-Module (Get-KcModulePath) -Global -Force
    @(Get-Command -Module KataCgroups | ForEach-Object { @{ Name = $_.Name } })
}

function Get-KcHierarchy {
    <#
    Every cgroup (v1) and cgroup2 mount beneath /sys/fs/cgroup, from /proc/self/mountinfo, as
    @{ MountPoint; Controllers (v1 controllers / name=systemd; empty for cgroup2); IsUnified }.
    #>
    foreach ($line in [System.IO.File]::ReadAllLines('/proc/self/mountinfo')) {
        $sep = $line.IndexOf(' - ')
        if ($sep -lt 0) { continue }
        $pre = $line.Substring(0, $sep).Split(' ')
        $post = $line.Substring($sep + 3).Split(' ')
        if ($post[0] -notin 'cgroup', 'cgroup2') { continue }
        $mount = $pre[4]
        if ($mount -ne $script:CgroupMountRoot -and -not $mount.StartsWith("$script:CgroupMountRoot/")) { continue }
        $controllers = @()
        if ($post[0] -eq 'cgroup') {
            $controllers = @($post[2].Split(',') | Where-Object {
                    $_ -like 'name=*' -or $_ -in 'cpuset', 'cpu', 'cpuacct', 'blkio', 'memory', 'devices', 'freezer',
                    'net_cls', 'perf_event', 'net_prio', 'hugetlb', 'pids', 'rdma', 'misc'
                })
        }
        [pscustomobject]@{ MountPoint = $mount; Controllers = $controllers; IsUnified = $post[0] -eq 'cgroup2' }
    }
}

function Get-KcControllerMount {
    <# Mount point of one v1 controller ('memory', 'name=systemd') or of the cgroup2 tree ('unified'). #>
    param([Parameter(Mandatory)] [string] $Controller)
    $h = Get-KcHierarchy | Where-Object {
        if ($Controller -eq 'unified') { $_.IsUnified } else { $Controller -in $_.Controllers }
    } | Select-Object -First 1
    if (-not $h) { throw "no hierarchy for controller '$Controller' is mounted under $script:CgroupMountRoot" }
    $h.MountPoint
}

function Get-KcCgroupDirectory {
    <# The cgroup's directory in every hierarchy (whether or not it exists). #>
    param([Parameter(Mandatory)] [string] $CgroupPath)
    foreach ($h in Get-KcHierarchy) { $h.MountPoint + $CgroupPath }
}

function Get-KcCgroupFile {
    <# Content of one cgroup file, read straight from cgroupfs (trailing newline trimmed). #>
    param([Parameter(Mandatory)] [string] $Controller, [Parameter(Mandatory)] [string] $CgroupPath,
        [Parameter(Mandatory)] [string] $File)
    $path = (Get-KcControllerMount $Controller) + $CgroupPath + '/' + $File
    [System.IO.File]::ReadAllText($path).TrimEnd("`n")
}

function Get-KcExistingDirectory {
    <# Directories of $CgroupPath that exist now, in any hierarchy (and /vc<CgroupPath> when -IncludeVc). #>
    param([Parameter(Mandatory)] [string] $CgroupPath, [switch] $IncludeVc)
    foreach ($h in Get-KcHierarchy) {
        foreach ($d in @($h.MountPoint + $CgroupPath) + @(if ($IncludeVc) { $h.MountPoint + '/vc' + $CgroupPath })) {
            if ([System.IO.Directory]::Exists($d)) { $d }
        }
    }
}

function New-KcTestRoot {
    <# A fresh, unused hierarchy-relative root such as /kctest-1a2b3c4d (nothing is created). #>
    do {
        $root = '/kctest-' + [System.Guid]::NewGuid().ToString('n').Substring(0, 10)
    } while (Get-KcExistingDirectory $root -IncludeVc)
    $global:KcTestState.Roots.Add($root)
    $root
}

function Get-KcBlockDevice {
    <#
    A real block device of this machine as 'major:minor', for the blkio throttle rules: the fixture's device
    ($Preferred) when this machine has it, else the first disk in /sys/block that is not a loop, ram or zram
    device. Read from /sys/block/<dev>/dev, the kernel's own numbers.
    #>
    param([string] $Preferred)
    $devices = foreach ($d in Get-ChildItem /sys/block -ErrorAction Stop) {
        $devFile = Join-Path $d.FullName 'dev'
        if (-not (Test-Path $devFile)) { continue }
        [pscustomobject]@{ Name = $d.Name; Number = (Get-Content $devFile -Raw).Trim() }
    }
    $hit = $devices | Where-Object Number -EQ $Preferred | Select-Object -First 1
    if (-not $hit) {
        $hit = $devices | Where-Object Name -NotMatch '^(loop|ram|zram|nbd)' | Select-Object -First 1
    }
    if (-not $hit) { throw 'no block device found in /sys/block for the blkio throttle tests' }
    $hit.Number
}

function Get-KcHostCheck {
    <#
    The module's own preflight (Test-KataCgroupHost) of the host this suite runs on, as one check by name
    ('BlockIoWeight', 'Controller:cpuacct', 'Device:/dev/kvm', …), or all of them without -Name. Tests derive what
    they expect from it instead of from the machine they were written on; it is run once per session (the checks
    read the host, they change nothing) and throws on a name that is not a check, so a typo cannot skip a test.
    #>
    param([string] $Name)
    if (-not $global:KcTestState.PSObject.Properties['HostChecks'] -or -not $global:KcTestState.HostChecks) {
        if (-not (Get-Command Test-KataCgroupHost -ErrorAction Ignore)) { Import-Module (Get-KcModulePath) -Global }
        $all = @(Test-KataCgroupHost -ErrorAction Stop)
        $global:KcTestState | Add-Member -NotePropertyName HostChecks -NotePropertyValue $all -Force
    }
    if (-not $Name) { return $global:KcTestState.HostChecks }
    $c = $global:KcTestState.HostChecks | Where-Object Check -EQ $Name
    if (-not $c) { throw "no host check named '$Name' (Test-KataCgroupHost lists: $(($global:KcTestState.HostChecks.Check) -join ', '))" }
    $c
}

function Test-KcCapability {
    <# True when every named host check passed (Get-KcHostCheck). #>
    param([Parameter(Mandatory)] [string[]] $Name)
    foreach ($n in $Name) { if ((Get-KcHostCheck $n).Status -ne 'Pass') { return $false } }
    $true
}

function Get-KcMissingCapability {
    <#
    For -Skip and Set-ItResult -Because: '' when every named check passed, else one line naming each missing
    capability with what the host has and why ("host lacks BlockIoWeight (none: this kernel has no …)").
    #>
    param([Parameter(Mandatory)] [string[]] $Name)
    $missing = foreach ($n in $Name) {
        $c = Get-KcHostCheck $n
        if ($c.Status -ne 'Pass') { "$n ($($c.Value): $($c.Reason))" }
    }
    if ($missing) { "host lacks $($missing -join '; ')" } else { '' }
}

function Skip-KcUnlessCapability {
    <#
    Inside an It: marks the test Skipped, naming the missing capability, unless every named host check passed.
    Skipped is counted as skipped, never as passed; where the capability exists the test runs its assertions.
    #>
    param([Parameter(Mandatory)] [string[]] $Name)
    $why = Get-KcMissingCapability $Name
    if ($why) { Set-ItResult -Skipped -Because $why }
}

function Skip-KcBecause {
    <#
    Inside an It: marks the test Skipped with $Why, a sentence from one of the Get-KcMissing* helpers, unless it is
    empty. For what is not a single preflight check: a cgroup mode, a CPU, swap that can be confined.
    #>
    param([AllowEmptyString()] [string] $Why)
    if ($Why) { Set-ItResult -Skipped -Because $Why }
}

function Get-KcMissingCgroupMode {
    <#
    Like Get-KcMissingCapability for a test written for one kind of host: '' when the preflight's CgroupMode is one
    of $Mode, else "host lacks CgroupMode Unified (Hybrid: v1 controllers under …)". For -Skip in discovery (put
    the sentence in the block's name) or Skip-KcBecause inside an It.
    #>
    param([Parameter(Mandatory)] [ValidateSet('Legacy', 'Hybrid', 'Unified')] [string[]] $Mode)
    $c = Get-KcHostCheck CgroupMode
    if ($c.Value -in $Mode) { '' } else { "host lacks CgroupMode $($Mode -join ' or ') ($($c.Value): $($c.Reason))" }
}

function ConvertFrom-KcCpuList {
    <# The numbers of a kernel CPU or node list ('0-3,6', cpuset(7) "list format"). #>
    param([AllowEmptyString()] [string] $List)
    foreach ($part in $List.Trim().Split(',', [StringSplitOptions]::RemoveEmptyEntries)) {
        $from, $to = $part.Split('-')
        if ($null -eq $to) { $to = $from }
        ([int] $from)..([int] $to)
    }
}

function Get-KcOnlineCpu {
    <# The CPUs this host has online (/sys/devices/system/cpu/online), as numbers. #>
    ConvertFrom-KcCpuList ([System.IO.File]::ReadAllText('/sys/devices/system/cpu/online'))
}

function Get-KcMissingCpu {
    <# '' when every CPU in $Cpu is online, else "host lacks online CPU 1 (/sys/devices/system/cpu/online: 0)". #>
    param([Parameter(Mandatory)] [int[]] $Cpu)
    $online = @(Get-KcOnlineCpu)
    $missing = @($Cpu | Where-Object { $_ -notin $online })
    if (-not $missing) { return '' }
    "host lacks online CPU $($missing -join ', ') (/sys/devices/system/cpu/online: $([System.IO.File]::ReadAllText('/sys/devices/system/cpu/online').Trim()))"
}

function Get-KcAbsentCpu {
    <# A CPU number this host cannot have: one past the last possible CPU (/sys/devices/system/cpu/possible). #>
    (@(ConvertFrom-KcCpuList ([System.IO.File]::ReadAllText('/sys/devices/system/cpu/possible'))) | Measure-Object -Maximum).Maximum + 1
}

function Get-KcAbsentMemoryNode {
    <#
    A memory node number this host cannot have: one past the last possible node (/sys/devices/system/node/possible;
    a kernel without NUMA has only node 0 and no such file).
    #>
    $file = '/sys/devices/system/node/possible'
    $nodes = if (Test-Path -LiteralPath $file) { @(ConvertFrom-KcCpuList ([System.IO.File]::ReadAllText($file))) } else { @(0) }
    ($nodes | Measure-Object -Maximum).Maximum + 1
}

function Get-KcActiveSwap {
    <# The swap areas in use (/proc/swaps, without its header line): empty when the host has no swap. #>
    @([System.IO.File]::ReadAllLines('/proc/swaps') | Select-Object -Skip 1 | Where-Object { $_.Trim() })
}

function Get-KcMissingSwapConfinement {
    <#
    For tests that need a memory hog to meet the OOM killer at its cgroup's limit: '' when swap cannot let it grow
    past the limit here — swap accounting is on (a -MemorySwap limit holds memory+swap), or no swap is active —
    else the sentence naming SwapAccounting and the active swap.
    #>
    if ((Test-KcCapability SwapAccounting) -or -not (Get-KcActiveSwap)) { return '' }
    "$(Get-KcMissingCapability SwapAccounting) and has swap active ($((Get-KcActiveSwap | ForEach-Object { ($_ -split '\s+')[0] }) -join ', ')): a memory hog would page out instead of meeting the OOM killer"
}

function Get-KcDeviceNumber {
    <# 'major:minor' of a device node, from stat(1); $null when the node does not exist. #>
    param([Parameter(Mandatory)] [string] $Path)
    if (-not (Test-Path -LiteralPath $Path)) { return $null }
    $out = & stat -L -c '%Hr:%Lr' -- $Path
    if ($LASTEXITCODE -ne 0) { throw "stat $Path failed" }
    $out.Trim()
}

function Start-KcSleep {
    <# Starts a tagged `sleep` (in this process's cgroups) and tracks it; returns the Process. #>
    $psi = [System.Diagnostics.ProcessStartInfo]::new('sleep')
    $psi.ArgumentList.Add($script:SleepSeconds)
    $psi.ArgumentList.Add($script:SleepMarker)
    $psi.UseShellExecute = $false
    $p = [System.Diagnostics.Process]::Start($psi)
    Register-KcProcess $p
    $p
}

function Get-KcProcessStartTime {
    <# Field 22 of /proc/<pid>/stat (start time in clock ticks since boot): with the pid it names one process. #>
    param([Parameter(Mandatory)] [int] $Id)
    try { $stat = [System.IO.File]::ReadAllText("/proc/$Id/stat") } catch { return $null }
    # the command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'
    $fields = $stat.Substring($stat.LastIndexOf(')') + 2).Split(' ')
    [long] $fields[19]
}

function Register-KcProcess {
    <# Tracks a process this suite started so cleanup kills it and the leak check looks for it. #>
    param([Parameter(Mandatory)] [System.Diagnostics.Process] $Process)
    $global:KcTestState.Processes[$Process.Id] = $Process
    $global:KcTestState.Started.Add([pscustomobject]@{ Id = $Process.Id; StartTime = Get-KcProcessStartTime $Process.Id })
}

function Get-KcLeakedProcess {
    <# Processes the suite started that still exist (same pid and same start time), zombies included. #>
    foreach ($s in $global:KcTestState.Started) {
        $now = Get-KcProcessStartTime $s.Id
        if ($null -ne $now -and $now -eq $s.StartTime) { $s.Id }
    }
}

function Stop-KcProcess {
    <# Kills processes this suite started, by PID only, and waits for them to be reaped. #>
    param([int[]] $Id = @($global:KcTestState.Processes.Keys))
    foreach ($procId in $Id) {
        $p = $null
        if (-not $global:KcTestState.Processes.TryGetValue($procId, [ref] $p)) {
            throw "process $procId was not started by the test suite; refusing to kill it"
        }
        try {
            if (-not $p.HasExited) { $p.Kill() }
            if (-not $p.WaitForExit(10000)) { throw "process $procId did not exit within 10 s of SIGKILL" }
        }
        catch [System.InvalidOperationException] { }   # already exited and reaped
        $null = $global:KcTestState.Processes.Remove($procId)
        $p.Dispose()
    }
}

function Find-KcTaggedProcess {
    <# PIDs of running processes whose command line is a suite-tagged sleep (zombies excluded: they have no cmdline). #>
    foreach ($d in [System.IO.Directory]::GetDirectories('/proc')) {
        $name = [System.IO.Path]::GetFileName($d)
        if ($name -notmatch '^\d+$') { continue }
        try { $cmd = [System.IO.File]::ReadAllText("$d/cmdline") } catch { continue }
        $argv = $cmd.TrimEnd([char]0).Split([char]0)
        if ($argv.Count -ge 3 -and [System.IO.Path]::GetFileName($argv[0]) -eq 'sleep' -and $argv[-1] -eq $script:SleepMarker) {
            [int] $name
        }
    }
}

function Get-KcProcessCgroup {
    <#
    /proc/<pid>/cgroup as objects @{ Id; Controllers; Path }: 'cpu', 'name=systemd', … and '' for the
    cgroup2 line (0::).
    #>
    param([Parameter(Mandatory)] [int] $Id)
    foreach ($line in [System.IO.File]::ReadAllLines("/proc/$Id/cgroup")) {
        $parts = $line.Split(':', 3)
        [pscustomobject]@{ Id = [int] $parts[0]; Controllers = $parts[1]; Path = $parts[2] }
    }
}

function Get-KcExpectedProcessLine {
    <#
    The hierarchy fields /proc/<pid>/cgroup must show for this host: one per mounted v1 hierarchy (its
    controllers joined by ',') and '' for the cgroup2 tree.
    #>
    foreach ($h in Get-KcHierarchy) {
        if ($h.IsUnified) { '' } else { $h.Controllers -join ',' }
    }
}

function Remove-KcCgroupTree {
    <#
    rmdir $Dir and every directory below it, children first. cgroupfs directories hold only kernel files, so
    rmdir(2) ([IO.Directory]::Delete non-recursive) is the removal; EBUSY right after a process exits is retried
    briefly. Returns the directories that could not be removed.
    #>
    param([Parameter(Mandatory)] [string] $Dir, [string] $MountPoint, [string] $Hierarchy)
    if (-not [System.IO.Directory]::Exists($Dir)) { return }
    foreach ($sub in [System.IO.Directory]::GetDirectories($Dir)) { Remove-KcCgroupTree $sub $MountPoint $Hierarchy }
    if ($MountPoint -and $global:KcTestState.RunnerCgroup.ContainsKey($Hierarchy)) {
        # a cmdlet that wrongly moved the test runner here must not make the cleanup fail: move it back
        $procs = try { [System.IO.File]::ReadAllLines("$Dir/cgroup.procs") } catch { @() }
        if ($procs -contains "$PID") {
            $back = $MountPoint + $global:KcTestState.RunnerCgroup[$Hierarchy]
            [System.IO.File]::WriteAllText("$($back.TrimEnd('/'))/cgroup.procs", "$PID")
        }
    }
    for ($i = 0; ; $i++) {
        try { [System.IO.Directory]::Delete($Dir); return }
        catch [System.IO.DirectoryNotFoundException] { return }
        catch {
            if ($i -ge 20) { return $Dir }
            Start-Sleep -Milliseconds 50
        }
    }
}

function Clear-KcTestState {
    <#
    The cleanup for AfterEach/AfterAll: kill every process the suite started (by PID), then remove every test
    root in every hierarchy (and /vc<root> plus a /vc the suite created itself). Throws listing whatever could
    not be cleaned, after trying everything.
    #>
    $problems = [System.Collections.Generic.List[string]]::new()
    try { Stop-KcProcess } catch { $problems.Add("$_") }
    foreach ($root in @($global:KcTestState.Roots)) {
        $left = foreach ($h in Get-KcHierarchy) {
            $field = if ($h.IsUnified) { '' } else { $h.Controllers -join ',' }
            Remove-KcCgroupTree ($h.MountPoint + $root) $h.MountPoint $field
            Remove-KcCgroupTree ($h.MountPoint + '/vc' + $root) $h.MountPoint $field
        }
        if ($left) { $problems.Add("could not remove: $($left -join ', ')") }
        else { $null = $global:KcTestState.Roots.Remove($root) }
    }
    foreach ($mount in @($global:KcTestState.CreatedVc)) {
        $vc = "$mount/vc"
        if ([System.IO.Directory]::Exists($vc) -and [System.IO.Directory]::GetDirectories($vc).Count -eq 0) {
            try { [System.IO.Directory]::Delete($vc) } catch { $problems.Add("could not remove $vc`: $_") }
        }
        if (-not [System.IO.Directory]::Exists($vc)) { $null = $global:KcTestState.CreatedVc.Remove($mount) }
    }
    if ($problems.Count) { throw "test cleanup failed: $($problems -join '; ')" }
}

function Register-KcVcBase {
    <#
    Call before a test makes the module create cgroups under Kata's /vc base: remembers the hierarchies where /vc
    does not exist yet, so Clear-KcTestState removes /vc again there (and only there).
    #>
    foreach ($h in Get-KcHierarchy) {
        if (-not [System.IO.Directory]::Exists("$($h.MountPoint)/vc")) { $null = $global:KcTestState.CreatedVc.Add($h.MountPoint) }
    }
}

function Get-KcFreePid {
    <# A pid no process has now (counting down from pid_max). #>
    $max = [int] ([System.IO.File]::ReadAllText('/proc/sys/kernel/pid_max').Trim())
    for ($candidate = $max - 1; $candidate -gt 300; $candidate--) {
        if (-not [System.IO.Directory]::Exists("/proc/$candidate")) { return $candidate }
    }
    throw 'no free pid found'
}

function New-KcPwshStartInfo {
    <#
    How to start a child pwsh like this one (-NoProfile -NonInteractive) running $Command: under `dotnet pwsh` the
    process is dotnet itself, so the child is `dotnet <PSHOME>/pwsh.dll`. The caller adds environment and redirection.
    #>
    param([Parameter(Mandatory)] [string] $Command)
    $exe = [Environment]::ProcessPath
    $psi = [System.Diagnostics.ProcessStartInfo]::new($exe)
    $arguments = @(if ([System.IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' }) +
        @('-NoProfile', '-NonInteractive', '-Command', $Command)
    foreach ($a in $arguments) { $psi.ArgumentList.Add($a) }
    $psi.UseShellExecute = $false
    $psi
}

function Start-KcChildPwsh {
    <#
    Starts a child pwsh (a separate process: a SIGKILL ends it as a crash would) that imports the module under test
    and runs $Command, with $Environment added to its environment; registers it for cleanup and the leak check and
    returns the Process. $TempDirectory becomes its TMPDIR: a SIGKILLed .NET process cannot remove its diagnostics
    socket, so give it a directory that is removed anyway (Pester's TestDrive).
    #>
    param([Parameter(Mandatory)] [string] $Command, [hashtable] $Environment = @{}, [Parameter(Mandatory)] [string] $TempDirectory)
    $psi = New-KcPwshStartInfo "Import-Module '$(Get-KcModulePath)'; $Command"
    foreach ($k in $Environment.Keys) { $psi.Environment[$k] = [string] $Environment[$k] }
    $psi.Environment['TMPDIR'] = $TempDirectory
    $p = [System.Diagnostics.Process]::Start($psi)
    Register-KcProcess $p
    $p
}

function Invoke-KcWithTranscript {
    <#
    Runs $ScriptBlock and returns what it printed to the host (where -WhatIf messages go: they are on no
    redirectable stream) as one string. The script block's own output is discarded.
    #>
    param([Parameter(Mandatory)] [scriptblock] $ScriptBlock)
    $file = [System.IO.Path]::Combine([System.IO.Path]::GetTempPath(), "kctest-transcript-$([guid]::NewGuid().ToString('n')).txt")
    $null = Start-Transcript -LiteralPath $file -UseMinimalHeader
    try { $null = & $ScriptBlock }
    finally {
        $null = Stop-Transcript
    }
    try { [System.IO.File]::ReadAllText($file) } finally { Remove-Item -LiteralPath $file -Force -ErrorAction Ignore }
}

# --- rootless ---------------------------------------------------------------------------------------------------

$script:RootlessUid = 65534

function Test-KcReadableByUid {
    <# True when uid 65534 can read $Path (asks the kernel: runs test -r as that user). #>
    param([Parameter(Mandatory)] [string] $Path)
    & setpriv --reuid $script:RootlessUid --regid $script:RootlessUid --clear-groups -- test -r $Path
    $LASTEXITCODE -eq 0
}

function Initialize-KcRootless {
    <#
    Makes pwsh and the built module runnable by uid 65534. Under `dotnet pwsh` the running process is dotnet and
    pwsh.dll lives in $PSHOME inside the NuGet cache (under /root, mode 0700), so when uid 65534 cannot read
    $PSHOME, $PSHOME is copied to a private temp directory; the module is always copied there (a fresh clone may
    sit under /root too). Nothing outside that directory changes mode. Cached for the session.
    #>
    if ($global:KcTestState.RootlessEnv) { return $global:KcTestState.RootlessEnv }
    if (-not (Get-Command setpriv -CommandType Application -ErrorAction Ignore)) { throw 'setpriv (util-linux) is not installed' }
    $exe = [System.Environment]::ProcessPath
    $isDotnetHost = [System.IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet'
    if (-not (Test-KcReadableByUid $exe)) { throw "uid $script:RootlessUid cannot run $exe" }

    $dir = Join-Path ([System.IO.Path]::GetTempPath()) ('kctest-rootless-' + [guid]::NewGuid().ToString('n').Substring(0, 10))
    $null = New-Item -ItemType Directory -Path $dir
    $global:KcTestState.TempDirs.Add($dir)
    $global:KcTestState.AllTempDirs.Add($dir)
    $pwshHome = $PSHOME
    $probe = if ($isDotnetHost) { Join-Path $pwshHome 'pwsh.dll' } else { $exe }
    if (-not (Test-KcReadableByUid $probe)) {
        Copy-Item -LiteralPath $pwshHome -Destination (Join-Path $dir 'pwsh') -Recurse
        $pwshHome = Join-Path $dir 'pwsh'
    }
    $moduleDir = Split-Path (Get-KcModulePath)
    Copy-Item -LiteralPath $moduleDir -Destination (Join-Path $dir 'module') -Recurse
    $home65534 = New-Item -ItemType Directory -Path (Join-Path $dir 'home')
    & chmod -R 'a+rX' -- $dir
    & chown $script:RootlessUid -- $home65534.FullName

    $command = if ($isDotnetHost) { @($exe, (Join-Path $pwshHome 'pwsh.dll')) }
    else { @((Join-Path $pwshHome ([System.IO.Path]::GetFileName($exe)))) }
    $global:KcTestState.RootlessEnv = [pscustomobject]@{
        Directory = $dir
        Command   = $command
        Module    = Join-Path $dir "module/$(Split-Path (Get-KcModulePath) -Leaf)"
        Home      = $home65534.FullName
    }
    $global:KcTestState.RootlessEnv
}

function Invoke-KcRootless {
    <#
    Runs $Script in a fresh pwsh as uid/gid 65534 with no supplementary groups (setpriv), or with
    -UserNamespace as uid 0 inside a new user namespace whose uid_map is just "0 0 1" (unshare --map-root-user:
    still root-owned files, but not the initial namespace), with the module imported as $KcModule.
    Returns @{ ExitCode; StdOut; StdErr }. A child still running after $TimeoutSeconds is killed by its PID.
    #>
    param([Parameter(Mandatory)] [string] $Script, [switch] $UserNamespace, [int] $TimeoutSeconds = 90)
    $envInfo = Initialize-KcRootless
    $prelude = "`$ErrorActionPreference = 'Continue'; `$ProgressPreference = 'SilentlyContinue'; `$KcModule = '$($envInfo.Module)'; Import-Module `$KcModule -ErrorAction Stop`n"
    $psi = [System.Diagnostics.ProcessStartInfo]::new($(if ($UserNamespace) { 'unshare' } else { 'setpriv' }))
    $drop = if ($UserNamespace) { @('--user', '--map-root-user', '--') }
    else { @('--reuid', $script:RootlessUid, '--regid', $script:RootlessUid, '--clear-groups', '--') }
    foreach ($a in $drop + @('env', "HOME=$($envInfo.Home)", 'POWERSHELL_TELEMETRY_OPTOUT=1', 'DOTNET_CLI_TELEMETRY_OPTOUT=1', 'NO_COLOR=1', 'TERM=dumb') +
        $envInfo.Command + @('-NoProfile', '-NonInteractive', '-OutputFormat', 'Text', '-Command', $prelude + $Script)) {
        $psi.ArgumentList.Add([string] $a)
    }
    $psi.UseShellExecute = $false
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardError = $true
    $psi.WorkingDirectory = $envInfo.Home
    $p = [System.Diagnostics.Process]::Start($psi)
    Register-KcProcess $p
    try {
        $out = $p.StandardOutput.ReadToEndAsync()
        $err = $p.StandardError.ReadToEndAsync()
        if (-not $p.WaitForExit($TimeoutSeconds * 1000)) {
            Stop-KcProcess -Id $p.Id
            throw "the rootless pwsh did not finish within $TimeoutSeconds s (killed)"
        }
        $p.WaitForExit()
        [pscustomobject]@{ ExitCode = $p.ExitCode; StdOut = $out.Result; StdErr = $err.Result }
    }
    finally {
        if ($global:KcTestState.Processes.ContainsKey($p.Id)) { Stop-KcProcess -Id $p.Id }
    }
}

function Remove-KcRootless {
    <# Removes the rootless temp directory. #>
    foreach ($d in @($global:KcTestState.TempDirs)) {
        if (Test-Path -LiteralPath $d) { Remove-Item -LiteralPath $d -Recurse -Force }
        $null = $global:KcTestState.TempDirs.Remove($d)
    }
    $global:KcTestState.RootlessEnv = $null
}

function Start-KcShell {
    <#
    Starts `sh -c $Script` as a tracked process (killed by PID at cleanup) and returns the Process. -HideErrors keeps
    its stderr off the test output (a fork storm complains about EAGAIN).
    #>
    param([Parameter(Mandatory)] [string] $Script, [switch] $HideErrors)
    $psi = [System.Diagnostics.ProcessStartInfo]::new('sh')
    $psi.ArgumentList.Add('-c'); $psi.ArgumentList.Add($Script)
    $psi.UseShellExecute = $false
    $psi.RedirectStandardError = $HideErrors.IsPresent
    $p = [System.Diagnostics.Process]::Start($psi)
    Register-KcProcess $p
    $p
}

function Start-KcGated {
    <# A shell that joins the cgroup in every hierarchy, waits for the gate file, then runs $Then (tracked). #>
    param([string] $CgroupPath, [string] $Gate, [string] $Then)
    $join = (Get-KcCgroupDirectory $CgroupPath | ForEach-Object { "echo `$`$ > '$_/cgroup.procs' || exit 99" }) -join '; '
    Start-KcShell "$join; while [ ! -e '$Gate' ]; do sleep 0.05; done; $Then"
}

function Read-KcCounter {
    <#
    A counter file as it is now. A shell counter rewrites it (truncate, then write): frozen in between, it stays empty,
    so the content, not the number, is what must not change while frozen.
    #>
    param([string] $File)
    try { [IO.File]::ReadAllText($File) } catch { '<none>' }
}

function Wait-KcCounterChange {
    <# The first non-empty value of the counter that differs from $From, within 10 s (else the last value read). #>
    param([string] $File, [string] $From)
    $v = Read-KcCounter $File
    for ($i = 0; $i -lt 500 -and ($v -eq $From -or $v -eq ''); $i++) { Start-Sleep -Milliseconds 20; $v = Read-KcCounter $File }
    $v
}

function Start-KcWait {
    <#
    Starts Wait-KataCgroupEvent in a background runspace and returns once every cgroup is registered with the kernel
    (its "watching" verbose line): whatever happens from then on is reported, so a test is not racy.
    #>
    param([string] $P, [string] $Arguments, [string] $ModulePath = (Get-KcModulePath))
    $ps = [powershell]::Create()
    $null = $ps.AddScript("Import-Module '$ModulePath'; Wait-KataCgroupEvent -Path '$P' $Arguments -Verbose -WarningAction SilentlyContinue")
    $h = $ps.BeginInvoke()
    $deadline = [DateTime]::UtcNow.AddSeconds(30)
    while (-not ($ps.Streams.Verbose | Where-Object Message -Like 'watching*') -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 50 }
    [pscustomobject]@{ PowerShell = $ps; Handle = $h; Registered = [bool] ($ps.Streams.Verbose | Where-Object Message -Like 'watching*') }
}

function Complete-KcWait {
    <# Waits for a Start-KcWait to end (asserting it registered first and ended); its output, errors and warnings. #>
    param($Wait, [int] $Seconds = 60)
    $Wait.Registered | Should -BeTrue -Because 'the wait registered the cgroup with the kernel before the workload started'
    $Wait.Handle.AsyncWaitHandle.WaitOne($Seconds * 1000) | Should -BeTrue -Because 'the wait ends'
    try {
        [pscustomobject]@{ Output = @($Wait.PowerShell.EndInvoke($Wait.Handle)); Errors = @($Wait.PowerShell.Streams.Error); Warnings = @($Wait.PowerShell.Streams.Warning) }
    }
    finally { $Wait.PowerShell.Dispose() }
}


function Start-KcThreadedProcess {
    <#
    Starts a tracked multi-threaded process (python3) that stands in for a VMM: $Vcpu threads named as QEMU names its
    vCPU threads with debug-threads=on ('CPU <n>/TCG', written to /proc/self/task/<tid>/comm) and $Other threads named
    'worker <n>', all sleeping; with -Busy the vCPU threads spin instead, as a guest's busy vCPU does (only one thread
    at a time runs Python code, so more than one busy vCPU share a CPU). -Churn makes its main thread start threads
    that exit at once, without end (threads that vanish between a listing and a write). Returns once every named
    thread is there: @{ Process; Id; Vcpus; Others } with the thread ids.
    #>
    param([int] $Vcpu = 2, [int] $Other = 1, [switch] $Churn, [switch] $Busy)
    $script = @'
import sys, threading, time
vcpus, others, churn, busy = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4] == "1"
def named(name, spin=False):
    def run():
        with open("/proc/self/task/%d/comm" % threading.get_native_id(), "w") as f:
            f.write(name)
        while spin:
            pass
        time.sleep(600)
    return run
for i in range(vcpus):
    threading.Thread(target=named("CPU %d/TCG" % i, busy), daemon=True).start()
for i in range(others):
    threading.Thread(target=named("worker %d" % i), daemon=True).start()
while churn:
    t = threading.Thread(target=lambda: None)
    t.start()
    t.join()
time.sleep(600)
'@
    $psi = [System.Diagnostics.ProcessStartInfo]::new('python3')
    foreach ($a in '-c', $script, "$Vcpu", "$Other", $(if ($Churn) { '1' } else { '0' }), $(if ($Busy) { '1' } else { '0' })) { $psi.ArgumentList.Add($a) }
    $psi.UseShellExecute = $false
    $p = [System.Diagnostics.Process]::Start($psi)
    Register-KcProcess $p
    $deadline = [DateTime]::UtcNow.AddSeconds(20)
    do {
        Start-Sleep -Milliseconds 50
        $names = @{}
        foreach ($t in [System.IO.Directory]::GetDirectories("/proc/$($p.Id)/task")) {
            try { $names[[int] [System.IO.Path]::GetFileName($t)] = [System.IO.File]::ReadAllText("$t/comm").Trim() } catch { }
        }
        $vcpus = @($names.Keys | Where-Object { $names[$_] -like 'CPU */TCG' } | Sort-Object)
        $others = @($names.Keys | Where-Object { $names[$_] -like 'worker *' } | Sort-Object)
    } while (($vcpus.Count -lt $Vcpu -or $others.Count -lt $Other) -and [DateTime]::UtcNow -lt $deadline)
    if ($vcpus.Count -lt $Vcpu -or $others.Count -lt $Other) { throw "python3 $($p.Id) did not name its threads within 20 s" }
    [pscustomobject]@{ Process = $p; Id = $p.Id; Vcpus = $vcpus; Others = $others }
}

function Get-KcThreadCgroup {
    <# /proc/<pid>/task/<tid>/cgroup of one thread as a hashtable: hierarchy field ('' for cgroup2) -> path. #>
    param([Parameter(Mandatory)] [int] $ProcessId, [Parameter(Mandatory)] [int] $ThreadId)
    $map = @{}
    foreach ($line in [System.IO.File]::ReadAllLines("/proc/$ProcessId/task/$ThreadId/cgroup")) {
        $parts = $line.Split(':', 3)
        $map[$parts[1]] = $parts[2]
    }
    $map
}

Export-ModuleMember -Function *-Kc*
