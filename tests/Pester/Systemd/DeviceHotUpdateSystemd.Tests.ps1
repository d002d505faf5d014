# Hot device updates through a real systemd 252 (tests/Systemd/sandbox.sh) on this v1/hybrid host: the unit's
# DeviceAllow as systemd reports it (systemctl show) and the kernel's devices.list (read on the host) must agree
# after every Add-/Remove-KataCgroupDevice (the sandbox has its own /dev without /dev/kmsg, so devices are named by number).

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../TestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot '../../Systemd/SystemdSandbox.psm1') -Force
    Import-Module (Get-KcModulePath) -Force
    $Sb = Start-KcSystemdSandbox
    $ModulePath = Copy-KcModuleToSandbox $Sb (Get-KcModulePath)
    function Invoke-SandboxPwsh([string] $Script) { Invoke-KcSandboxPwsh $Sb $ModulePath $Script }
    function HostList([string] $Scope) {
        @([IO.File]::ReadAllText("/sys/fs/cgroup/devices/$($Sb.Name)/kctest.slice/$Scope/devices.list").Trim() -split "`n")
    }
    # DeviceAllow as `systemctl show` prints it: 'path access' pairs, whether on one line or several.
    $Show = 'function Allowed($u) { $t = @(systemctl show $u -p DeviceAllow | ForEach-Object { ($_ -split "=", 2)[1] }) -join " "; $f = @($t -split " " | Where-Object { $_ }); @(for ($i = 0; $i + 1 -lt $f.Count; $i += 2) { "$($f[$i]) $($f[$i+1])" }) }'
    # The /dev/char entries must be exactly the single-device lines of devices.list.
    function Assert-Agree($Allowed, $List) {
        $fromSystemd = @($Allowed | Where-Object { $_ -like '/dev/char/*' } | ForEach-Object { $p, $a = $_ -split ' '; "c $($p.Substring(10)) $a" }) | Sort-Object
        $fromKernel = @($List | Where-Object { $_ -match '^c \d+:\d+ ' }) | Sort-Object
        $fromKernel | Should -Be $fromSystemd -Because 'systemd''s DeviceAllow and the kernel''s devices.list name the same devices'
    }
}

AfterAll {
    if ($Sb) { Stop-KcSystemdSandbox $Sb }
}

Describe 'Add-/Remove-KataCgroupDevice with the systemd driver (v1)' {
    It 'adds and drops a DeviceAllow entry; systemd and devices.list agree; cgroupfs-only rules survive' {
        $r = Invoke-SandboxPwsh ($Show + "`n" + @'
$p = [int](sh -c 'sleep 600 </dev/null >/dev/null 2>&1 & echo $!')
$cg = New-KataCgroup -Path 'kctest.slice:kata:dv' -ProcessId $p -WarningAction SilentlyContinue
$start = Allowed kata-dv.scope
$addLog = @($cg | Add-KataCgroupDevice -Type c -Major 1 -Minor 11 -Verbose 4>&1 | ForEach-Object { "$_" })
$afterAdd = Allowed kata-dv.scope
$listAdd = Get-Content /sys/fs/cgroup/devices/kctest.slice/kata-dv.scope/devices.list
# 'c 240:*': major 240 has no /proc/devices name, so DeviceAllow cannot name it: it goes through cgroupfs.
$cg | Add-KataCgroupDevice -Type c -Major 240 -Minor '*' -Access rw
$cg | Add-KataCgroupDevice -Type c -Major 1 -Minor 11 -Access w
$list240 = Get-Content /sys/fs/cgroup/devices/kctest.slice/kata-dv.scope/devices.list
$rmLog = @($cg | Remove-KataCgroupDevice -Type c -Major 1 -Minor 11 -Verbose 4>&1 | ForEach-Object { "$_" })
$afterRemove = Allowed kata-dv.scope
$listRemove = Get-Content /sys/fs/cgroup/devices/kctest.slice/kata-dv.scope/devices.list
$cg | Remove-KataCgroupDevice -Type c -Major 240 -Minor '*' -Access rw
$listEnd = Get-Content /sys/fs/cgroup/devices/kctest.slice/kata-dv.scope/devices.list
$freezer = Get-Content /sys/fs/cgroup/freezer/kctest.slice/kata-dv.scope/freezer.state
Remove-KataCgroup -Path 'kctest.slice:kata:dv' -Kill
'KCRESULT:' + (@{ Start = $start; AddLog = $addLog; AfterAdd = $afterAdd; ListAdd = $listAdd; List240 = $list240; RmLog = $rmLog; AfterRemove = $afterRemove; ListRemove = $listRemove; ListEnd = $listEnd; Freezer = $freezer } | ConvertTo-Json -Compress -Depth 4)
'@)
        $r.Start | Should -Not -Contain '/dev/char/1:11 rwm'
        $r.AfterAdd | Should -Contain '/dev/char/1:11 rwm'
        $r.AfterAdd | Should -Contain '/dev/char/1:3 rwm' -Because 'the rest of DeviceAllow is kept'
        $r.ListAdd | Should -Contain 'c 1:11 rwm'
        Assert-Agree $r.AfterAdd $r.ListAdd
        ($r.AddLog -join "`n") | Should -Match 'D-Bus SetUnitProperties kata-dv\.scope runtime: DeviceAllow=/dev/char/1:11:rwm'
        ($r.AddLog -join "`n") | Should -Match 'freezer\.state = FROZEN' -Because 'systemd rewrites the whole v1 device list: the unit is frozen around it'
        $r.List240 | Should -Contain 'c 240:* rw' -Because 'a rule DeviceAllow cannot name goes through cgroupfs and survives the next DeviceAllow change'
        $r.List240 | Should -Contain 'c 1:11 rwm'
        $rmCall = @($r.RmLog | Where-Object { $_ -like 'D-Bus SetUnitProperties*' })
        $rmCall.Count | Should -Be 1
        $rmCall[0] | Should -Match 'D-Bus SetUnitProperties kata-dv\.scope runtime: DeviceAllow=, DeviceAllow=.*/dev/char/1:3:rwm' -Because 'Remove resets the list and sends the rest in one call'
        $rmCall[0] | Should -Not -Match '/dev/char/1:11'
        $r.AfterRemove | Should -Not -Contain '/dev/char/1:11 rwm'
        $r.AfterRemove | Should -Contain '/dev/char/1:3 rwm'
        $r.ListRemove | Should -Not -Contain 'c 1:11 rwm'
        $r.ListRemove | Should -Contain 'c 240:* rw'
        Assert-Agree $r.AfterRemove $r.ListRemove
        $r.ListEnd | Should -Not -Contain 'c 240:* rw'
        $r.Freezer | Should -Be 'THAWED'
    }

    It 'a scope that allows every device (DevicePolicy=auto, no DeviceAllow) is refused with DeviceStateUnknown' {
        $r = Invoke-SandboxPwsh (@'
sh -c 'systemd-run --unit=kata-open --slice=kctest.slice --scope sleep 600 </dev/null >/dev/null 2>&1 &'
Start-Sleep -Seconds 1
$id = $null
try { Add-KataCgroupDevice -Path 'kctest.slice:kata:open' -Type c -Major 1 -Minor 11 -ErrorAction Stop } catch { $id = $_.FullyQualifiedErrorId }
systemctl stop kata-open.scope
'KCRESULT:' + (@{ Id = $id } | ConvertTo-Json -Compress)
'@)
        $r.Id | Should -Be 'DeviceStateUnknown,KataCgroups.PowerShell.Commands.AddKataCgroupDeviceCommand'
    }
}
