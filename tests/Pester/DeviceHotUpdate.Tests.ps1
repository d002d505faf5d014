# Hot device updates (Add-/Remove-KataCgroupDevice) and cpuset updates that respect the parent on this host's
# cgroup v1 hierarchies. The device under test is /dev/kmsg (c 1:11): harmless to open for reading, and in none of
# the sandbox's default rules (runc's defaults already allow /dev/zero and /dev/full, so those could not show a
# change). A shell is moved into the cgroup before it opens the device, so the kernel checks the sandbox's rules.
# CPUs and memory nodes come from sysfs: a CPU or node the host cannot have, and CPU 1 only where it is online
# (else those tests are skipped, naming it).

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-KcModulePath) -Force
    $DevMount = Get-KcControllerMount devices
    $CpusetMount = Get-KcControllerMount cpuset
    function DeviceList([string] $CgroupPath) { ([IO.File]::ReadAllText("$DevMount$CgroupPath/devices.list")).TrimEnd("`n") -split "`n" }
    # Opens $Device for reading from a shell inside the cgroup (devices hierarchy); returns 'open-ok' or the shell's error.
    function Open-Inside([string] $CgroupPath, [string] $Device) {
        $out = & sh -c "echo `$`$ > '$DevMount$CgroupPath/cgroup.procs' || exit 99; : < $Device && echo open-ok" 2>&1
        $LASTEXITCODE | Should -Not -Be 99 -Because 'the shell must be able to join the cgroup'
        (@($out | ForEach-Object { "$_" }) -join "`n")
    }
}

Describe 'Add-KataCgroupDevice and Remove-KataCgroupDevice (cgroup v1)' {
    AfterAll { Remove-KcRootless }
    BeforeEach {
        $Root = New-KcTestRoot
        $Path = "$Root/pod1/sandbox"
        $Cg = New-KataCgroup -Path $Path -WarningAction SilentlyContinue
    }
    AfterEach { Clear-KcTestState }

    It 'a hot-added device opens inside the cgroup, and a removed one gives EPERM' {
        Open-Inside $Cg.CgroupPath /dev/kmsg | Should -Match 'Operation not permitted' -Because '/dev/kmsg is in no rule of a new sandbox'
        $out = $Cg | Add-KataCgroupDevice -DevicePath /dev/kmsg -PassThru
        $out.CgroupPath | Should -Be $Cg.CgroupPath -Because '-PassThru emits the cgroup; -Path binds from the piped object'
        $out.Devices | Should -Contain 'c 1:11 rwm'
        DeviceList $Cg.CgroupPath | Should -Contain 'c 1:11 rwm'
        Open-Inside $Cg.CgroupPath /dev/kmsg | Should -Be 'open-ok'

        Remove-KataCgroupDevice -Path $Path -DevicePath /dev/kmsg -Verbose 4>&1 | ForEach-Object { "$_" } | Should -Contain "write $DevMount$($Cg.CgroupPath)/devices.deny = c 1:11 rwm"
        DeviceList $Cg.CgroupPath | Should -Not -Contain 'c 1:11 rwm'
        Open-Inside $Cg.CgroupPath /dev/kmsg | Should -Match 'Operation not permitted'
        DeviceList $Cg.CgroupPath | Should -Contain 'b 253:* rwm' -Because 'the rest of the sandbox''s rules stay'
    }

    It 'takes -Type/-Major/-Minor with access letters; Remove denies exactly what Add allowed' {
        Add-KataCgroupDevice -Path $Path -Type c -Major 1 -Minor 11 -Access r
        DeviceList $Cg.CgroupPath | Should -Contain 'c 1:11 r'
        Add-KataCgroupDevice -Path $Path -Type c -Major 1 -Minor 11 -Access w
        DeviceList $Cg.CgroupPath | Should -Contain 'c 1:11 rw' -Because 'a second allow widens the same exception'
        Remove-KataCgroupDevice -Path $Path -Type c -Major 1 -Minor 11 -Access w
        DeviceList $Cg.CgroupPath | Should -Contain 'c 1:11 r'
        Open-Inside $Cg.CgroupPath /dev/kmsg | Should -Be 'open-ok' -Because 'read is still allowed'
    }

    It 'a wildcard minor covers the device; revoking the single device leaves the wildcard and warns, naming it' {
        Add-KataCgroupDevice -Path $Path -Type c -Major 1 -Minor '*' -Access r
        DeviceList $Cg.CgroupPath | Should -Contain 'c 1:* r'
        Open-Inside $Cg.CgroupPath /dev/kmsg | Should -Be 'open-ok'
        Remove-KataCgroupDevice -Path $Path -DevicePath /dev/kmsg -WarningVariable w -WarningAction SilentlyContinue
        ($w -join "`n") | Should -Match "not an exception of its own.*'rm' stays allowed on c 1:11 through 'c \*:\* m', 'c 1:\* r'"
        Open-Inside $Cg.CgroupPath /dev/kmsg | Should -Be 'open-ok' -Because 'the kernel removes only an exactly matching exception'
        Remove-KataCgroupDevice -Path $Path -Type c -Major 1 -Minor '*' -Access r
        DeviceList $Cg.CgroupPath | Should -Not -Contain 'c 1:* r'
        Open-Inside $Cg.CgroupPath /dev/kmsg | Should -Match 'Operation not permitted'
    }

    It '-WhatIf shows the exact rule, the file and the resulting rule set, and changes nothing' {
        $before = DeviceList $Cg.CgroupPath
        $text = Invoke-KcWithTranscript { Add-KataCgroupDevice -Path $Path -DevicePath /dev/kmsg -WhatIf }
        $text | Should -Match ([regex]::Escape("Allow device 'c 1:11 rwm (/dev/kmsg)' for cgroup $($Cg.CgroupPath)"))
        $text | Should -Match ([regex]::Escape("$DevMount$($Cg.CgroupPath)/devices.allow = c 1:11 rwm"))
        $text | Should -Match 'resulting rules: .*c 1:9 rwm, c 1:11 rwm, c 5:0 rwm'
        DeviceList $Cg.CgroupPath | Should -Be $before
    }

    It 'several device paths in one call, one bad: the bad one is an error, the others are allowed' {
        Add-KataCgroupDevice -Path $Path -DevicePath /dev/kmsg, /nonexistent-kc-dev, /dev/null -ErrorVariable e -ErrorAction SilentlyContinue
        $e.Count | Should -Be 1
        $e[0].FullyQualifiedErrorId | Should -Be 'InvalidDeviceRule,KataCgroups.PowerShell.Commands.AddKataCgroupDeviceCommand'
        "$($e[0])" | Should -Match "'/nonexistent-kc-dev' cannot be used as a device: ENOENT"
        DeviceList $Cg.CgroupPath | Should -Contain 'c 1:11 rwm'
        { Add-KataCgroupDevice -Path $Path -DevicePath /etc/hostname -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidDeviceRule,KataCgroups.PowerShell.Commands.AddKataCgroupDeviceCommand'
    }

    It 'a cgroup that does not exist is CgroupNotFound' {
        { Add-KataCgroupDevice -Path "$Root/nope" -DevicePath /dev/kmsg -ErrorAction Stop } |
            Should -Throw -ErrorId 'CgroupNotFound,KataCgroups.PowerShell.Commands.AddKataCgroupDeviceCommand'
    }

    It 'rootless: warns and changes nothing' {
        $before = DeviceList $Cg.CgroupPath
        $r = Invoke-KcRootless "Add-KataCgroupDevice -Path '$Path' -DevicePath /dev/kmsg 3>&1 | ForEach-Object { 'W: ' + `$_ }"
        $r.StdOut | Should -Match "W: Add-KataCgroupDevice skipped allowing device 'c 1:11 rwm \(/dev/kmsg\)' for cgroup $([regex]::Escape($Cg.CgroupPath)): .*nothing was changed"
        DeviceList $Cg.CgroupPath | Should -Be $before
    }
}

Describe 'Set-KataCgroupResource -Cpus/-Mems respects parent cpusets (cgroup v1)' {
    BeforeEach {
        $Root = New-KcTestRoot
        $Path = "$Root/pod1/sandbox"
        $Cg = New-KataCgroup -Path $Path -WarningAction SilentlyContinue
        $Online = [IO.File]::ReadAllText('/sys/devices/system/cpu/online').Trim()
    }
    AfterEach { Clear-KcTestState }

    It 'sets CPUs the parent has (0, 1 when online, 0-1)' {
        $values = @('0') + @(if (-not (Get-KcMissingCpu 0, 1)) { '1', '0-1' })
        foreach ($v in $values) {
            ($Cg | Set-KataCgroupResource -Cpus $v -PassThru).Cpus | Should -Be $v
            Get-KcCgroupFile cpuset $Cg.CgroupPath cpuset.cpus | Should -Be $v
        }
    }

    It 'a CPU the host does not have is CpusetNotSubset, naming the parent''s CPUs and the online ones; nothing is written' {
        $before = Get-KcCgroupFile cpuset $Cg.CgroupPath cpuset.cpus
        $absent = Get-KcAbsentCpu   # one past the last possible CPU
        { $Cg | Set-KataCgroupResource -Cpus $absent -ErrorAction Stop } |
            Should -Throw -ErrorId 'CpusetNotSubset,KataCgroups.PowerShell.Commands.SetKataCgroupResourceCommand'
        $err = $null
        try { $Cg | Set-KataCgroupResource -Cpus $absent -ErrorAction Stop } catch { $err = $_ }
        "$err" | Should -Match ([regex]::Escape("cpuset.cpus '$absent' is not within the parent cgroup's CPUs: $CpusetMount$Root/pod1/cpuset.cpus is '$before'"))
        "$err" | Should -Match "online: $Online"
        Get-KcCgroupFile cpuset $Cg.CgroupPath cpuset.cpus | Should -Be $before
    }

    It 'a parent restricted to CPU 0 and a child asking for CPU 1: CpusetNotSubset naming the parent''s value' {
        Skip-KcBecause (Get-KcMissingCpu 0, 1)
        # The parent level (…/pod1) restricted to CPU 0 by hand; a new sandbox below it inherits CPU 0.
        $parent = "$CpusetMount$Root/pod1"
        [IO.File]::WriteAllText("$parent/kata_sandbox/cpuset.cpus", '0')
        [IO.File]::WriteAllText("$parent/cpuset.cpus", '0')
        { $Cg | Set-KataCgroupResource -Cpus 1 -ErrorAction Stop } |
            Should -Throw -ErrorId 'CpusetNotSubset,KataCgroups.PowerShell.Commands.SetKataCgroupResourceCommand'
        try { $Cg | Set-KataCgroupResource -Cpus 1 -ErrorAction Stop } catch { "$_" | Should -Match ([regex]::Escape("$parent/cpuset.cpus is '0', so CPU 1 cannot be given")) }
        { New-KataCgroup -Path "$Root/pod1/second" -Cpus 0-1 -ErrorAction Stop -WarningAction SilentlyContinue } |
            Should -Throw -ErrorId 'CpusetNotSubset,KataCgroups.PowerShell.Commands.NewKataCgroupCommand'
        Test-Path "$CpusetMount$Root/pod1/kata_second" | Should -BeFalse -Because 'the check runs before anything is created'
    }

    It 'shrinking below a child''s CPUs is CpusetBusy, naming the child' {
        Skip-KcBecause (Get-KcMissingCpu 0, 1)
        $dir = "$CpusetMount$($Cg.CgroupPath)"
        $Cg | Set-KataCgroupResource -Cpus 0-1
        $null = New-Item -ItemType Directory "$dir/vcpu1"
        [IO.File]::WriteAllText("$dir/vcpu1/cpuset.mems", '0')
        [IO.File]::WriteAllText("$dir/vcpu1/cpuset.cpus", '1')
        { $Cg | Set-KataCgroupResource -Cpus 0 -ErrorAction Stop } |
            Should -Throw -ErrorId 'CpusetBusy,KataCgroups.PowerShell.Commands.SetKataCgroupResourceCommand'
        try { $Cg | Set-KataCgroupResource -Cpus 0 -ErrorAction Stop } catch { "$_" | Should -Match ([regex]::Escape("child cgroup $dir/vcpu1 uses CPU 1 (cpuset.cpus '1')")) }
        Get-KcCgroupFile cpuset $Cg.CgroupPath cpuset.cpus | Should -Be '0-1'
    }

    It 'a memory node the parent does not have is CpusetNotSubset' {
        { $Cg | Set-KataCgroupResource -Mems (Get-KcAbsentMemoryNode) -ErrorAction Stop } |
            Should -Throw -ErrorId 'CpusetNotSubset,KataCgroups.PowerShell.Commands.SetKataCgroupResourceCommand'
    }
}
