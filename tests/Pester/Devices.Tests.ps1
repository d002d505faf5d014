# The hypervisor devices (Kata's Go manager, virtcontainers/pkg/cgroups/manager.go hypervisorDevices()): b 253:* rwm and every present node of /dev/kvm, /dev/vhost-net… are
# appended to the caller's device rules, which are kept; a missing node is a warning, never an error. Which nodes
# this host has comes from its preflight (Test-KataCgroupHost's Device:/dev/* checks), so each test asserts the
# rule where a node exists and the warning where it does not.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-KcModulePath) -Force

    function Get-DeviceList([string] $CgroupPath) {
        (Get-KcCgroupFile devices $CgroupPath devices.list) -split "`n"
    }
    # The rule the module adds for each hypervisor node this host has ('c 10:232 rwm'), from the preflight.
    function Get-HypervisorRule {
        foreach ($c in Get-KcHostCheck | Where-Object { $_.Check -like 'Device:/dev/*' -and $_.Status -eq 'Pass' }) { "$($c.Value) rwm" }
    }
    # The warnings and verbose lines of a create that name $Node (a missing node is a warning once per session, and a
    # verbose line every time).
    function Select-NodeWarning([object[]] $Warnings, [string] $Node) {
        @($Warnings | ForEach-Object { "$_" }) -match [regex]::Escape($Node)
    }
    # Creates a cgroup with -Verbose; returns the cgroup and the warning and verbose messages.
    function New-Noted([string] $Path) {
        $out = New-KataCgroup -Path $Path -Verbose 4>&1 3>&1
        [pscustomobject]@{
            Cgroup = $out | Where-Object { $_ -is [KataCgroups.PowerShell.KataCgroup] }
            Messages = @($out | Where-Object { $_ -is [System.Management.Automation.InformationalRecord] } | ForEach-Object Message)
        }
    }
}

Describe 'Hypervisor devices' {
    BeforeEach {
        $Root = New-KcTestRoot
    }
    AfterEach {
        Clear-KcTestState
    }

    It 'allows every device-mapper device (b 253:* rwm), and /dev/kvm where the host has it (a warning where not)' {
        $r = New-Noted "$Root/pod1/sb"
        $cg, $warnings = $r.Cgroup, $r.Messages
        $list = Get-DeviceList $cg.CgroupPath
        # Kata's rule names device-mapper's usual major whatever the host gives it (the preflight's Device:device-mapper)
        $list | Should -Contain 'b 253:* rwm'
        $kvm = Get-KcHostCheck Device:/dev/kvm
        if ($kvm.Status -eq 'Pass') {
            $list | Should -Contain "$($kvm.Value) rwm"
        }
        else {
            Select-NodeWarning $warnings /dev/kvm | Should -Not -BeNullOrEmpty -Because "this host has no /dev/kvm ($($kvm.Reason)): the create says it skipped the node"
            $cg.MissingIn | Should -BeNullOrEmpty -Because 'a missing node is no error'
        }
        $list | Should -Not -Contain 'a *:* rwm'
    }

    It 'keeps the caller''s own device rules next to the hypervisor devices' {
        $cg = New-KataCgroup -Path "$Root/pod1/sb" -Device 'c 4:64 rw', 'b 7:* r' -WarningAction SilentlyContinue
        $list = Get-DeviceList $cg.CgroupPath
        $list | Should -Contain 'c 4:64 rw'
        $list | Should -Contain 'b 7:* r'
        $list | Should -Contain 'b 253:* rwm'
        foreach ($rule in Get-HypervisorRule) { $list | Should -Contain $rule }
        $cg.Devices | Should -Contain 'c 4:64 rw'
    }

    It 'keeps the caller''s rules given as OCI JSON through -Resources' {
        $json = '{"devices":[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":4,"minor":65,"access":"r"}]}'
        $cg = New-KataCgroup -Path "$Root/pod1/sb" -Resources $json -WarningAction SilentlyContinue
        $list = Get-DeviceList $cg.CgroupPath
        $list | Should -Contain 'c 4:65 r'
        $list | Should -Contain 'b 253:* rwm'
    }

    It 'warns about a missing /dev/vhost-net and still creates the cgroup (allows it when present)' {
        $r = New-Noted "$Root/pod1/sb"
        $cg, $warnings = $r.Cgroup, $r.Messages
        $cg | Should -Not -BeNullOrEmpty
        $vhost = Get-KcHostCheck Device:/dev/vhost-net
        if ($vhost.Status -eq 'Pass') {
            Get-DeviceList $cg.CgroupPath | Should -Contain "$($vhost.Value) rwm"
        }
        else {
            Select-NodeWarning $warnings /dev/vhost-net | Should -Not -BeNullOrEmpty -Because 'a missing hypervisor device is reported'
            @(Select-NodeWarning $warnings /dev/vhost-net)[0] | Should -Match 'skipped'
            $cg.MissingIn | Should -BeNullOrEmpty
        }
    }

    It 'Set-KataCgroupResource -Device replaces the caller''s rules and keeps the hypervisor devices' {
        $cg = New-KataCgroup -Path "$Root/pod1/sb" -Device 'c 4:64 rw' -WarningAction SilentlyContinue
        Set-KataCgroupResource -Path $cg.Path -Device 'c 4:66 rw' -WarningAction SilentlyContinue
        $list = Get-DeviceList $cg.CgroupPath
        $list | Should -Contain 'c 4:66 rw'
        $list | Should -Not -Contain 'c 4:64 rw'
        $list | Should -Contain 'b 253:* rwm'
        foreach ($rule in Get-HypervisorRule) { $list | Should -Contain $rule }
    }

    It 'Set-KataCgroupResource without -Device leaves devices.list alone' {
        $cg = New-KataCgroup -Path "$Root/pod1/sb" -Device 'c 4:64 rw' -WarningAction SilentlyContinue
        $before = Get-DeviceList $cg.CgroupPath
        Set-KataCgroupResource -Path $cg.Path -PidsLimit 20
        Get-DeviceList $cg.CgroupPath | Should -Be $before
        Get-KcCgroupFile pids $cg.CgroupPath pids.max | Should -BeExactly '20'
    }
}
