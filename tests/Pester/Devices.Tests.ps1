# The hypervisor devices (semantics §2): b 253:* rwm and every present node of /dev/kvm, /dev/vhost-net… are
# appended to the caller's device rules, which are kept; a missing node is a warning, never an error.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-KcModulePath) -Force

    function Get-DeviceList([string] $CgroupPath) {
        (Get-KcCgroupFile devices $CgroupPath devices.list) -split "`n"
    }
}

Describe 'Hypervisor devices' {
    BeforeEach {
        $Root = New-KcTestRoot
    }
    AfterEach {
        Clear-KcTestState
    }

    It 'allows every device-mapper device (b 253:* rwm) and /dev/kvm in devices.list' {
        $cg = New-KataCgroup -Path "$Root/pod1/sb" -WarningAction SilentlyContinue
        $list = Get-DeviceList $cg.CgroupPath
        $list | Should -Contain 'b 253:* rwm'
        $kvm = Get-KcDeviceNumber /dev/kvm
        $kvm | Should -Not -BeNullOrEmpty -Because 'this machine has /dev/kvm'
        $list | Should -Contain "c $kvm rwm"
        $list | Should -Not -Contain 'a *:* rwm'
    }

    It 'keeps the caller''s own device rules next to the hypervisor devices' {
        $cg = New-KataCgroup -Path "$Root/pod1/sb" -Device 'c 4:64 rw', 'b 7:* r' -WarningAction SilentlyContinue
        $list = Get-DeviceList $cg.CgroupPath
        $list | Should -Contain 'c 4:64 rw'
        $list | Should -Contain 'b 7:* r'
        $list | Should -Contain 'b 253:* rwm'
        $list | Should -Contain "c $(Get-KcDeviceNumber /dev/kvm) rwm"
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
        $cg = New-KataCgroup -Path "$Root/pod1/sb" -WarningVariable warnings -WarningAction SilentlyContinue
        $cg | Should -Not -BeNullOrEmpty
        $vhost = Get-KcDeviceNumber /dev/vhost-net
        if ($vhost) {
            Get-DeviceList $cg.CgroupPath | Should -Contain "c $vhost rwm"
        }
        else {
            @($warnings | ForEach-Object { "$_" }) -match '/dev/vhost-net' | Should -Not -BeNullOrEmpty -Because 'a missing hypervisor device is reported'
            (@($warnings | ForEach-Object { "$_" }) -match '/dev/vhost-net')[0] | Should -Match 'skipped'
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
        $list | Should -Contain "c $(Get-KcDeviceNumber /dev/kvm) rwm"
    }

    It 'Set-KataCgroupResource without -Device leaves devices.list alone' {
        $cg = New-KataCgroup -Path "$Root/pod1/sb" -Device 'c 4:64 rw' -WarningAction SilentlyContinue
        $before = Get-DeviceList $cg.CgroupPath
        Set-KataCgroupResource -Path $cg.Path -PidsLimit 20
        Get-DeviceList $cg.CgroupPath | Should -Be $before
        Get-KcCgroupFile pids $cg.CgroupPath pids.max | Should -BeExactly '20'
    }
}
