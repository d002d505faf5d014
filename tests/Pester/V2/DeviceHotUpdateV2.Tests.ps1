# Hot device updates and cpuset checks on a pure cgroup v2 host (run inside the qemu guest by
# tests/Guest/run-v2-guest.sh; elsewhere these tests report themselves skipped, naming the host's cgroup mode).
# Devices go through the eBPF program, rebuilt from the rule set the module recorded on the cgroup
# (trusted.katacgroups.devices) plus or minus the rule, and swapped in so that exactly one program stays attached:
# a kernel that loads no device program (the preflight's DeviceControl) skips them, naming it.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot '../TestHelpers.psm1') -Force
    # '' where the block can run, else why not: in the block's name, since -Skip shows no reason
    $script:NotV2 = Get-KcMissingCgroupMode Unified
    $script:NoDeviceProgram = if ($NotV2) { $NotV2 } else { Get-KcMissingCapability DeviceControl }
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../TestHelpers.psm1') -Force
    Import-Module (Get-KcModulePath) -Force
    $Mount = Get-KcControllerMount unified
    # Opens $Device for reading from a shell that joined the cgroup first; 'open-ok' or the shell's error.
    function Open-Inside([string] $CgroupPath, [string] $Device) {
        $out = & sh -c "echo `$`$ > '$Mount$CgroupPath/cgroup.procs' || exit 99; : < $Device && echo open-ok" 2>&1
        $LASTEXITCODE | Should -Not -Be 99 -Because 'the shell must be able to join the cgroup'
        (@($out | ForEach-Object { "$_" }) -join "`n")
    }
    function Programs([string] $CgroupPath) {
        if (Get-Command bpftool -ErrorAction Ignore) { @(bpftool cgroup show "$Mount$CgroupPath" | Select-String cgroup_device).Count }
        else { @((Get-KataCgroup -Path $Path).Devices | Where-Object { $_ -like 'eBPF program*' }).Count }
    }
}

Describe "Add-/Remove-KataCgroupDevice on cgroup v2$(if ($NoDeviceProgram) { " (skipped: $NoDeviceProgram)" })" -Skip:([bool] $NoDeviceProgram) {
    BeforeEach {
        $Root = New-KcTestRoot
        $Path = "$Root/pod1/sandbox"
        $CgPath = "$Root/pod1/kata_sandbox"
    }
    AfterEach { Clear-KcTestState }

    It 'a hot-added device opens inside, a removed one is EPERM, and 20 add/remove cycles leave exactly one program' {
        $cg = New-KataCgroup -Path $Path -WarningAction SilentlyContinue
        Open-Inside $CgPath /dev/kmsg | Should -Match 'Operation not permitted'
        $out = $cg | Add-KataCgroupDevice -DevicePath /dev/kmsg -PassThru
        $out.Driver | Should -Be 'CgroupfsV2'
        Open-Inside $CgPath /dev/kmsg | Should -Be 'open-ok'
        Open-Inside $CgPath /dev/null | Should -Be 'open-ok' -Because 'the recorded rules (runtime defaults) are kept in the new program'
        $cg | Remove-KataCgroupDevice -DevicePath /dev/kmsg
        Open-Inside $CgPath /dev/kmsg | Should -Match 'Operation not permitted'
        Open-Inside $CgPath /dev/null | Should -Be 'open-ok'

        1..20 | ForEach-Object {
            $cg | Add-KataCgroupDevice -Type c -Major 1 -Minor 11 -Access r
            $cg | Remove-KataCgroupDevice -Type c -Major 1 -Minor 11 -Access r
        }
        Programs $CgPath | Should -Be 1 -Because 'every update replaces the program (BPF_F_REPLACE), never stacks one'
        Open-Inside $CgPath /dev/kmsg | Should -Match 'Operation not permitted'
        $cg | Add-KataCgroupDevice -Type c -Major 1 -Minor '*' -Access r
        Open-Inside $CgPath /dev/kmsg | Should -Be 'open-ok' -Because 'a wildcard minor covers c 1:11'
        Programs $CgPath | Should -Be 1
    }

    It '-WhatIf names the program replacement and the resulting rules, and changes nothing' {
        $cg = New-KataCgroup -Path $Path -WarningAction SilentlyContinue
        $before = (Get-KataCgroup -Path $Path).Devices
        $text = Invoke-KcWithTranscript { $cg | Add-KataCgroupDevice -DevicePath /dev/kmsg -WhatIf }
        $text | Should -Match ([regex]::Escape("bpf: replace the device program of $Mount$CgPath"))
        $text | Should -Match 'resulting rules: .*c 1:11 rwm'
        (Get-KataCgroup -Path $Path).Devices | Should -Be $before
        Open-Inside $CgPath /dev/kmsg | Should -Match 'Operation not permitted'
    }

    It 'a cgroup whose devices this module did not set up is DeviceStateUnknown; Set -Device makes it known' {
        $null = New-KataCgroup -Path $Path -WarningAction SilentlyContinue
        # A cgroup made by hand next to the sandbox: no rule set recorded, and an unknown device state.
        $null = New-Item -ItemType Directory "$Mount$Root/pod1/kata_other"
        { Add-KataCgroupDevice -Path "$Root/pod1/other" -DevicePath /dev/kmsg -ErrorAction Stop } |
            Should -Throw -ErrorId 'DeviceStateUnknown,KataCgroups.PowerShell.Commands.AddKataCgroupDeviceCommand'
        Set-KataCgroupResource -Path "$Root/pod1/other" -Device 'c 4:64 rw' -WarningAction SilentlyContinue
        Add-KataCgroupDevice -Path "$Root/pod1/other" -DevicePath /dev/kmsg
        Open-Inside "$Root/pod1/kata_other" /dev/kmsg | Should -Be 'open-ok'
        Open-Inside "$Root/pod1/kata_other" /dev/full | Should -Be 'open-ok' -Because 'Set -Device applied the full sandbox rule set, runtime defaults included'
    }
}

Describe "Set-KataCgroupResource -Cpus on cgroup v2$(if ($NotV2) { " (skipped: $NotV2)" })" -Skip:([bool] $NotV2) {
    BeforeEach {
        $Root = New-KcTestRoot
        $Path = "$Root/pod1/sandbox"
        $CgPath = "$Root/pod1/kata_sandbox"
    }
    AfterEach { Clear-KcTestState }

    It 'a CPU outside the parent''s cpuset.cpus.effective is CpusetNotSubset naming it; an allowed one is written' {
        Skip-KcBecause (Get-KcMissingCpu 0, 1)
        $cg = New-KataCgroup -Path $Path -Cpus 0 -WarningAction SilentlyContinue
        ($cg | Set-KataCgroupResource -Cpus 0-1 -PassThru).Cpus | Should -Be '0-1'
        { $cg | Set-KataCgroupResource -Cpus (Get-KcAbsentCpu) -ErrorAction Stop } |
            Should -Throw -ErrorId 'CpusetNotSubset,KataCgroups.PowerShell.Commands.SetKataCgroupResourceCommand'
        [IO.File]::WriteAllText("$Mount$Root/pod1/cpuset.cpus", '0')
        $err = $null
        try { $cg | Set-KataCgroupResource -Cpus 1 -ErrorAction Stop } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -Be 'CpusetNotSubset,KataCgroups.PowerShell.Commands.SetKataCgroupResourceCommand'
        "$err" | Should -Match ([regex]::Escape("$Mount$Root/pod1/cpuset.cpus.effective is '0', so CPU 1 cannot be given"))
        ($cg | Set-KataCgroupResource -Cpus 0 -PassThru).Cpus | Should -Be '0'
    }
}
