#Requires -Version 7.4
<#
Proves the systemd sandbox harness (sandbox.sh + SystemdSandbox.psm1) on this machine: a real systemd 252 starts
confined to /<name> in every cgroup hierarchy, answers systemctl and D-Bus, creates transient scopes whose limits
land in the host's cgroupfs under /sys/fs/cgroup/memory/<name>/, changes nothing else on the host, and leaves
nothing behind when stopped, also when a start fails midway.

Run as root on a cgroup v1/hybrid host:
  Import-Module ~/.nuget/packages/pester/5.7.1/tools/Pester.psd1; Invoke-Pester tests/Systemd/Sandbox.Tests.ps1

The host comparison is strict. On a machine where other jobs create files in /tmp or cgroups at the same time, set
KC_CHECK_HOST_IGNORE (an ERE over sandbox.sh's snapshot lines, e.g. '^tmp: dotnet-|kctest-') for their names.
#>

BeforeDiscovery {
    $script:Why = $null
    if (-not $IsLinux) { $script:Why = 'not Linux' }
    elseif ((& id -u) -ne '0') { $script:Why = 'needs root' }
    elseif (-not (Test-Path /lib/systemd/systemd)) { $script:Why = 'no /lib/systemd/systemd' }
    elseif (-not (Get-Command dbus-daemon -ErrorAction Ignore)) { $script:Why = 'no dbus-daemon' }
    elseif ((& stat -f -c %T /sys/fs/cgroup) -ne 'tmpfs') { $script:Why = 'not a cgroup v1/hybrid host' }
    $script:Skip = [bool]$script:Why
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'SystemdSandbox.psm1') -Force
    $script:Sh = Join-Path $PSScriptRoot 'sandbox.sh'

    function Get-CgroupMount {
        # cgroup (and the /sys/fs/cgroup tmpfs) mounts of the host: "mountpoint fstype superoptions"
        foreach ($line in [System.IO.File]::ReadAllLines('/proc/self/mountinfo')) {
            $f = $line.Split(' ')
            $dash = [Array]::IndexOf($f, '-')
            if ($f[4] -eq '/sys/fs/cgroup' -or $f[4].StartsWith('/sys/fs/cgroup/')) {
                '{0} {1} {2}' -f $f[4], $f[$dash + 1], $f[$dash + 3]
            }
        }
    }

    function Get-NameDir([string] $Name) {
        # /<name> in every cgroup mount, plus a plain glob independent of mountinfo parsing
        $found = foreach ($m in Get-CgroupMount) {
            $mp, $type, $null = $m.Split(' ')
            if ($type -in 'cgroup', 'cgroup2' -and [System.IO.Directory]::Exists("$mp/$Name")) { "$mp/$Name" }
        }
        $found = @($found) + @(& find /sys/fs/cgroup -mindepth 2 -maxdepth 2 -name $Name 2>$null)
        @($found | Where-Object { $_ } | Sort-Object -Unique)
    }

    function Get-ProcStart([int] $Id) {
        # start time (clock ticks since boot) of a live, non-zombie process; $null otherwise
        try { $stat = [System.IO.File]::ReadAllText("/proc/$Id/stat") } catch { return $null }
        $rest = $stat.Substring($stat.LastIndexOf(')') + 2).Split(' ')
        if ($rest[0] -eq 'Z') { return $null }
        $rest[19]
    }

    function New-ProcRecord([int] $Id, [string] $What) {
        [pscustomobject]@{ Id = $Id; What = $What; Start = (Get-ProcStart $Id) }
    }

    function Test-ProcAlive($Rec) {
        $null -ne $Rec.Start -and (Get-ProcStart $Rec.Id) -eq $Rec.Start
    }

    function Get-ProcessInSandbox([string] $Name, [string] $StateDir) {
        # any process whose cgroup is /<name>... in some hierarchy, or whose command line names the state dir
        foreach ($d in [System.IO.Directory]::GetDirectories('/proc')) {
            $id = Split-Path -Leaf $d
            if ($id -notmatch '^\d+$' -or [int]$id -eq $PID) { continue }
            try {
                $cg = [System.IO.File]::ReadAllText("$d/cgroup")
                $cmd = [System.IO.File]::ReadAllText("$d/cmdline").Replace([char]0, ' ')
                $comm = [System.IO.File]::ReadAllText("$d/comm").Trim()
            }
            catch { continue }
            if ($null -eq (Get-ProcStart ([int]$id))) { continue }
            if ($cg -match ":/$([regex]::Escape($Name))(/|\n|$)" -or $cmd.Contains($StateDir)) { "$id $comm $cmd" }
        }
    }

    function Invoke-Sh([string[]] $ShArgs) {
        $out = & bash $script:Sh @ShArgs 2>&1
        [pscustomobject]@{ ExitCode = $LASTEXITCODE; Output = ($out -join "`n") }
    }

    function Invoke-Busctl([string] $Address, [string[]] $BusArgs) {
        $out = & busctl "--address=$Address" @BusArgs 2>&1
        if ($LASTEXITCODE -ne 0) { throw "busctl $($BusArgs -join ' '): $($out -join ' ')" }
        $out -join "`n"
    }

    function Wait-Until([scriptblock] $Condition, [double] $Seconds = 5, [string] $What = 'condition') {
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        while (-not (& $Condition)) {
            if ($sw.Elapsed.TotalSeconds -gt $Seconds) { throw "timed out after $Seconds s waiting for $What" }
            Start-Sleep -Milliseconds 50
        }
    }
}

Describe 'systemd sandbox: start, use, stop' -Skip:$Skip {
    BeforeAll {
        $script:Rand = [System.Guid]::NewGuid().ToString('N').Substring(0, 8)
        # work files outside /tmp: the harness compares the host's /tmp listing
        $script:Work = "/run/kc-systemd-sandbox-test-$Rand"
        [void][System.IO.Directory]::CreateDirectory($Work)
        # a canary in the host /tmp, old enough for any age-based cleanup; the snapshot includes it
        $script:Canary = "/tmp/kc-systemd-canary-$Rand"
        [System.IO.File]::WriteAllText($Canary, 'must survive the sandbox')
        [System.IO.File]::SetLastWriteTimeUtc($Canary, [datetime]::UtcNow.AddDays(-30))
        $script:Snapshot = Join-Path $Work 'host.before'
        $snap = Invoke-Sh 'snapshot-host', $Snapshot
        if ($snap.ExitCode -ne 0) { throw "snapshot-host failed: $($snap.Output)" }
        $script:MountsBefore = @(Get-CgroupMount)
        $script:ProcCgroupsBefore = @([System.IO.File]::ReadAllLines('/proc/cgroups') | ForEach-Object { ($_ -split '\s+')[0..1] -join ' ' })
        $script:Procs = [System.Collections.Generic.List[object]]::new()

        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        $script:Sb = Start-KcSystemdSandbox -TimeoutSeconds 30
        $script:StartSeconds = $sw.Elapsed.TotalSeconds
        Write-Host ("    sandbox {0} (systemd pid {1}) started in {2:N2} s" -f $Sb.Name, $Sb.Pid, $StartSeconds)
        $Procs.Add((New-ProcRecord $Sb.Pid 'systemd'))
        $Procs.Add((New-ProcRecord $Sb.UnsharePid 'unshare'))
        $Procs.Add((New-ProcRecord $Sb.HelperPid 'pty helper'))
        foreach ($p in [System.IO.File]::ReadAllLines("/sys/fs/cgroup/unified/$($Sb.Name)/system.slice/dbus.service/cgroup.procs")) {
            $Procs.Add((New-ProcRecord ([int]$p) 'dbus-daemon'))
        }
    }

    AfterAll {
        if ($script:Sb) { Stop-KcSystemdSandbox $script:Sb }
        if ($script:Canary) { Remove-Item -LiteralPath $script:Canary -ErrorAction Ignore }
        if ($script:Work) { Remove-Item -LiteralPath $script:Work -Recurse -Force -ErrorAction Ignore }
    }

    It 'starts within the timeout and reports its state dir, systemd pid, cgroup name and bus address' {
        $StartSeconds | Should -BeLessThan 30
        $Sb.Name | Should -Match '^kc-systemd-[0-9a-f]+$'
        $Sb.BusAddress | Should -Be "unix:path=$($Sb.StateDir)/run/dbus/system_bus_socket"
        [System.IO.File]::ReadAllText("/proc/$($Sb.Pid)/comm").Trim() | Should -Be 'systemd'
        # pid 1 of its own pid namespace, in its own subtree (init.scope) of every tracking hierarchy
        [System.IO.File]::ReadAllText("/proc/$($Sb.Pid)/status") | Should -Match "NSpid:\s+$($Sb.Pid)\s+1\s"
        [System.IO.File]::ReadAllText("/proc/$($Sb.Pid)/cgroup") | Should -Match "0::/$($Sb.Name)/init\.scope"
        # the unshare process (outside the pid namespace) was moved out of /<name>
        [System.IO.File]::ReadAllText("/proc/$($Sb.UnsharePid)/cgroup") | Should -Not -Match "/$($Sb.Name)"
        @(Get-NameDir $Sb.Name).Count | Should -Be @(Get-CgroupMount | Where-Object { $_ -match ' cgroup2? ' }).Count
    }

    It 'answers systemctl is-system-running inside its namespace' {
        Invoke-KcInSandbox $Sb systemctl is-system-running | Should -Be 'running'
        # commands run as processes of the sandbox's pid namespace, at the root of its cgroup namespace
        Invoke-KcInSandbox $Sb -- sh -c 'cat /proc/1/comm; grep -vc "^[0-9]*:[^:]*:/$" /proc/self/cgroup || true' |
            Should -Be 'systemd', '0'
    }

    It 'answers on its system bus from the host' {
        Invoke-Busctl $Sb.BusAddress 'call', 'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus',
            'GetNameOwner', 's', 'org.freedesktop.systemd1' | Should -Match '^s ":1\.\d+"$'
        Invoke-Busctl $Sb.BusAddress 'get-property', 'org.freedesktop.systemd1', '/org/freedesktop/systemd1',
            'org.freedesktop.systemd1.Manager', 'Version' | Should -Match '^s "252'
    }

    It 'puts a systemd-run --scope with MemoryMax= under /sys/fs/cgroup/memory/kc-systemd-*/ and stops it over the bus' {
        $unit = "kc-probe-$Rand.scope"
        $script_ = "systemd-run --quiet --scope --unit=$unit -p MemoryMax=64M sleep 300 </dev/null >/dev/null 2>&1 &" +
            " for i in `$(seq 100); do systemctl is-active -q $unit && exit 0; sleep 0.05; done; exit 1"
        Invoke-KcInSandbox $Sb -- sh -c $script_
        $dir = "/sys/fs/cgroup/memory/$($Sb.Name)/system.slice/$unit"
        [System.IO.File]::ReadAllText("$dir/memory.limit_in_bytes").Trim() | Should -Be '67108864'
        $members = @([System.IO.File]::ReadAllLines("$dir/cgroup.procs"))
        $members.Count | Should -Be 1
        $hostPid = [int]$members[0]
        $Procs.Add((New-ProcRecord $hostPid 'scope sleep'))
        [System.IO.File]::ReadAllText("/proc/$hostPid/cmdline").Replace([char]0, ' ').Trim() | Should -Be '/usr/bin/sleep 300'
        [System.IO.File]::ReadAllText("/proc/$hostPid/status") | Should -Match "NSpid:\s+$hostPid\s+\d+\s"
        # systemd's own tracking hierarchies have it too
        [System.IO.Directory]::Exists("/sys/fs/cgroup/unified/$($Sb.Name)/system.slice/$unit") | Should -BeTrue
        [System.IO.Directory]::Exists("/sys/fs/cgroup/systemd/$($Sb.Name)/system.slice/$unit") | Should -BeTrue

        # the same unit, seen and stopped from the host over the sandbox bus
        $path = (Invoke-Busctl $Sb.BusAddress 'call', 'org.freedesktop.systemd1', '/org/freedesktop/systemd1',
            'org.freedesktop.systemd1.Manager', 'GetUnit', 's', $unit) -replace '^o "(.*)"$', '$1'
        Invoke-Busctl $Sb.BusAddress 'get-property', 'org.freedesktop.systemd1', $path, 'org.freedesktop.systemd1.Scope',
            'MemoryMax', 'ControlGroup' | Should -Be "t 67108864`ns `"/system.slice/$unit`""
        Invoke-Busctl $Sb.BusAddress 'call', 'org.freedesktop.systemd1', '/org/freedesktop/systemd1',
            'org.freedesktop.systemd1.Manager', 'StopUnit', 'ss', $unit, 'replace' | Should -Match '^o "/org/freedesktop/systemd1/job/\d+"$'
        Wait-Until { -not [System.IO.Directory]::Exists($dir) } -What "$dir to go"
        Wait-Until { -not (Test-ProcAlive $Procs[-1]) } -What 'the scope process to die'
    }

    It 'takes a StartTransientUnit from the host bus with MemoryLimit= and a pid of its own namespace' {
        $unit = "kc-driver-$Rand.scope"
        $nsPid = Invoke-KcInSandbox $Sb -- sh -c 'sleep 300 </dev/null >/dev/null 2>&1 & echo $!'
        $nsPid | Should -Match '^\d+$'
        Invoke-Busctl $Sb.BusAddress 'call', 'org.freedesktop.systemd1', '/org/freedesktop/systemd1',
            'org.freedesktop.systemd1.Manager', 'StartTransientUnit', 'ssa(sv)a(sa(sv))', $unit, 'fail',
            '2', 'PIDs', 'au', '1', $nsPid, 'MemoryLimit', 't', '33554432', '0' | Should -Match '^o "/org/freedesktop/systemd1/job/\d+"$'
        $dir = "/sys/fs/cgroup/memory/$($Sb.Name)/system.slice/$unit"
        Wait-Until { [System.IO.File]::Exists("$dir/cgroup.procs") -and [System.IO.File]::ReadAllText("$dir/cgroup.procs").Trim() } -What $dir
        [System.IO.File]::ReadAllText("$dir/memory.limit_in_bytes").Trim() | Should -Be '33554432'
        $hostPid = [int][System.IO.File]::ReadAllText("$dir/cgroup.procs").Trim()
        $Procs.Add((New-ProcRecord $hostPid 'transient unit sleep'))
        [System.IO.File]::ReadAllText("/proc/$hostPid/status") | Should -Match "NSpid:\s+$hostPid\s+$nsPid\s"
        Invoke-Busctl $Sb.BusAddress 'call', 'org.freedesktop.systemd1', '/org/freedesktop/systemd1',
            'org.freedesktop.systemd1.Manager', 'StopUnit', 'ss', $unit, 'replace' | Out-Null
        Wait-Until { -not [System.IO.Directory]::Exists($dir) } -What "$dir to go"
    }

    It 'changes nothing on the host while it runs: /tmp, cgroup mounts, hierarchies, utab, /dev/log, journal' {
        $r = Invoke-Sh 'check-host', $Snapshot, '--exclude', $Sb.Name
        $r.Output | Should -BeNullOrEmpty
        $r.ExitCode | Should -Be 0
        [System.IO.File]::Exists($Canary) | Should -BeTrue
        @(Get-CgroupMount) | Should -Be $MountsBefore
        # no controller got a new (host-wide) v1 hierarchy, e.g. net_cls, perf_event or hugetlb (taken from cgroup2)
        @([System.IO.File]::ReadAllLines('/proc/cgroups') | ForEach-Object { ($_ -split '\s+')[0..1] -join ' ' }) |
            Should -Be $ProcCgroupsBefore
    }

    It 'stops and leaves nothing: no /kc-systemd-* of its own in any hierarchy, no process, no state dir, host unchanged' {
        $name = $Sb.Name
        $state = $Sb.StateDir
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        Stop-KcSystemdSandbox $Sb
        Write-Host ("    stopped in {0:N2} s" -f $sw.Elapsed.TotalSeconds)
        $script:Sb = $null

        Get-NameDir $name | Should -BeNullOrEmpty
        @(& find /sys/fs/cgroup -maxdepth 2 -name $name) | Should -BeNullOrEmpty
        @($Procs | Where-Object { Test-ProcAlive $_ } | ForEach-Object { "$($_.What) $($_.Id)" }) | Should -BeNullOrEmpty
        @(Get-ProcessInSandbox $name $state) | Should -BeNullOrEmpty
        [System.IO.Directory]::Exists($state) | Should -BeFalse
        [System.IO.File]::Exists($Canary) | Should -BeTrue
        $r = Invoke-Sh 'check-host', $Snapshot
        $r.Output | Should -BeNullOrEmpty
        $r.ExitCode | Should -Be 0
    }
}

Describe 'systemd sandbox: a start that fails midway leaves nothing behind' -Skip:$Skip {
    BeforeAll {
        $script:Rand = [System.Guid]::NewGuid().ToString('N').Substring(0, 8)
        $script:Work = "/run/kc-systemd-sandbox-test-$Rand"
        [void][System.IO.Directory]::CreateDirectory($Work)
        $script:Snapshot = Join-Path $Work 'host.before'
        $snap = Invoke-Sh 'snapshot-host', $Snapshot
        if ($snap.ExitCode -ne 0) { throw "snapshot-host failed: $($snap.Output)" }
    }

    AfterAll {
        if ($script:Work) { Remove-Item -LiteralPath $script:Work -Recurse -Force -ErrorAction Ignore }
    }

    It 'cleans up after <Case>' -TestCases @(
        @{ Case = 'a tiny readiness timeout (0.2 s)'; Timeout = 0.2; ExtraEnv = @{}; Message = '*timed out*'; Ran = $null }
        @{ Case = 'a readiness timeout while systemd and its bus are up (a start-up job that never finishes)'
            Timeout = 3; ExtraEnv = @{ KC_SANDBOX_TEST_HANG = '1' }; Message = '*is-system-running --wait said*'
            Ran = 'Started dbus.service' }
        @{ Case = 'a failure after full readiness'; Timeout = 30; ExtraEnv = @{ KC_SANDBOX_FAIL_AT = 'ready' }
            Message = '*failing on purpose*'; Ran = 'Reached target kc-sandbox.target' }
    ) {
        param($Case, $Timeout, $ExtraEnv, $Message, $Ran)
        $state = Join-Path $Work 'state'
        $err = $null
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        try { Start-KcSystemdSandbox -StateDir $state -TimeoutSeconds $Timeout -Environment $ExtraEnv | Out-Null }
        catch { $err = $_.Exception.Message }
        Write-Host ("    failed and cleaned up in {0:N2} s" -f $sw.Elapsed.TotalSeconds)
        $err | Should -BeLike $Message
        # the error carries the console's last lines: systemd really got that far
        if ($Ran) { $err | Should -Match ([regex]::Escape($Ran)) }
        $name = [regex]::Match($err, 'kc-systemd-[0-9a-f]+').Value
        $name | Should -Not -BeNullOrEmpty -Because 'the failure names the cgroup it cleaned up'
        Get-NameDir $name | Should -BeNullOrEmpty
        @(Get-ProcessInSandbox $name $state) | Should -BeNullOrEmpty
        [System.IO.Directory]::Exists($state) | Should -BeFalse
        $r = Invoke-Sh 'check-host', $Snapshot
        $r.Output | Should -BeNullOrEmpty
        $r.ExitCode | Should -Be 0
    }
}
