#Requires -Version 7.4
<#
Proves the systemd sandbox harness (sandbox.sh + SystemdSandbox.psm1) on this machine: a real systemd 252 starts
confined to /<name> in every cgroup hierarchy, answers systemctl and D-Bus, creates transient scopes whose limits
land in the host's cgroupfs under /sys/fs/cgroup/memory/<name>/, changes nothing else on the host, and leaves
nothing behind when stopped, also when a start fails midway.

Run as root on a cgroup v1/hybrid host:
  Import-Module ~/.nuget/packages/pester/5.7.1/tools/Pester.psd1; Invoke-Pester tests/Systemd/Sandbox.Tests.ps1

The host comparison (sandbox.sh snapshot-host / check-host) watches only what the sandboxed systemd or the harness
could change: canaries the tests plant in /tmp (what a cleanup of /tmp deletes and a mount over it hides), the names
systemd would create in /tmp, mounts where the sandbox and systemd mount, top-level cgroups named like systemd units,
/proc/cgroups, utab, /dev/log and the journal. Other work on the machine (builds, other test tiers, other users'
files in /tmp, their cgroups and mounts) does not show, so it needs no KC_CHECK_HOST_IGNORE; the tests below prove
both sides: a planted leak and a changed canary are reported, unrelated activity is not.
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

    function Invoke-Sh([string[]] $ShArgs, [string] $Planted) {
        # -Planted: the tag of this run's planted leaks (KC_CHECK_HOST_PLANTED), for this child only
        $out = if ($Planted) { & env "KC_CHECK_HOST_PLANTED=$Planted" bash $script:Sh @ShArgs 2>&1 } else { & bash $script:Sh @ShArgs 2>&1 }
        [pscustomobject]@{ ExitCode = $LASTEXITCODE; Output = ($out -join "`n") }
    }

    function New-TmpCanary([string] $Tag) {
        # What a cleanup of /tmp deletes (systemd-tmpfiles --remove empties it: tmpfiles.d/tmp.conf "D /tmp"; --clean
        # deletes what is old) and a tmp.mount over /tmp hides: an old file, an old directory with an old file in it,
        # an old empty directory and a symlink. Returns every path, for snapshot-host --canary.
        $base = "/tmp/kc-canary-$Tag"
        $old = [datetime]::UtcNow.AddDays(-30)
        [System.IO.File]::WriteAllText("$base-file", 'must survive the sandbox')
        [void][System.IO.Directory]::CreateDirectory("$base-dir")
        [System.IO.File]::WriteAllText("$base-dir/old", 'must survive the sandbox')
        [void][System.IO.Directory]::CreateDirectory("$base-empty")
        [void][System.IO.File]::CreateSymbolicLink("$base-link", "kc-canary-$Tag-file")
        foreach ($f in "$base-file", "$base-dir/old") {
            [System.IO.File]::SetLastWriteTimeUtc($f, $old); [System.IO.File]::SetLastAccessTimeUtc($f, $old)
        }
        foreach ($d in "$base-dir", "$base-empty") {
            [System.IO.Directory]::SetLastWriteTimeUtc($d, $old); [System.IO.Directory]::SetLastAccessTimeUtc($d, $old)
        }
        "$base-file", "$base-dir", "$base-dir/old", "$base-empty", "$base-link"
    }

    function Remove-TmpCanary([string[]] $Path) {
        # rm, not Remove-Item: a symlink goes, never what it points to
        if ($Path) { & rm -rf -- @Path }
    }

    function New-HostSnapshot([string] $File, [string[]] $Canary) {
        $snap = Invoke-Sh (@('snapshot-host', $File) + @($Canary | ForEach-Object { '--canary', $_ }))
        if ($snap.ExitCode -ne 0) { throw "snapshot-host failed: $($snap.Output)" }
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
        # work files outside /tmp: a tmpfs over /tmp (one of the leaks the check looks for) would hide them
        $script:Work = "/run/kc-systemd-sandbox-test-$Rand"
        [void][System.IO.Directory]::CreateDirectory($Work)
        $script:Canaries = @(New-TmpCanary $Rand)
        $script:Snapshot = Join-Path $Work 'host.before'
        New-HostSnapshot $Snapshot $Canaries
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
        Remove-TmpCanary $script:Canaries
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

    It 'changes nothing on the host while it runs: /tmp canaries and names, mounts, hierarchies, utab, /dev/log, journal' {
        $r = Invoke-Sh 'check-host', $Snapshot
        $r.Output | Should -BeNullOrEmpty
        $r.ExitCode | Should -Be 0
        @($Canaries | Where-Object { -not [System.IO.File]::Exists($_) -and -not [System.IO.Directory]::Exists($_) }) |
            Should -BeNullOrEmpty
        @(Get-CgroupMount) | Should -Be $MountsBefore
        # no controller got a new (host-wide) v1 hierarchy, e.g. net_cls, perf_event or hugetlb (taken from cgroup2)
        @([System.IO.File]::ReadAllLines('/proc/cgroups') | ForEach-Object { ($_ -split '\s+')[0..1] -join ' ' }) |
            Should -Be $ProcCgroupsBefore
    }

    It 'reports a leak planted while it runs: a PrivateTmp= directory in /tmp, a slice at the top of a hierarchy, its own cgroup after a stop' {
        # what a sandbox systemd without its private /tmp and cgroup namespace would leave on the host; named
        # kc-planted-<tag> so that only this check reports them (another run on the machine leaves them out)
        $private = "/tmp/systemd-private-$([System.Guid]::NewGuid().ToString('N'))-kc-planted-$Rand.service-Ab12Cd"
        $slice = "/sys/fs/cgroup/pids/kc-planted-$Rand.slice"
        try {
            [void][System.IO.Directory]::CreateDirectory("$private/tmp")
            [void][System.IO.Directory]::CreateDirectory($slice)
            # --stopped names the running sandbox: its /<name> still exists everywhere, as after a stop that leaked it
            $r = Invoke-Sh 'check-host', $Snapshot, '--stopped', $Sb.Name -Planted $Rand
            $r.ExitCode | Should -Be 1
            $r.Output | Should -Match ([regex]::Escape("> tmpname: $private directory"))
            $r.Output | Should -Match ([regex]::Escape("> cgdir: $slice"))
            $r.Output | Should -Match ([regex]::Escape("> cgdir: /sys/fs/cgroup/unified/$($Sb.Name) (a stopped sandbox's)"))
            $other = Invoke-Sh 'check-host', $Snapshot
            $other.Output | Should -BeNullOrEmpty -Because 'a check of another run (without this tag) leaves these plants out'
        }
        finally {
            if ([System.IO.Directory]::Exists($private)) { [System.IO.Directory]::Delete($private, $true) }
            if ([System.IO.Directory]::Exists($slice)) { [System.IO.Directory]::Delete($slice) }
        }
        $r = Invoke-Sh 'check-host', $Snapshot
        $r.Output | Should -BeNullOrEmpty -Because 'the planted leak is gone again'
    }

    It 'reports none of the unrelated activity between snapshot and check: files, a directory and a mount in /tmp, top-level cgroups of other names' {
        # what builds, other test tiers and other users do on this machine at any time
        $noise = "/tmp/unrelated-$Rand"
        $cgroups = "/sys/fs/cgroup/pids/kcunrelated-$Rand", "/sys/fs/cgroup/unified/kcunrelated-$Rand"
        $snap = Join-Path $Work 'host.noise'
        $mounted = $false
        try {
            [System.IO.File]::WriteAllText("$noise-goes", 'there at the snapshot, gone at the check')
            New-HostSnapshot $snap $Canaries
            [System.IO.File]::Delete("$noise-goes")
            [System.IO.File]::WriteAllText("$noise-new", 'new')
            [void][System.IO.Directory]::CreateDirectory("$noise-dir/sub")
            [void][System.IO.Directory]::CreateDirectory("$noise-mnt")
            & mount -t tmpfs -o size=64k kc-unrelated "$noise-mnt"
            $LASTEXITCODE | Should -Be 0
            $mounted = $true
            foreach ($c in $cgroups) { [void][System.IO.Directory]::CreateDirectory($c) }

            $r = Invoke-Sh 'check-host', $snap
            $r.Output | Should -BeNullOrEmpty
            $r.ExitCode | Should -Be 0
        }
        finally {
            if ($mounted) { & umount "$noise-mnt" }
            foreach ($c in $cgroups) { if ([System.IO.Directory]::Exists($c)) { [System.IO.Directory]::Delete($c) } }
            & rm -rf -- "$noise-goes" "$noise-new" "$noise-dir" "$noise-mnt"
            [System.IO.File]::Delete($snap)
        }
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
        $r = Invoke-Sh 'check-host', $Snapshot, '--stopped', $name
        $r.Output | Should -BeNullOrEmpty
        $r.ExitCode | Should -Be 0
    }
}

Describe 'systemd sandbox: a start that fails midway leaves nothing behind' -Skip:$Skip {
    BeforeAll {
        $script:Rand = [System.Guid]::NewGuid().ToString('N').Substring(0, 8)
        $script:Work = "/run/kc-systemd-sandbox-test-$Rand"
        [void][System.IO.Directory]::CreateDirectory($Work)
        $script:Canaries = @(New-TmpCanary $Rand)
        $script:Snapshot = Join-Path $Work 'host.before'
        New-HostSnapshot $Snapshot $Canaries
    }

    AfterAll {
        Remove-TmpCanary $script:Canaries
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
        $r = Invoke-Sh 'check-host', $Snapshot, '--stopped', $name
        $r.Output | Should -BeNullOrEmpty
        $r.ExitCode | Should -Be 0
    }
}

Describe 'systemd sandbox: the host check reports a canary in /tmp that changed' -Skip:$Skip {
    BeforeAll {
        $script:Rand = [System.Guid]::NewGuid().ToString('N').Substring(0, 8)
        $script:Work = "/run/kc-systemd-sandbox-test-$Rand"
        [void][System.IO.Directory]::CreateDirectory($Work)
        # a copy outside /tmp: the tmpfs over /tmp would hide a checkout under /tmp
        $script:ShCopy = Join-Path $Work 'sandbox.sh'
        Copy-Item -LiteralPath $Sh -Destination $ShCopy
    }

    BeforeEach {
        $script:Tag = [System.Guid]::NewGuid().ToString('N').Substring(0, 8)
        $script:Base = "/tmp/kc-canary-$Tag"
        $script:Canaries = @(New-TmpCanary $Tag)
        $script:Snapshot = Join-Path $Work 'host.before'
        New-HostSnapshot $Snapshot $Canaries
    }

    AfterEach {
        Remove-TmpCanary $script:Canaries
    }

    AfterAll {
        if ($script:Work) { Remove-Item -LiteralPath $script:Work -Recurse -Force -ErrorAction Ignore }
    }

    It 'reports <Case>' -TestCases @(
        @{ Case = 'the old file rewritten'; Shows = '> canary: {0}-file regular file'
            Tamper = { param($b) [System.IO.File]::AppendAllText("$b-file", ' changed') } }
        @{ Case = 'the file in the old directory removed'; Shows = '> canary: {0}-dir/old absent'
            Tamper = { param($b) [System.IO.File]::Delete("$b-dir/old") } }
        @{ Case = 'a file put into the old empty directory'; Shows = '> canary: {0}-empty directory'
            Tamper = { param($b) [System.IO.File]::WriteAllText("$b-empty/new", 'new') } }
        @{ Case = 'the symlink pointed elsewhere'; Shows = '> canary: {0}-link symbolic link'
            Tamper = { param($b) [System.IO.File]::Delete("$b-link"); [void][System.IO.File]::CreateSymbolicLink("$b-link", "$b-dir") } }
        @{ Case = 'a tmpfs over /tmp, as a tmp.mount would (in a private mount namespace)'; Shows = '> canary: {0}-file absent'
            Tamper = $null }
    ) {
        param($Case, $Shows, $Tamper)
        if ($Tamper) {
            & $Tamper $Base
            $r = Invoke-Sh 'check-host', $Snapshot
        }
        else {
            # the host's /tmp stays as it is: the tmpfs exists only in a mount namespace of the check's own
            $out = & unshare --mount --propagation private -- sh -c 'mount -t tmpfs kc-over-tmp /tmp && exec bash "$0" check-host "$1"' $ShCopy $Snapshot 2>&1
            $r = [pscustomobject]@{ ExitCode = $LASTEXITCODE; Output = ($out -join "`n") }
            $r.Output | Should -Match '> mount: /tmp tmpfs '
        }
        $r.ExitCode | Should -Be 1
        $r.Output | Should -Match ([regex]::Escape($Shows -f $Base))
    }
}
