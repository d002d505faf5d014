# Bad input fails with a clear, pinned error id (Should -Throw -ErrorId '<Id>,<cmdlet class>'), writes nothing
# and leaves nothing behind: after each case no directory of the test root exists in any hierarchy.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-KcModulePath) -Force
    $ns = 'KataCgroups.PowerShell.Commands'
}

Describe 'Malformed and escaping paths' {
    BeforeEach {
        $Root = New-KcTestRoot
    }
    AfterEach {
        # nothing may be left behind, whatever the cmdlet was
        try { Get-KcExistingDirectory $Root -IncludeVc | Should -BeNullOrEmpty }
        finally { Clear-KcTestState }
    }

    It '<Cmdlet> rejects a path with a NUL character: InvalidCgroupPath' -ForEach @(
        @{ Cmdlet = 'New-KataCgroup'; Class = 'NewKataCgroupCommand'; Run = { param($p) New-KataCgroup -Path $p -MemoryLimit 256MB -ErrorAction Stop } }
        @{ Cmdlet = 'Set-KataCgroupResource'; Class = 'SetKataCgroupResourceCommand'; Run = { param($p) Set-KataCgroupResource -Path $p -MemoryLimit 256MB -ErrorAction Stop } }
        @{ Cmdlet = 'Add-KataCgroupProcess'; Class = 'AddKataCgroupProcessCommand'; Run = { param($p) Add-KataCgroupProcess -Path $p -Id (Start-KcSleep).Id -ErrorAction Stop } }
        @{ Cmdlet = 'Get-KataCgroup'; Class = 'GetKataCgroupCommand'; Run = { param($p) Get-KataCgroup -Path $p -ErrorAction Stop } }
        @{ Cmdlet = 'Get-KataCgroupPath'; Class = 'GetKataCgroupPathCommand'; Run = { param($p) Get-KataCgroupPath -Path $p -ErrorAction Stop } }
        @{ Cmdlet = 'Remove-KataCgroup'; Class = 'RemoveKataCgroupCommand'; Run = { param($p) Remove-KataCgroup -Path $p -ErrorAction Stop } }
    ) {
        $bad = "$Root/pod1/sand`0box"
        { & $Run $bad } | Should -Throw -ErrorId "InvalidCgroupPath,$ns.$Class"
    }

    It 'the error names the bad character instead of printing it' {
        $err = $null
        New-KataCgroup -Path "$Root/a`0b" -ErrorVariable err -ErrorAction SilentlyContinue -WarningAction SilentlyContinue
        @($err).Count | Should -Be 1
        $err[0].Exception.Message | Should -Match '\\x00'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
    }

    It 'rejects other control characters (newline) too' {
        { New-KataCgroup -Path "$Root/pod1`n/etc" -ErrorAction Stop -WarningAction SilentlyContinue } |
            Should -Throw -ErrorId "InvalidCgroupPath,$ns.NewKataCgroupCommand"
    }

    It 'rejects a path component longer than NAME_MAX' {
        { New-KataCgroup -Path "$Root/$('x' * 300)" -ErrorAction Stop -WarningAction SilentlyContinue } |
            Should -Throw -ErrorId "InvalidCgroupPath,$ns.NewKataCgroupCommand"
    }

    It 'the relative path ''../../etc'' stays under /vc: CgroupPath /vc/kata_etc' {
        $rows = @(Get-KataCgroupPath -Path '../../etc')
        $rows.CgroupPath | Select-Object -Unique | Should -BeExactly '/vc/kata_etc'
        foreach ($row in $rows) {
            $row.Directory | Should -BeExactly ((Get-KcControllerMount $row.Controller) + '/vc/kata_etc')
        }
    }

    It 'an absolute path cannot climb above the hierarchy root: ''/../../etc'' is /kata_etc' {
        (Get-KataCgroupPath -Path '/../../etc' -Controller memory).CgroupPath | Should -BeExactly '/kata_etc'
    }

    It 'New-KataCgroup with an escaping relative path creates the cgroup under /vc and nowhere else' {
        Register-KcVcBase
        # ../../../<root>/sb climbs out of /vc lexically; Kata cleans it against "/" first, so it lands in /vc<root>
        $cg = New-KataCgroup -Path "../../..$Root/sb" -WarningAction SilentlyContinue
        $cg.CgroupPath | Should -BeExactly "/vc$Root/kata_sb"
        foreach ($dir in Get-KcCgroupDirectory "/vc$Root/kata_sb") { $dir | Should -Exist }
        Get-KcExistingDirectory $Root | Should -BeNullOrEmpty -Because 'nothing may escape /vc'
        Get-KataCgroup -Root "/vc$Root" | ForEach-Object CgroupPath | Should -Be "/vc$Root/kata_sb"
        # without -Root, Get-KataCgroup searches Kata's /vc base
        Get-KataCgroup | Where-Object CgroupPath -Like "/vc$Root/*" | ForEach-Object CgroupPath | Should -Be "/vc$Root/kata_sb"
        $cg | Remove-KataCgroup
        Clear-KcTestState   # removes /vc<root>, and /vc itself when this test made it
    }

    It 'Get-KataCgroupPath resolves ''<Given>'' to <Expected> (Kata path rules)' -ForEach @(
        @{ Given = ''; Expected = '/kata_vc' }
        @{ Given = 'foo/bar'; Expected = '/vc/foo/kata_bar' }
        @{ Given = '/kubepods/pod1/abc'; Expected = '/kubepods/pod1/kata_abc' }
        @{ Given = '//kubepods/./pod1//abc/'; Expected = '/kubepods/pod1/kata_abc' }
        @{ Given = 'a/../../b'; Expected = '/vc/kata_b' }
    ) {
        $rows = @(Get-KataCgroupPath -Path $Given)
        $rows.CgroupPath | Select-Object -Unique | Should -BeExactly $Expected
        $rows | Where-Object Exists | Should -BeNullOrEmpty -Because 'resolving a path creates nothing'
    }

    It 'a systemd-form path with ''-'' in the slice (<Given>) is recognised as systemd form, not mangled into a directory' -ForEach @(
        @{ Given = 'kctest-besteffort.slice:cri-containerd:abc' }
        @{ Given = 'kctest-a-b.slice:kctest:sb' }
    ) {
        # Resolving it names the transient scope in the expanded slice (not a kata_ directory); nothing is created.
        $rows = @(Get-KataCgroupPath -Path $Given)
        $parts = $Given -split ':'
        $rows.CgroupPath | Select-Object -Unique | Should -Match ([regex]::Escape("/$($parts[1])-$($parts[2]).scope") + '$')
        $rows.CgroupPath | Select-Object -Unique | Should -Not -Match 'kata_'
        $rows | Where-Object Exists | Should -BeNullOrEmpty
    }

    It 'a systemd-form path with ''/'' in a part is malformed: MalformedSystemdPath' {
        { New-KataCgroup -Path 'kctest/x.slice:kctest:sb' -WhatIf -ErrorAction Stop -WarningAction SilentlyContinue } |
            Should -Throw -ErrorId "MalformedSystemdPath,$ns.NewKataCgroupCommand"
    }

    It 'a systemd-form path where no systemd answers is a clear SystemdUnavailable error, and nothing is made' {
        $env:DBUS_SYSTEM_BUS_ADDRESS = 'unix:path=/nonexistent/kctest-bus'
        try {
            { New-KataCgroup -Path 'kctest.slice:kctest:sb' -ErrorAction Stop -WarningAction SilentlyContinue } |
                Should -Throw -ErrorId "SystemdUnavailable,$ns.NewKataCgroupCommand"
        }
        finally { Remove-Item Env:DBUS_SYSTEM_BUS_ADDRESS }
        Get-KcExistingDirectory '/kctest.slice' | Should -BeNullOrEmpty
    }

    It 'Get-KataCgroup -Root rejects a control character: InvalidCgroupPath (terminating)' {
        { Get-KataCgroup -Root "$Root`0" } | Should -Throw -ErrorId "InvalidCgroupPath,$ns.GetKataCgroupCommand"
    }
}

Describe 'Bad resource values' {
    BeforeEach {
        $Root = New-KcTestRoot
        $Path = "$Root/pod1/sb"
    }
    AfterEach {
        try { Get-KcExistingDirectory $Root | Should -BeNullOrEmpty }
        finally { Clear-KcTestState }
    }

    It 'New-KataCgroup <Parameters> fails with <Id> and creates nothing' -ForEach @(
        @{ Parameters = '-MemoryLimit -5'; Splat = @{ MemoryLimit = -5 }; Id = 'InvalidResourceValue' }
        @{ Parameters = '-MemoryLimit 1'; Splat = @{ MemoryLimit = 1 }; Id = 'InvalidResourceValue' }
        @{ Parameters = '-MemoryReservation -2'; Splat = @{ MemoryReservation = -2 }; Id = 'InvalidResourceValue' }
        @{ Parameters = '-CpuShares 1'; Splat = @{ CpuShares = 1 }; Id = 'InvalidResourceValue' }
        @{ Parameters = '-CpuShares -1'; Splat = @{ CpuShares = -1 }; Id = 'InvalidResourceValue' }
        @{ Parameters = '-CpuShares 999999999'; Splat = @{ CpuShares = 999999999 }; Id = 'InvalidResourceValue' }
        @{ Parameters = '-CpuPeriod 10'; Splat = @{ CpuPeriod = 10 }; Id = 'InvalidResourceValue' }
        @{ Parameters = '-CpuQuota 5'; Splat = @{ CpuQuota = 5 }; Id = 'InvalidResourceValue' }
        @{ Parameters = '-BlkioWeight 5'; Splat = @{ BlkioWeight = 5 }; Id = 'InvalidResourceValue' }
        @{ Parameters = '-BlkioWeight 70000'; Splat = @{ BlkioWeight = 70000 }; Id = 'InvalidResourceValue' }
        @{ Parameters = '-Cpus ''0-a'''; Splat = @{ Cpus = '0-a' }; Id = 'InvalidResourceValue' }
        @{ Parameters = '-Mems ''0;1'''; Splat = @{ Mems = '0;1' }; Id = 'InvalidResourceValue' }
        @{ Parameters = '-Device ''x 1:2 rwm'' (unknown type)'; Splat = @{ Device = 'x 1:2 rwm' }; Id = 'InvalidDeviceRule' }
        @{ Parameters = '-Device ''c 1:2 rwx'''; Splat = @{ Device = 'c 1:2 rwx' }; Id = 'InvalidDeviceRule' }
        @{ Parameters = '-Device ''c one:2 rw'''; Splat = @{ Device = 'c one:2 rw' }; Id = 'InvalidDeviceRule' }
    ) {
        { New-KataCgroup -Path $Path @Splat -ErrorAction Stop -WarningAction SilentlyContinue } |
            Should -Throw -ErrorId "$Id,$ns.NewKataCgroupCommand"
    }

    It 'the error message names the value: -MemoryLimit -5' {
        # Resource values are invocation-wide input: a bad one is a terminating error (STYLE rule 4).
        $err = $null
        try { New-KataCgroup -Path $Path -MemoryLimit -5 -WarningAction SilentlyContinue } catch { $err = $_ }
        $err | Should -Not -BeNullOrEmpty
        $err.Exception.Message | Should -Match 'memory\.limit.*-5'
        $err.CategoryInfo.Category | Should -Be 'InvalidArgument'
    }

    It '-MemorySwappiness 101 is refused by parameter validation' {
        { New-KataCgroup -Path $Path -MemorySwappiness 101 -ErrorAction Stop } |
            Should -Throw -ErrorId "ParameterArgumentValidationError,$ns.NewKataCgroupCommand"
    }

    It '-MemoryLimit ''lots'' is refused by parameter binding, naming the accepted forms' {
        $err = { New-KataCgroup -Path $Path -MemoryLimit 'lots' -ErrorAction Stop } |
            Should -Throw -ErrorId "ParameterArgumentTransformationError,$ns.NewKataCgroupCommand" -PassThru
        foreach ($form in '256MB', 'max', 'unlimited', '-1') { $err.Exception.Message | Should -BeLike "*$form*" }
        { New-KataCgroup -Path $Path -PidsLimit 'many' -ErrorAction Stop } |
            Should -Throw -ErrorId "ParameterArgumentTransformationError,$ns.NewKataCgroupCommand" -ExpectedMessage "*'many' is not a limit*max*"
    }

    It 'an unknown device type in OCI JSON (-Resources) fails with InvalidDeviceRule' {
        $json = '{"devices":[{"allow":true,"type":"x","major":1,"minor":2,"access":"rwm"}]}'
        { New-KataCgroup -Path $Path -Resources $json -ErrorAction Stop -WarningAction SilentlyContinue } |
            Should -Throw -ErrorId "InvalidDeviceRule,$ns.NewKataCgroupCommand"
    }

    It 'a throttle rule for a block device this machine does not have fails with CgroupWriteFailed and rolls back' {
        # 4095:1048575 is the largest device number there is and no driver uses it: the kernel refuses the rule
        # after the directories were made, so this checks the rollback.
        $json = '{"blockIO":{"throttleReadBpsDevice":[{"major":4095,"minor":1048575,"rate":1048576}]}}'
        { New-KataCgroup -Path $Path -Resources $json -ErrorAction Stop -WarningAction SilentlyContinue } |
            Should -Throw -ErrorId "CgroupWriteFailed,$ns.NewKataCgroupCommand"
    }

    It 'a cpuset this machine does not have fails with CpusetNotSubset before anything is created' {
        $cpus = [System.IO.File]::ReadAllText('/sys/devices/system/cpu/possible').Trim()
        $beyond = [int] ($cpus -split '[-,]')[-1] + 1
        { New-KataCgroup -Path $Path -Cpus "$beyond" -ErrorAction Stop -WarningAction SilentlyContinue } |
            Should -Throw -ErrorId "CpusetNotSubset,$ns.NewKataCgroupCommand"
    }

    It 'the OCI "unified" map is refused on a v1 host: UnsupportedOnHost' {
        Skip-KcBecause (Get-KcMissingCgroupMode Legacy, Hybrid)   # a v2 host writes the map (V2/CgroupV2.Tests.ps1)
        { New-KataCgroup -Path $Path -Resources '{"unified":{"memory.high":"100M"}}' -ErrorAction Stop -WarningAction SilentlyContinue } |
            Should -Throw -ErrorId "UnsupportedOnHost,$ns.NewKataCgroupCommand"
    }
}

Describe 'Bad values on an existing cgroup write nothing' {
    BeforeAll {
        $Root = New-KcTestRoot
        $Path = "$Root/pod1/sb"
        $Cg = New-KataCgroup -Path $Path -MemoryLimit 256MB -CpuShares 1024 -Device 'c 4:64 rw' -WarningAction SilentlyContinue
        $Snapshot = {
            @{
                Memory  = Get-KcCgroupFile memory $Cg.CgroupPath memory.limit_in_bytes
                Shares  = Get-KcCgroupFile cpu $Cg.CgroupPath cpu.shares
                Pids    = Get-KcCgroupFile pids $Cg.CgroupPath pids.max
                Devices = Get-KcCgroupFile devices $Cg.CgroupPath devices.list
            }
        }
        $Before = & $Snapshot
    }
    AfterAll {
        Clear-KcTestState
    }
    AfterEach {
        $after = & $Snapshot
        foreach ($k in $Before.Keys) { $after[$k] | Should -BeExactly $Before[$k] -Because "$k must not change" }
    }

    It 'Set-KataCgroupResource <Parameters> fails with <Id> and changes no file' -ForEach @(
        @{ Parameters = '-CpuShares 512 -MemoryLimit -5'; Splat = @{ CpuShares = 512; MemoryLimit = -5 }; Id = 'InvalidResourceValue' }
        @{ Parameters = '-PidsLimit 10 -CpuShares 1'; Splat = @{ PidsLimit = 10; CpuShares = 1 }; Id = 'InvalidResourceValue' }
        @{ Parameters = '-MemoryLimit 512MB -Device ''q 1:1 r'''; Splat = @{ MemoryLimit = 512MB; Device = 'q 1:1 r' }; Id = 'InvalidDeviceRule' }
        @{ Parameters = '-MemoryLimit 512MB -Resources (invalid JSON)'; Splat = @{ MemoryLimit = 512MB; Resources = '{"memory": {"limit": ' }; Id = 'InvalidOciConfig' }
    ) {
        { Set-KataCgroupResource -Path $Path @Splat -ErrorAction Stop -WarningAction SilentlyContinue } |
            Should -Throw -ErrorId "$Id,$ns.SetKataCgroupResourceCommand"
    }

    It 'New-KataCgroup on an existing cgroup fails with CgroupAlreadyExists' {
        { New-KataCgroup -Path $Path -MemoryLimit 512MB -ErrorAction Stop -WarningAction SilentlyContinue } |
            Should -Throw -ErrorId "CgroupAlreadyExists,$ns.NewKataCgroupCommand"
    }

    It 'Add-KataCgroupProcess of a kernel thread (kthreadd, pid 2) fails with ProcessMoveFailed saying why, and moves nothing' {
        # kthreadd is pid 2 in the initial PID namespace; in another one pid 2 is someone else, or nobody.
        $comm = try { [System.IO.File]::ReadAllText('/proc/2/comm').Trim() } catch { 'no process' }
        Skip-KcBecause $(if ($comm -ne 'kthreadd') { "host lacks kthreadd at pid 2 (pid 2 is $comm here: a PID namespace)" })
        $before = Get-Content /proc/2/cgroup
        $err = $null
        Add-KataCgroupProcess -Path $Path -Id 2 -ErrorVariable err -ErrorAction SilentlyContinue -WarningAction SilentlyContinue
        @($err).Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -Be "ProcessMoveFailed,$ns.AddKataCgroupProcessCommand"
        $err[0].Exception.Message | Should -Match 'kernel thread'
        Get-Content /proc/2/cgroup | Should -Be $before
    }

    It 'Add-KataCgroupProcess -Id <Id> fails with InvalidProcessId' -ForEach @(@{ Id = 0 }, @{ Id = -1 }) {
        { Add-KataCgroupProcess -Path $Path -Id $Id -ErrorAction Stop } |
            Should -Throw -ErrorId "InvalidProcessId,$ns.AddKataCgroupProcessCommand"
        Get-Content ((Get-KcControllerMount memory) + $Cg.CgroupPath + '/cgroup.procs') | Should -BeNullOrEmpty
    }
}

Describe 'Cgroups that do not exist' {
    BeforeEach {
        $Root = New-KcTestRoot
        $Path = "$Root/pod1/missing"
    }
    AfterEach {
        try { Get-KcExistingDirectory $Root | Should -BeNullOrEmpty }
        finally { Clear-KcTestState }
    }

    It '<Cmdlet> on a missing cgroup fails with CgroupNotFound' -ForEach @(
        @{ Cmdlet = 'Set-KataCgroupResource'; Class = 'SetKataCgroupResourceCommand'; Run = { param($p) Set-KataCgroupResource -Path $p -MemoryLimit 256MB -ErrorAction Stop } }
        @{ Cmdlet = 'Add-KataCgroupProcess'; Class = 'AddKataCgroupProcessCommand'; Run = { param($p) Add-KataCgroupProcess -Path $p -Id (Start-KcSleep).Id -ErrorAction Stop } }
        @{ Cmdlet = 'Get-KataCgroup'; Class = 'GetKataCgroupCommand'; Run = { param($p) Get-KataCgroup -Path $p -ErrorAction Stop } }
        @{ Cmdlet = 'Remove-KataCgroup'; Class = 'RemoveKataCgroupCommand'; Run = { param($p) Remove-KataCgroup -Path $p -ErrorAction Stop } }
    ) {
        { & $Run $Path } | Should -Throw -ErrorId "CgroupNotFound,$ns.$Class"
    }

    It 'Get-KataCgroupPath still answers (read-only) with Exists = false' {
        $rows = @(Get-KataCgroupPath -Path $Path)
        $rows.Count | Should -BeGreaterThan 0
        $rows.Exists | Should -Not -Contain $true
    }

    It 'Get-KataCgroup -Root of a missing root lists nothing' {
        @(Get-KataCgroup -Root $Root).Count | Should -Be 0
    }
}

Describe 'Invalid JSON' {
    BeforeEach {
        $Root = New-KcTestRoot
        $Path = "$Root/pod1/sb"
    }
    AfterEach {
        try { Get-KcExistingDirectory $Root | Should -BeNullOrEmpty }
        finally { Clear-KcTestState }
    }

    It '-Resources <Case> fails with InvalidOciConfig' -ForEach @(
        @{ Case = 'truncated'; Json = '{"memory": {"limit": ' }
        @{ Case = 'not an object'; Json = '[1, 2]' }
        @{ Case = 'wrong type'; Json = '{"memory": {"limit": "a lot"}}' }
        @{ Case = 'number out of range'; Json = '{"blockIO": {"weight": 70000}}' }
    ) {
        { New-KataCgroup -Path $Path -Resources $Json -ErrorAction Stop -WarningAction SilentlyContinue } |
            Should -Throw -ErrorId "InvalidOciConfig,$ns.NewKataCgroupCommand"
    }

    It 'a device rule <Case> fails with InvalidDeviceRule and creates nothing' -ForEach @(
        @{ Case = 'without access'; Json = '{"devices": [{"allow": true, "type": "c", "major": 1, "minor": 3}]}'; Why = 'access is empty' }
        @{ Case = 'with an empty access'; Json = '{"devices": [{"allow": true, "type": "c", "major": 1, "minor": 3, "access": ""}]}'; Why = 'access is empty' }
        @{ Case = 'that punches a hole in a wildcard deny (allow a; deny c *:* rwm; the default c 1:3)'
            Json = '{"devices": [{"allow": true, "access": "rwm"}, {"allow": false, "type": "c", "access": "rwm"}]}'; Why = 'punch a hole' }
        @{ Case = 'that punches a hole before Kata''s b 253:* (allow a; deny b *:* rw)'
            Json = '{"devices": [{"allow": true, "access": "rwm"}, {"allow": false, "type": "b", "access": "rw"}]}'; Why = 'punch a hole' }
    ) {
        $err = { New-KataCgroup -Path $Path -Resources $Json -ErrorAction Stop -WarningAction SilentlyContinue } |
            Should -Throw -ErrorId "InvalidDeviceRule,$ns.NewKataCgroupCommand" -PassThru
        $err.Exception.Message | Should -Match $Why
    }

    It '-OciConfig <Case> fails with <Id>' -ForEach @(
        @{ Case = 'with invalid JSON'; Text = '{"ociVersion": "1.2.0", "linux": { "resources": { "memory": { "limit": 1 } }'; Id = 'InvalidOciConfig' }
        @{ Case = 'with a non-string cgroupsPath'; Text = '{"linux": {"cgroupsPath": 42}}'; Id = 'InvalidOciConfig' }
        @{ Case = 'with a non-object linux'; Text = '{"linux": "yes"}'; Id = 'InvalidOciConfig' }
        @{ Case = 'that is empty'; Text = ''; Id = 'InvalidOciConfig' }
        @{ Case = 'that does not exist'; Text = $null; Id = 'OciConfigNotFound' }
    ) {
        $file = Join-Path $TestDrive "config-$([guid]::NewGuid().ToString('n')).json"
        if ($null -ne $Text) { Set-Content -LiteralPath $file -Value $Text -NoNewline }
        { New-KataCgroup -Path $Path -OciConfig $file -ErrorAction Stop -WarningAction SilentlyContinue } |
            Should -Throw -ErrorId "$Id,$ns.NewKataCgroupCommand"
    }

    It '-OciConfig with invalid JSON and no -Path fails with InvalidOciConfig (cgroupsPath never used)' {
        $file = Join-Path $TestDrive 'broken.json'
        Set-Content -LiteralPath $file -Value "{`"linux`": {`"cgroupsPath`": `"$Path`", `"resources`": {`"memory`": {`"limit`": }}}}"
        { New-KataCgroup -OciConfig $file -ErrorAction Stop -WarningAction SilentlyContinue } |
            Should -Throw -ErrorId "InvalidOciConfig,$ns.NewKataCgroupCommand"
    }

    It '-OciConfig without linux.cgroupsPath and without -Path fails with NoCgroupPath' {
        $file = Join-Path $TestDrive 'nopath.json'
        Set-Content -LiteralPath $file -Value '{"ociVersion": "1.2.0", "linux": {"resources": {"pids": {"limit": 5}}}}'
        { New-KataCgroup -OciConfig $file -ErrorAction Stop -WarningAction SilentlyContinue } |
            Should -Throw -ErrorId "NoCgroupPath,$ns.NewKataCgroupCommand"
    }
}

Describe 'Nothing is written outside the hierarchy, even through a mount planted inside it' {
    # A bind mount over a cgroup directory would redirect writes anywhere (here: a decoy directory with files named
    # like cgroup files). Every open, mkdir and rmdir resolves beneath the hierarchy's mount with
    # RESOLVE_NO_XDEV, so crossing into the planted mount fails. The mount is made in a private mount namespace
    # (unshare -m), where the module runs too: it vanishes with the namespace, whatever happens.
    BeforeEach {
        $Root = New-KcTestRoot
        $Decoy = "/run/kc-decoy-" + [guid]::NewGuid().ToString('n').Substring(0, 8)
        $null = New-Item -ItemType Directory $Decoy
        foreach ($f in 'pids.max', 'cgroup.procs', 'tasks') { Set-Content -LiteralPath "$Decoy/$f" -Value 'untouched' -NoNewline }
        $null = New-KataCgroup -Path "$Root/pod/a" -WarningAction SilentlyContinue
    }
    AfterEach {
        try {
            @(Get-ChildItem -LiteralPath $Decoy -Force).Name | Sort-Object | Should -Be @('cgroup.procs', 'pids.max', 'tasks')
            foreach ($f in 'pids.max', 'cgroup.procs', 'tasks') { Get-Content -Raw -LiteralPath "$Decoy/$f" | Should -Be 'untouched' }
        }
        finally {
            Remove-Item -Recurse -Force -LiteralPath $Decoy -ErrorAction Ignore
            Clear-KcTestState
        }
    }

    It 'Set, New below it, Add and Remove all fail with an error that says so, and the decoy is untouched' {
        $pidsDir = (Get-KataCgroupPath -Path "$Root/pod/a" | Where-Object Controller -EQ 'pids').Directory
        $script = @"
`$ErrorActionPreference = 'Continue'
Import-Module '$(Get-KcModulePath)'
mount --bind '$Decoy' '$pidsDir'
`$errors = @()
Set-KataCgroupResource -Path '$Root/pod/a' -PidsLimit 5 -ErrorVariable +errors -ErrorAction SilentlyContinue
New-KataCgroup -Path '$Root/pod/kata_a/b' -ErrorVariable +errors -ErrorAction SilentlyContinue -WarningAction SilentlyContinue
`$p = [int](sh -c 'sleep 300 0.0271828 </dev/null >/dev/null 2>&1 & echo `$!')
Add-KataCgroupProcess -Path '$Root/pod/a' -Id `$p -ErrorVariable +errors -ErrorAction SilentlyContinue -WarningAction SilentlyContinue
Stop-Process -Id `$p
'KCRESULT:' + (@{ Ids = @(`$errors | ForEach-Object { `$_.FullyQualifiedErrorId }); Messages = @(`$errors | ForEach-Object { `$_.Exception.Message }) } | ConvertTo-Json -Compress)
"@
        $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($script))
        $exe = [Environment]::ProcessPath
        $pre = @(if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' })
        $out = & unshare --mount --propagation private -- $exe @pre -NoProfile -NonInteractive -EncodedCommand $encoded
        $line = @($out | Where-Object { $_ -like 'KCRESULT:*' })[-1]
        $line | Should -Not -BeNullOrEmpty -Because ($out -join "`n")
        $r = $line.Substring(9) | ConvertFrom-Json
        $r.Ids | Should -Contain "CgroupWriteFailed,$ns.SetKataCgroupResourceCommand"
        $r.Ids | Should -Contain "CgroupCreateFailed,$ns.NewKataCgroupCommand"
        @($r.Messages | Where-Object { $_ -like '*leaves its cgroup hierarchy*' }).Count | Should -BeGreaterOrEqual 2
        # outside the namespace the mount never existed, and the cgroup is still a cgroup
        Get-KcCgroupFile pids "$Root/pod/kata_a" pids.max | Should -Be 'max'
    }
}

# A path a user mistypes or a hostile one: a FIFO (open would wait for a writer forever), a device that never ends,
# a file far larger than any config, a directory, a binary file (and a symlink to it), JSON nested past the depth limit.
# Each runs in a child pwsh so that a hang shows as the child still running after a generous bound (killed by its PID),
# never as a stuck suite. The child reports its peak resident memory (VmHWM, proc(5)) as it ends, and each case is
# compared with a child that read a tiny valid config: reading /dev/zero or the 100 MB file would add at least 100 MB.
Describe '-OciConfig that is not a config file' {
    BeforeAll {
        $script:Dir = Join-Path ([System.IO.Path]::GetTempPath()) "kcbadcfg-$([guid]::NewGuid().ToString('n'))"
        [void][System.IO.Directory]::CreateDirectory($Dir)
        $global:KcTestState.AllTempDirs.Add($Dir); $global:KcTestState.TempDirs.Add($Dir)
        & mkfifo (Join-Path $Dir 'fifo.json'); if ($LASTEXITCODE) { throw 'mkfifo failed' }
        # 100 MB of JSON-looking text, sparse: a real file size without 100 MB of disk
        $big = [System.IO.File]::Create((Join-Path $Dir 'big.json')); $big.SetLength(100MB); $big.Dispose()
        [System.IO.File]::WriteAllBytes((Join-Path $Dir 'secret.bin'), [byte[]](0x53, 0x45, 0x43, 0x52, 0x45, 0x54, 0x00, 0xff))
        [void][System.IO.File]::CreateSymbolicLink((Join-Path $Dir 'link.json'), (Join-Path $Dir 'secret.bin'))
        [System.IO.File]::WriteAllText((Join-Path $Dir 'deep.json'), '{"linux":{"resources":{"memory":' + ('[' * 200) + (']' * 200) + '}}}')
        [System.IO.File]::WriteAllText((Join-Path $Dir 'tiny.json'), '{"linux":{"resources":{"pids":{"limit":5}}}}')
        $script:Exe = [Environment]::ProcessPath
        $script:Pre = @(if ([System.IO.Path]::GetFileNameWithoutExtension($Exe) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' })

        # Runs New-KataCgroup -OciConfig $Path in a child pwsh; returns whether it ended, the error id and message,
        # and the child's VmHWM in bytes.
        function Invoke-KcOciConfigChild([string] $Path, [string] $Root) {
            $script = "Import-Module '$(Get-KcModulePath)'; `$r = try { New-KataCgroup -Path '$Root/pod1/sb' -OciConfig '$Path' -ErrorAction Stop -WarningAction SilentlyContinue | Out-Null; 'none|' } catch { `$_.FullyQualifiedErrorId + '|' + `$_.Exception.Message }; " +
                "'KCHWM:' + ((Get-Content /proc/self/status | Where-Object { `$_ -like 'VmHWM:*' }) -replace '\D', ''); 'KCRESULT:' + `$r"
            $psi = [System.Diagnostics.ProcessStartInfo]::new($Exe)
            foreach ($a in $Pre + @('-NoProfile', '-NonInteractive', '-Command', $script)) { $psi.ArgumentList.Add($a) }
            $psi.UseShellExecute = $false; $psi.RedirectStandardOutput = $true; $psi.RedirectStandardError = $true
            $child = [System.Diagnostics.Process]::Start($psi)
            Register-KcProcess $child
            $out = $child.StandardOutput.ReadToEndAsync()
            # a liveness bound, not a measurement: the command must end; 120 s covers a slow start of pwsh
            $ended = $child.WaitForExit(120000)
            if (-not $ended) { Stop-KcProcess -Id $child.Id; return @{ Ended = $false } }
            $lines = $out.Result -split "`n"
            $line = $lines | Where-Object { $_.StartsWith('KCRESULT:') } | Select-Object -First 1
            $hwm = $lines | Where-Object { $_.StartsWith('KCHWM:') } | Select-Object -First 1
            $id, $message = if ($line) { $line.Substring('KCRESULT:'.Length).Split('|', 2) } else { $null, ($out.Result + $child.StandardError.ReadToEnd()) }
            @{ Ended = $true; Id = $id; Message = $message; Hwm = $(if ($hwm) { [long] $hwm.Substring(6) * 1KB }) }
        }
        # the same child reading a valid config of a few bytes: what a pwsh that imports the module and creates one
        # cgroup takes anyway (its test root goes with Clear-KcTestState)
        $script:Baseline = Invoke-KcOciConfigChild (Join-Path $Dir 'tiny.json') (New-KcTestRoot)
    }
    AfterAll {
        Remove-Item -LiteralPath $script:Dir -Recurse -Force -ErrorAction Ignore
        [void]$global:KcTestState.TempDirs.Remove($script:Dir)
        Clear-KcTestState
    }

    It 'the baseline child reads a tiny valid config without an error and reports its peak memory' {
        $Baseline.Ended | Should -BeTrue
        $Baseline.Id | Should -Be 'none'
        $Baseline.Hwm | Should -BeGreaterThan 0
    }

    It '<Case> ends with <Id>, naming why, without echoing its content, in bounded memory, and creates nothing' -ForEach @(
        @{ Case = 'a FIFO'; File = 'fifo.json'; Id = 'InvalidOciConfig'; Why = 'is a FIFO, not a regular file' }
        @{ Case = '/dev/zero'; File = '/dev/zero'; Id = 'InvalidOciConfig'; Why = 'is a character device, not a regular file' }
        @{ Case = '/dev/urandom'; File = '/dev/urandom'; Id = 'InvalidOciConfig'; Why = 'is a character device, not a regular file' }
        @{ Case = 'a 100 MB file'; File = 'big.json'; Id = 'InvalidOciConfig'; Why = 'larger than 16 MiB' }
        @{ Case = 'a directory'; File = '.'; Id = 'InvalidOciConfig'; Why = 'is a directory, not a regular file' }
        @{ Case = 'a binary file'; File = 'secret.bin'; Id = 'InvalidOciConfig'; Why = 'not valid JSON at line 1, byte 1' }
        @{ Case = 'a symlink to a binary file'; File = 'link.json'; Id = 'InvalidOciConfig'; Why = 'not valid JSON at line 1, byte 1' }
        @{ Case = 'JSON nested 200 deep'; File = 'deep.json'; Id = 'InvalidOciConfig'; Why = 'nested deeper than 32 levels' }
    ) {
        $path = if ($File.StartsWith('/')) { $File } else { Join-Path $Dir $File }
        $root = New-KcTestRoot
        $r = Invoke-KcOciConfigChild $path $root
        $r.Ended | Should -BeTrue -Because "New-KataCgroup -OciConfig $Case must not hang"
        $r.Id | Should -Be "$Id,KataCgroups.PowerShell.Commands.NewKataCgroupCommand" -Because $r.Message
        $r.Message | Should -Match ([regex]::Escape($Why))
        $r.Message | Should -Not -MatchExactly 'SECRET' -Because 'the content is never echoed (the file name is lower case)'
        # Bounded memory: the refusal costs no more than the baseline. 64 MiB of slack covers the run-to-run spread of
        # a pwsh's peak; reading the 100 MB file would not fit, nor /dev/zero read without a bound (gigabytes).
        $r.Hwm | Should -BeGreaterThan 0
        $r.Hwm | Should -BeLessThan ($Baseline.Hwm + 64MB) -Because "peak memory $($r.Hwm) vs baseline $($Baseline.Hwm)"
        Get-KcExistingDirectory $root | Should -BeNullOrEmpty
    }

    It 'a -Resources hashtable nested past 32 levels is InvalidOciConfig, not an ArgumentException' {
        $deep = @{}; $h = $deep
        foreach ($i in 1..40) { $h.next = @{}; $h = $h.next }
        { New-KataCgroup -Path "$(New-KcTestRoot)/pod1/sb" -Resources $deep -ErrorAction Stop -WarningAction SilentlyContinue } |
            Should -Throw -ErrorId 'InvalidOciConfig,KataCgroups.PowerShell.Commands.NewKataCgroupCommand'
    }
}

Describe 'A process into a cpuset without CPUs' {
    BeforeEach { $Root = New-KcTestRoot }
    AfterEach { Clear-KcTestState }

    It 'Add-KataCgroupProcess fails with CpusetEmpty naming cpuset.cpus (the kernel''s bare ENOSPC), and moves nothing' {
        $cpuset = (Get-KcHierarchy | Where-Object { 'cpuset' -in $_.Controllers } | Select-Object -First 1).MountPoint
        Skip-KcBecause $(if (-not $cpuset) { 'no v1 cpuset hierarchy on this host (cgroup v2 has no empty-cpuset refusal)' })
        $cg = New-KataCgroup -Path "$Root/pod/sb" -WarningAction SilentlyContinue
        [System.IO.File]::WriteAllText("$cpuset$($cg.CgroupPath)/cpuset.cpus", "`n")
        Get-KcCgroupFile cpuset $cg.CgroupPath cpuset.cpus | Should -BeNullOrEmpty
        $sleep = Start-KcSleep
        $err = { Add-KataCgroupProcess -Path "$Root/pod/sb" -Id $sleep.Id -ErrorAction Stop } |
            Should -Throw -ErrorId "CpusetEmpty,$ns.AddKataCgroupProcessCommand" -PassThru
        $err.Exception.Message | Should -Match 'ENOSPC.*cpuset\.cpus is empty'
        (Get-KataCgroup -Path "$Root/pod/sb").Pids | Should -BeNullOrEmpty
        Remove-KataCgroup -Path "$Root/pod/sb"
    }
}
