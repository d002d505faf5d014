# The systemd driver against a real systemd 252 (tests/Systemd/sandbox.sh: confined to its own cgroup subtree and
# namespaces). The cmdlets run in a pwsh inside systemd's PID namespace — pids are per namespace, and the module
# refuses to send pids across — and every step is checked twice: the unit's properties as systemd reports them
# (systemctl show) and the cgroupfs values, read from the host.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../TestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot '../../Systemd/SystemdSandbox.psm1') -Force
    Import-Module (Get-KcModulePath) -Force
    $Sb = Start-KcSystemdSandbox
    $ModulePath = Copy-KcModuleToSandbox $Sb (Get-KcModulePath)
    function Invoke-SandboxPwsh([string] $Script) { Invoke-KcSandboxPwsh $Sb $ModulePath $Script }
    # Read through the controller's own mount: cpu and cpuacct are one hierarchy on some hosts, two on others.
    function HostFile([string] $Controller, [string] $Scope, [string] $File) { Get-KcSandboxScopeFile $Sb (Split-Path -Leaf (Get-KcControllerMount $Controller)) $Scope $File }
    function ScopeExists([string] $Scope) { Test-KcSandboxScope $Sb $Scope }
    $Show = 'function Show($u) { $h = @{}; foreach ($l in (systemctl show $u -p MemoryLimit -p CPUShares -p CPUQuotaPerSecUSec -p TasksMax -p DevicePolicy -p ActiveState -p LoadState)) { $k, $v = $l -split "=", 2; $h[$k] = $v }; $h }'
}

AfterAll {
    if ($Sb) { Stop-KcSystemdSandbox $Sb }
}

Describe 'systemd driver (v1/hybrid property set)' {
    It 'creates the scope with the resource properties; systemd and cgroupfs agree; Set and Remove follow' {
        $r = Invoke-SandboxPwsh @"
$Show
`$p = @{ Id = [int](sh -c 'sleep 600 </dev/null >/dev/null 2>&1 & echo `$!') }
`$cg = New-KataCgroup -Path 'kctest.slice:kata:sb1' -MemoryLimit 256MB -CpuShares 512 -CpuQuota 50000 -CpuPeriod 100000 -PidsLimit 64 -ProcessId `$p.Id -WarningVariable w -WarningAction SilentlyContinue
`$afterNew = Show kata-sb1.scope
`$procLine = (Get-Content /proc/`$(`$p.Id)/cgroup | Where-Object { `$_ -like '*:memory:*' })
`$q = [int](sh -c 'sleep 600 </dev/null >/dev/null 2>&1 & echo `$!')
`$added = `$cg | Add-KataCgroupProcess -Id `$q -PassThru
`$addedLine = (Get-Content /proc/`$q/cgroup | Where-Object { `$_ -like '*:pids:*' })
Stop-Process -Id `$q
`$set = `$cg | Set-KataCgroupResource -MemoryLimit 512MB -PidsLimit 128 -PassThru
`$afterSet = Show kata-sb1.scope
'KCRESULT:' + (@{ Added = `$q; AddedPids = `$added.Pids; AddedLine = `$addedLine; Pid = `$p.Id; Driver = `$cg.Driver; CgroupPath = `$cg.CgroupPath; Pids = `$cg.Pids; New = `$afterNew; ProcLine = `$procLine; SetMemory = `$set.MemoryLimit; Set = `$afterSet; Warnings = @(`$w | ForEach-Object { "`$_" }) } | ConvertTo-Json -Depth 4 -Compress)
"@
        $r.Driver | Should -Be 'Systemd'
        $r.CgroupPath | Should -Be '/kctest.slice/kata-sb1.scope'
        $r.Pids | Should -Contain $r.Pid
        $r.ProcLine | Should -BeLike '*:memory:/kctest.slice/kata-sb1.scope'
        $r.AddedPids | Should -Contain $r.Added -Because 'Add-KataCgroupProcess attaches through AttachProcessesToUnit'
        $r.AddedLine | Should -BeLike '*:pids:/kctest.slice/kata-sb1.scope'
        # what systemd reports …
        $r.New.MemoryLimit | Should -Be '268435456'
        $r.New.CPUShares | Should -Be '512'
        $r.New.CPUQuotaPerSecUSec | Should -Be '500ms'
        $r.New.TasksMax | Should -Be '64'
        $r.New.DevicePolicy | Should -Be 'strict'
        $r.Set.MemoryLimit | Should -Be '536870912'
        $r.Set.TasksMax | Should -Be '128'
        $r.SetMemory | Should -Be 536870912
        # … and what the kernel holds
        HostFile memory kata-sb1.scope memory.limit_in_bytes | Should -Be '536870912'
        HostFile cpu kata-sb1.scope cpu.shares | Should -Be '512'
        HostFile cpu kata-sb1.scope cpu.cfs_quota_us | Should -Be '50000'
        HostFile pids kata-sb1.scope pids.max | Should -Be '128'
        $devices = (HostFile devices kata-sb1.scope devices.list) -split "`n"
        $devices | Should -Contain 'c 1:3 rwm'
        # The sandbox's /dev has the host's /dev/kvm where the host has one (tests/Systemd/sandbox.sh copies it).
        $kvm = Get-KcHostCheck Device:/dev/kvm
        if ($kvm.Status -eq 'Pass') { $devices | Should -Contain "$($kvm.Value) rwm" -Because '/dev/kvm (a hypervisor device) is in DeviceAllow' }
        else { ($r.Warnings -join "`n") | Should -Match '/dev/kvm' -Because "a missing /dev/kvm is reported, not an error ($($kvm.Reason))" }

        $removed = Invoke-SandboxPwsh @"
$Show
Remove-KataCgroup -Path 'kctest.slice:kata:sb1'
`$after = Show kata-sb1.scope
`$line = (Get-Content /proc/$($r.Pid)/cgroup | Where-Object { `$_ -like '*:memory:*' })
Stop-Process -Id $($r.Pid)
'KCRESULT:' + (@{ After = `$after; Line = `$line } | ConvertTo-Json -Compress)
"@
        $removed.After.LoadState | Should -Be 'not-found' -Because 'Remove stops the scope and resets it: no unit is left'
        $removed.Line | Should -Not -BeLike '*kata-sb1.scope*' -Because 'the process was moved out before the scope stopped'
        ScopeExists kata-sb1.scope | Should -BeFalse
    }

    It 'without -ProcessId keeps the scope alive with a holder process, which Remove ends' {
        $r = Invoke-SandboxPwsh @"
$Show
`$cg = New-KataCgroup -Path 'kctest.slice:kata:sb2' -PidsLimit 10 -WarningAction SilentlyContinue
`$state = (Show kata-sb2.scope).ActiveState
`$holder = `$cg.Pids[0]
`$comm = Get-Content /proc/`$holder/comm
Remove-KataCgroup -Path 'kctest.slice:kata:sb2' -Kill
Start-Sleep -Milliseconds 300
'KCRESULT:' + (@{ State = `$state; Count = @(`$cg.Pids).Count; Comm = `$comm; HolderAlive = (Test-Path /proc/`$holder); After = (Show kata-sb2.scope).LoadState } | ConvertTo-Json -Compress)
"@
        $r.State | Should -Be 'active'
        $r.Count | Should -Be 1
        $r.Comm | Should -Be 'sleep'
        $r.HolderAlive | Should -BeFalse
        $r.After | Should -Be 'not-found'
        ScopeExists kata-sb2.scope | Should -BeFalse
    }

    It 'works over the system bus as well as the private socket, and recovers when the bus connection drops' {
        $r = Invoke-SandboxPwsh @"
$Show
`$bus = 'unix:path=/run/dbus/system_bus_socket'
`$cg = New-KataCgroup -Path 'kctest.slice:kata:sb3' -MemoryLimit 128MB -SystemdBusAddress `$bus -WarningAction SilentlyContinue
systemctl restart dbus.service
`$cg | Set-KataCgroupResource -MemoryLimit 192MB -SystemdBusAddress `$bus
`$mem = (Show kata-sb3.scope).MemoryLimit
Remove-KataCgroup -Path 'kctest.slice:kata:sb3' -SystemdBusAddress `$bus -Kill
'KCRESULT:' + (@{ Memory = `$mem; After = (Show kata-sb3.scope).LoadState } | ConvertTo-Json -Compress)
"@
        $r.Memory | Should -Be '201326592'
        $r.After | Should -Be 'not-found'
        ScopeExists kata-sb3.scope | Should -BeFalse
    }

    It 'recovers when systemd itself re-executes mid-session (the private socket connection drops)' {
        $r = Invoke-SandboxPwsh ($Show + "`n" + @'
$cg = New-KataCgroup -Path 'kctest.slice:kata:rx' -PidsLimit 10 -WarningAction SilentlyContinue
systemctl daemon-reexec
$set = $cg | Set-KataCgroupResource -PidsLimit 11 -PassThru
$tasks = (Show kata-rx.scope).TasksMax
$cg | Remove-KataCgroup -Kill
'KCRESULT:' + (@{ Pids = $set.PidsLimit; Tasks = $tasks; After = (Show kata-rx.scope).LoadState } | ConvertTo-Json -Compress)
'@)
        $r.Pids | Should -Be 11
        $r.Tasks | Should -Be '11'
        $r.After | Should -Be 'not-found'
        ScopeExists kata-rx.scope | Should -BeFalse
    }

    It 'recovers from a leftover failed unit of the same name (UnitExists → ResetFailedUnit → retry once)' {
        $r = Invoke-SandboxPwsh @"
$Show
# A scope that failed (RuntimeMaxSec exceeded) stays loaded in state 'failed' under the name we want.
sh -c 'systemd-run --unit=kata-ue --scope -p RuntimeMaxSec=1 sleep 10 </dev/null >/dev/null 2>&1'
`$before = Show kata-ue.scope
`$cg = New-KataCgroup -Path 'kctest.slice:kata:ue' -PidsLimit 20 -WarningAction SilentlyContinue
`$during = Show kata-ue.scope
Remove-KataCgroup -Path 'kctest.slice:kata:ue' -Kill
'KCRESULT:' + (@{ Before = `$before; During = `$during; Driver = `$cg.Driver; After = (Show kata-ue.scope).LoadState } | ConvertTo-Json -Compress)
"@
        $r.Before.ActiveState | Should -Be 'failed'
        $r.Driver | Should -Be 'Systemd'
        $r.During.ActiveState | Should -Be 'active'
        $r.During.TasksMax | Should -Be '20'
        $r.After | Should -Be 'not-found'
        ScopeExists kata-ue.scope | Should -BeFalse
    }

    It 'surfaces the result of a start job that is not done, and leaves the caller''s process alive and no unit behind' {
        # kcfail.slice (a sandbox fixture) never starts: the scope's job ends with result 'dependency'.
        $r = Invoke-SandboxPwsh ($Show + "`n" + @'
$p = [int](sh -c 'sleep 600 </dev/null >/dev/null 2>&1 & echo $!')
$before = Get-Content /proc/$p/cgroup | Where-Object { $_ -like '*:memory:*' }
$err = $null
try { New-KataCgroup -Path 'kcfail.slice:kata:f1' -ProcessId $p -PidsLimit 10 -WarningAction SilentlyContinue -ErrorAction Stop }
catch { $err = $_ }
$after = Get-Content /proc/$p/cgroup | Where-Object { $_ -like '*:memory:*' }
$alive = Test-Path /proc/$p
Stop-Process -Id $p
'KCRESULT:' + (@{ Id = $err.FullyQualifiedErrorId; Message = $err.Exception.Message; Alive = $alive; Before = $before; After = $after; Unit = (Show kata-f1.scope).LoadState } | ConvertTo-Json -Compress)
'@)
        $r.Id | Should -Be 'SystemdJobFailed,KataCgroups.PowerShell.Commands.NewKataCgroupCommand'
        $r.Message | Should -BeLike "*kata-f1.scope*result 'dependency'*"
        $r.Alive | Should -BeTrue
        $r.After | Should -Be $r.Before -Because 'the process was never moved'
        $r.Unit | Should -Be 'not-found' -Because 'the failed unit was reset'
        @(Get-ChildItem -Directory /sys/fs/cgroup/*/$($Sb.Name)/kcfail.slice/kata-f1.scope -ErrorAction Ignore).Count | Should -Be 0
    }

    It 'v1: joins cpuset and freezer through cgroupfs, freezes around device updates, and keeps cgroupfs-only device rules across Set' {
        # 'c 240:* rwm': major 240 has no /proc/devices name, so DeviceAllow cannot say it and it goes to devices.allow.
        $r = Invoke-SandboxPwsh ($Show + "`n" + @'
$p = [int](sh -c 'sleep 600 </dev/null >/dev/null 2>&1 & echo $!')
$cg = New-KataCgroup -Path 'kctest.slice:kata:d2' -Cpus 0 -Device 'c 240:* rwm' -ProcessId $p -WarningAction SilentlyContinue
$lines = Get-Content /proc/$p/cgroup
$dev = '/sys/fs/cgroup/devices/kctest.slice/kata-d2.scope/devices.list'
$created = Get-Content $dev
$memSet = @(Set-KataCgroupResource -Path 'kctest.slice:kata:d2' -MemoryLimit 300MB -Verbose 4>&1 | ForEach-Object { "$_" })
$afterMem = Get-Content $dev
$devSet = @(Set-KataCgroupResource -Path 'kctest.slice:kata:d2' -Device 'c 1:5 rwm' -Verbose 4>&1 -WarningAction SilentlyContinue | ForEach-Object { "$_" })
$afterDev = Get-Content $dev
$freezer = Get-Content /sys/fs/cgroup/freezer/kctest.slice/kata-d2.scope/freezer.state
$cpus = Get-Content /sys/fs/cgroup/cpuset/kctest.slice/kata-d2.scope/cpuset.cpus
$memory = (Show kata-d2.scope).MemoryLimit
Remove-KataCgroup -Path 'kctest.slice:kata:d2'
$out = Get-Content /proc/$p/cgroup | Where-Object { $_ -like '*:freezer:*' -or $_ -like '*:cpuset:*' }
Stop-Process -Id $p
'KCRESULT:' + (@{ Lines = $lines; Created = $created; MemSet = $memSet; AfterMem = $afterMem; DevSet = $devSet; AfterDev = $afterDev; Freezer = $freezer; Cpus = $cpus; Memory = $memory; Out = $out; After = (Show kata-d2.scope).LoadState } | ConvertTo-Json -Compress)
'@)
        ($r.Lines | Where-Object { $_ -like '*:cpuset:*' }) | Should -BeLike '*:cpuset:/kctest.slice/kata-d2.scope'
        ($r.Lines | Where-Object { $_ -like '*:freezer:*' }) | Should -BeLike '*:freezer:/kctest.slice/kata-d2.scope'
        $r.Cpus | Should -Be '0' -Because 'systemd does not apply AllowedCPUs on v1, so cpuset goes through cgroupfs too'
        $r.Created | Should -Contain 'c 240:* rwm'
        # Where the first (or last) verbose line matching $Like is, -1 when none does.
        function At([string[]] $Lines, [string] $Like, [switch] $Last) {
            $i = @(for ($n = 0; $n -lt $Lines.Count; $n++) { if ($Lines[$n] -like $Like) { $n } })
            if ($i.Count -eq 0) { -1 } elseif ($Last) { $i[-1] } else { $i[0] }
        }
        # A memory update: systemd rewrites the device list, so the scope is frozen and the rule allowed again.
        $frozen = At $r.MemSet '*freezer.state = FROZEN'
        $set = At $r.MemSet 'D-Bus SetUnitProperties kata-d2.scope*MemoryLimit=314572800*'
        $again = At $r.MemSet '*devices.allow = c 240:`* rwm'
        $thawed = At $r.MemSet '*freezer.state = THAWED' -Last
        $frozen | Should -BeGreaterOrEqual 0
        $set | Should -BeGreaterThan $frozen
        $again | Should -BeGreaterThan $set
        $thawed | Should -BeGreaterThan $again
        $r.AfterMem | Should -Contain 'c 240:* rwm' -Because 'a rule systemd cannot express survives SetUnitProperties'
        $r.Memory | Should -Be '314572800'
        # A device update: frozen around the DeviceAllow change; the new list replaces the old one.
        $frozen = At $r.DevSet '*freezer.state = FROZEN'
        $set = At $r.DevSet 'D-Bus SetUnitProperties kata-d2.scope*DevicePolicy=strict*'
        $thawed = At $r.DevSet '*freezer.state = THAWED' -Last
        $frozen | Should -BeGreaterOrEqual 0
        $set | Should -BeGreaterThan $frozen
        $thawed | Should -BeGreaterThan $set
        $r.AfterDev | Should -Contain 'c 1:5 rwm'
        $r.AfterDev | Should -Not -Contain 'c 240:* rwm'
        $r.Freezer | Should -Be 'THAWED'
        $r.Out | Should -Not -BeLike '*kata-d2.scope*' -Because 'Remove moved the process out in the cgroupfs-joined hierarchies too'
        $r.After | Should -Be 'not-found'
        ScopeExists kata-d2.scope | Should -BeFalse
    }

    It 'lists its scopes in Get-KataCgroup without -Path, and -Driver picks or refuses the systemd form' {
        $r = Invoke-SandboxPwsh (@'
$null = New-KataCgroup -Path 'kctest.slice:kata-x:l1' -PidsLimit 10 -WarningAction SilentlyContinue
$auto = @(Get-KataCgroup | ForEach-Object Path)
$sd = @(Get-KataCgroup -Driver Systemd | ForEach-Object Path)
$fs = @(Get-KataCgroup -Driver Cgroupfs | ForEach-Object Path)
$rooted = @(Get-KataCgroup -Driver Systemd -Root /kctest.slice | ForEach-Object Path)
$other = @(Get-KataCgroup -Driver Systemd -Root /elsewhere | ForEach-Object Path)
$drv = (Get-KataCgroup | Where-Object Path -eq 'kctest.slice:kata-x:l1').Driver
$bad = $null; try { Get-KataCgroupPath -Path 'kctest.slice:kata-x:l1' -Driver Cgroupfs -ErrorAction Stop } catch { $bad = $_.FullyQualifiedErrorId }
$bad2 = $null; try { Get-KataCgroup -Path '/kubepods/abc' -Driver Systemd -ErrorAction Stop } catch { $bad2 = $_.FullyQualifiedErrorId }
Get-KataCgroup -Driver Systemd | Where-Object Path -eq 'kctest.slice:kata-x:l1' | Remove-KataCgroup -Kill
'KCRESULT:' + (@{ Auto = $auto; Sd = $sd; Fs = $fs; Rooted = $rooted; Other = $other; Drv = "$drv"; Bad = $bad; Bad2 = $bad2; Left = @(Get-KataCgroup -Driver Systemd | ForEach-Object Path) } | ConvertTo-Json -Compress)
'@)
        $r.Auto | Should -Contain 'kctest.slice:kata-x:l1' -Because 'the prefix has a dash: the Description, not the unit name, gives the path back'
        $r.Sd | Should -Contain 'kctest.slice:kata-x:l1'
        $r.Fs | Should -Not -Contain 'kctest.slice:kata-x:l1'
        $r.Rooted | Should -Contain 'kctest.slice:kata-x:l1'
        $r.Other | Should -Not -Contain 'kctest.slice:kata-x:l1'
        $r.Drv | Should -Be 'Systemd'
        $r.Bad | Should -Be 'InvalidCgroupPath,KataCgroups.PowerShell.Commands.GetKataCgroupPathCommand'
        $r.Bad2 | Should -Be 'MalformedSystemdPath,KataCgroups.PowerShell.Commands.GetKataCgroupCommand'
        $r.Left | Should -Not -Contain 'kctest.slice:kata-x:l1' -Because 'a listed scope pipes into Remove-KataCgroup'
        ScopeExists kata-x-l1.scope | Should -BeFalse
    }

    It 'refuses to send a pid from another PID namespace, naming the problem, and creates nothing' {
        # This pwsh runs on the host: its pids mean nothing (or something else) to the sandbox's systemd.
        { New-KataCgroup -Path 'kctest.slice:kata:sb4' -ProcessId $PID -SystemdBusAddress $Sb.BusAddress -ErrorAction Stop -WarningAction SilentlyContinue } |
            Should -Throw -ErrorId 'PidNamespaceMismatch,KataCgroups.PowerShell.Commands.NewKataCgroupCommand'
        ScopeExists kata-sb4.scope | Should -BeFalse
    }
}
