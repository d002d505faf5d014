# New-KataCgroup -OciConfig with the full runtime-spec fixture: every value must land in its cgroup file, read
# straight from /sys/fs/cgroup. Runs twice: once taking the path from linux.cgroupsPath, once with -Path.
# What depends on the host comes from its preflight (Test-KataCgroupHost): the fixture's block IO weight is applied
# only where the kernel has weight files (BlockIo.Tests.ps1 covers the refusal elsewhere), the hypervisor nodes
# only where they exist.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $fixture = Get-Content (Join-Path $PSScriptRoot 'Fixtures/config.json') -Raw | ConvertFrom-Json
    $fixtureDevice = '{0}:{1}' -f $fixture.linux.resources.blockIO.throttleReadBpsDevice[0].major,
    $fixture.linux.resources.blockIO.throttleReadBpsDevice[0].minor
    $device = Get-KcBlockDevice -Preferred $fixtureDevice

    # controller, file, expected content: the fixture's linux.resources in cgroup v1 form.
    $files = @(
        @{ Controller = 'memory'; File = 'memory.limit_in_bytes'; Expected = '268435456' }
        @{ Controller = 'memory'; File = 'memory.soft_limit_in_bytes'; Expected = '134217728' }
        @{ Controller = 'memory'; File = 'memory.swappiness'; Expected = '30' }
        @{ Controller = 'cpu'; File = 'cpu.shares'; Expected = '512' }
        @{ Controller = 'cpu'; File = 'cpu.cfs_period_us'; Expected = '250000' }
        @{ Controller = 'cpu'; File = 'cpu.cfs_quota_us'; Expected = '125000' }
        @{ Controller = 'cpuset'; File = 'cpuset.cpus'; Expected = '0' }
        @{ Controller = 'cpuset'; File = 'cpuset.mems'; Expected = '0' }
        @{ Controller = 'pids'; File = 'pids.max'; Expected = '64' }
        @{ Controller = 'blkio'; File = 'blkio.throttle.read_bps_device'; Expected = "$device 1048576" }
        @{ Controller = 'blkio'; File = 'blkio.throttle.write_bps_device'; Expected = "$device 2097152" }
        @{ Controller = 'blkio'; File = 'blkio.throttle.read_iops_device'; Expected = "$device 300" }
        @{ Controller = 'blkio'; File = 'blkio.throttle.write_iops_device'; Expected = "$device 120" }
    )
    $modes = @(
        @{ Mode = 'linux.cgroupsPath'; UsePath = $false }
        @{ Mode = '-Path'; UsePath = $true }
    )
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-KcModulePath) -Force
    $script:FixturePath = Join-Path $PSScriptRoot 'Fixtures/config.json'
}

Describe 'New-KataCgroup -OciConfig (<Mode>)' -ForEach $modes {
    BeforeAll {
        # The fixture names /kctest-fixture and the block device 254:0; point them at this run's unique root
        # and at a block device this machine really has.
        $script:Root = New-KcTestRoot
        $script:ConfigRoot = New-KcTestRoot          # linux.cgroupsPath lives here
        $config = Get-Content $FixturePath -Raw | ConvertFrom-Json
        $script:Device = Get-KcBlockDevice -Preferred ('{0}:{1}' -f $config.linux.resources.blockIO.throttleReadBpsDevice[0].major,
            $config.linux.resources.blockIO.throttleReadBpsDevice[0].minor)
        $major, $minor = $Device.Split(':')
        foreach ($list in 'throttleReadBpsDevice', 'throttleWriteBpsDevice', 'throttleReadIOPSDevice', 'throttleWriteIOPSDevice') {
            foreach ($entry in $config.linux.resources.blockIO.$list) { $entry.major = [long] $major; $entry.minor = [long] $minor }
        }
        $config.linux.cgroupsPath = $config.linux.cgroupsPath.Replace('/kctest-fixture', $ConfigRoot)
        # A kernel without CFQ and BFQ refuses a weight (BlockIoWeightUnsupported, BlockIo.Tests.ps1): leave it out.
        if (-not (Test-KcCapability BlockIoWeight)) { $config.linux.resources.blockIO.PSObject.Properties.Remove('weight') }
        $script:ConfigFile = Join-Path $TestDrive 'config.json'
        $config | ConvertTo-Json -Depth 20 | Set-Content -LiteralPath $ConfigFile

        if ($UsePath) {
            $script:RequestedPath = "$Root/pod9/sandbox9"
            $script:CgroupPath = "$Root/pod9/kata_sandbox9"
            $script:Result = @(New-KataCgroup -Path $RequestedPath -OciConfig $ConfigFile -WarningVariable w -WarningAction SilentlyContinue)
        }
        else {
            $script:RequestedPath = "$ConfigRoot/pod1/sandbox1"
            $script:CgroupPath = "$ConfigRoot/pod1/kata_sandbox1"
            $script:Result = @(New-KataCgroup -OciConfig $ConfigFile -WarningVariable w -WarningAction SilentlyContinue)
        }
        $script:Warnings = @($w | ForEach-Object { "$_" })
    }
    AfterAll {
        Clear-KcTestState
    }

    It 'emits one cgroup object whose CgroupPath follows the Kata rules' {
        $Result.Count | Should -Be 1
        $Result[0].GetType().FullName | Should -Be 'KataCgroups.PowerShell.KataCgroup'
        $Result[0].Path | Should -Be $RequestedPath
        $Result[0].CgroupPath | Should -Be $CgroupPath
        $Result[0].Mode | Should -Be (Get-KcHostCheck CgroupMode).Value
    }

    It 'creates the cgroup in every hierarchy, including name=systemd and the unified tree' {
        foreach ($dir in Get-KcCgroupDirectory $CgroupPath) {
            $dir | Should -Exist
        }
        $Result[0].MissingIn | Should -BeNullOrEmpty
    }

    It 'creates nothing but the kata_-prefixed leaf, and nothing under the other root' {
        $parent = $CgroupPath.Substring(0, $CgroupPath.LastIndexOf('/'))
        foreach ($h in Get-KcHierarchy) {
            @([System.IO.Directory]::GetDirectories($h.MountPoint + $parent) | ForEach-Object { [System.IO.Path]::GetFileName($_) }) |
                Should -Be @($CgroupPath.Substring($CgroupPath.LastIndexOf('/') + 1))
        }
        # -Path wins over linux.cgroupsPath; without -Path the other root is unused
        Get-KcExistingDirectory $(if ($UsePath) { $ConfigRoot } else { $Root }) | Should -BeNullOrEmpty
    }

    It '<Controller>/<File> holds "<Expected>"' -ForEach $files {
        Get-KcCgroupFile $Controller $CgroupPath $File | Should -BeExactly $Expected
    }

    It 'memory.oom_control has the OOM killer disabled' {
        (Get-KcCgroupFile memory $CgroupPath memory.oom_control) -split "`n" | Should -Contain 'oom_kill_disable 1'
    }

    It 'the block IO weight is 300 in the weight file this host offers (blkio.weight, or blkio.bfq.weight where CFQ is gone)' {
        Skip-KcUnlessCapability BlockIoWeight
        $file = (Get-KcHostCheck BlockIoWeight).Value
        # BFQ prints "default 300" on some kernels, a bare number on others.
        Get-KcCgroupFile blkio $CgroupPath $file | Should -Match '^(default )?300$'
    }

    It 'devices.list keeps the caller''s rules: <Rule>' -ForEach @(
        @{ Rule = 'c 4:64 rw' }
        @{ Rule = 'b 7:* r' }
    ) {
        (Get-KcCgroupFile devices $CgroupPath devices.list) -split "`n" | Should -Contain $Rule
    }

    It 'devices.list is a whitelist (the caller''s deny-all applied)' {
        (Get-KcCgroupFile devices $CgroupPath devices.list) -split "`n" | Should -Not -Contain 'a *:* rwm'
    }

    It 'devices.list holds the hypervisor devices (device-mapper and /dev/kvm)' {
        $list = (Get-KcCgroupFile devices $CgroupPath devices.list) -split "`n"
        $list | Should -Contain 'b 253:* rwm'
        # /dev/kvm is allowed where the host has it; elsewhere the create says it skipped the node.
        if (Test-KcCapability Device:/dev/kvm) { $list | Should -Contain "c $((Get-KcHostCheck Device:/dev/kvm).Value.Substring(2)) rwm" }
        else { $Warnings -match '/dev/kvm' | Should -Not -BeNullOrEmpty }
    }

    It 'the output object carries the values read back from the host' {
        $cg = $Result[0]
        $cg.MemoryLimit | Should -Be 268435456
        $cg.MemoryReservation | Should -Be 134217728
        $cg.CpuShares | Should -Be 512
        $cg.CpuQuota | Should -Be 125000
        $cg.CpuPeriod | Should -Be 250000
        $cg.Cpus | Should -Be '0'
        $cg.Mems | Should -Be '0'
        $cg.PidsLimit | Should -Be 64
        # no weight file, no weight to read back (the fixture's was left out above)
        if (Test-KcCapability BlockIoWeight) { $cg.BlkioWeight | Should -Be 300 } else { $cg.BlkioWeight | Should -BeNullOrEmpty }
        $cg.Devices | Should -Contain 'c 4:64 rw'
    }

    It 'Get-KataCgroup -Path reads the same values back' {
        $cg = Get-KataCgroup -Path $RequestedPath
        $cg.CgroupPath | Should -Be $CgroupPath
        $cg.MemoryLimit | Should -Be 268435456
        $cg.CpuShares | Should -Be 512
        $cg.PidsLimit | Should -Be 64
    }
}

Describe 'New-KataCgroup -MemorySwap' {
    BeforeAll {
        $script:Root = New-KcTestRoot
        # Swap accounting (CONFIG_MEMCG_SWAP / swapaccount=1) shows as memory.memsw.* in the memory hierarchy.
        $script:HasMemsw = Test-Path ((Get-KcControllerMount memory) + '/memory.memsw.limit_in_bytes')
    }
    AfterAll {
        Clear-KcTestState
    }

    It 'writes memory.memsw.limit_in_bytes, or fails with UnsupportedOnHost and creates nothing where swap accounting is off' {
        $path = "$Root/pod1/swap"
        if ($HasMemsw) {
            $cg = New-KataCgroup -Path $path -MemoryLimit 256MB -MemorySwap 512MB -WarningAction SilentlyContinue
            Get-KcCgroupFile memory $cg.CgroupPath memory.limit_in_bytes | Should -BeExactly '268435456'
            Get-KcCgroupFile memory $cg.CgroupPath memory.memsw.limit_in_bytes | Should -BeExactly '536870912'
            $cg.MemorySwap | Should -Be 536870912
            # raising both past the current limit needs memsw written first, lowering both needs memory first
            Set-KataCgroupResource -Path $path -MemoryLimit 1GB -MemorySwap 2GB
            Get-KcCgroupFile memory $cg.CgroupPath memory.limit_in_bytes | Should -BeExactly '1073741824'
            Get-KcCgroupFile memory $cg.CgroupPath memory.memsw.limit_in_bytes | Should -BeExactly '2147483648'
            Set-KataCgroupResource -Path $path -MemoryLimit 128MB -MemorySwap 192MB
            Get-KcCgroupFile memory $cg.CgroupPath memory.limit_in_bytes | Should -BeExactly '134217728'
            Get-KcCgroupFile memory $cg.CgroupPath memory.memsw.limit_in_bytes | Should -BeExactly '201326592'
        }
        else {
            { New-KataCgroup -Path $path -MemoryLimit 256MB -MemorySwap 512MB -WarningAction SilentlyContinue -ErrorAction Stop } |
                Should -Throw -ErrorId 'UnsupportedOnHost,KataCgroups.PowerShell.Commands.NewKataCgroupCommand'
            Get-KcExistingDirectory $Root | Should -BeNullOrEmpty
        }
    }

    It 'rejects swap below the memory limit before writing anything' {
        { New-KataCgroup -Path "$Root/pod1/swap2" -MemoryLimit 512MB -MemorySwap 256MB -WarningAction SilentlyContinue -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidResourceValue,KataCgroups.PowerShell.Commands.NewKataCgroupCommand'
        Get-KcExistingDirectory "$Root/pod1/kata_swap2" | Should -BeNullOrEmpty
    }
}

Describe 'The shapes -Resources takes, and explicit parameters on top' {
    BeforeEach {
        $Root = New-KcTestRoot
    }
    AfterEach {
        Clear-KcTestState
    }

    It '-Resources as <Shape> sets the values' -ForEach @(
        @{ Shape = 'JSON text'; Make = { '{"memory":{"limit":268435456},"pids":{"limit":12},"cpu":{"shares":300}}' } }
        @{ Shape = 'a hashtable'; Make = { @{ memory = @{ limit = 256MB }; pids = @{ limit = 12 }; cpu = @{ shares = 300 } } } }
        @{ Shape = 'ConvertFrom-Json output'; Make = { '{"memory":{"limit":268435456},"pids":{"limit":12},"cpu":{"shares":300}}' | ConvertFrom-Json } }
    ) {
        $cg = New-KataCgroup -Path "$Root/pod1/sb" -Resources (& $Make) -WarningAction SilentlyContinue
        Get-KcCgroupFile memory $cg.CgroupPath memory.limit_in_bytes | Should -BeExactly '268435456'
        Get-KcCgroupFile pids $cg.CgroupPath pids.max | Should -BeExactly '12'
        Get-KcCgroupFile cpu $cg.CgroupPath cpu.shares | Should -BeExactly '300'
    }

    It 'takes a runtime-spec linux.resources object from the pipeline, one per item, with explicit parameters on top' {
        $a = New-KataCgroup -Path "$Root/pod1/a" -WarningAction SilentlyContinue
        $spec = Get-Content $FixturePath -Raw | ConvertFrom-Json
        $spec.linux.resources.PSObject.Properties.Remove('blockIO')   # not about block devices
        $spec.linux.resources.PSObject.Properties.Remove('devices')
        $spec.linux.resources | Set-KataCgroupResource -Path $a.Path -PidsLimit 99
        Get-KcCgroupFile memory $a.CgroupPath memory.limit_in_bytes | Should -BeExactly '268435456'
        Get-KcCgroupFile cpu $a.CgroupPath cpu.shares | Should -BeExactly '512'
        Get-KcCgroupFile pids $a.CgroupPath pids.max | Should -BeExactly '99' -Because 'an explicit parameter beats the piped value'

        # Two items, two different sections: each item's own values, nothing carried over to the next.
        $items = '{"pids":{"limit":21}}', '{"memory":{"limit":134217728}}' | ConvertFrom-Json
        $items | Set-KataCgroupResource -Path $a.Path
        Get-KcCgroupFile pids $a.CgroupPath pids.max | Should -BeExactly '21'
        Get-KcCgroupFile memory $a.CgroupPath memory.limit_in_bytes | Should -BeExactly '134217728'
    }

    It 'takes a runtime-spec linux object from the pipeline: cgroupsPath is the path, resources the limits' {
        $linux = [pscustomobject]@{ cgroupsPath = "$Root/pod2/sb"; resources = [pscustomobject]@{ pids = [pscustomobject]@{ limit = 33 } } }
        $cg = $linux | New-KataCgroup -WarningAction SilentlyContinue
        $cg.CgroupPath | Should -BeExactly "$Root/pod2/kata_sb"
        Get-KcCgroupFile pids $cg.CgroupPath pids.max | Should -BeExactly '33'
        $linux.resources.pids.limit = 44
        $linux | Set-KataCgroupResource
        Get-KcCgroupFile pids $cg.CgroupPath pids.max | Should -BeExactly '44'
    }

    It 'a piped cgroup object names the cgroup; it is never read as resources' {
        $cg = New-KataCgroup -Path "$Root/pod1/sb" -PidsLimit 10 -MemoryLimit 256MB -WarningAction SilentlyContinue
        $before = Get-KcCgroupFile devices $cg.CgroupPath devices.list
        $cg | Set-KataCgroupResource -PidsLimit 11
        Get-KcCgroupFile pids $cg.CgroupPath pids.max | Should -BeExactly '11'
        Get-KcCgroupFile memory $cg.CgroupPath memory.limit_in_bytes | Should -BeExactly '268435456'
        Get-KcCgroupFile devices $cg.CgroupPath devices.list | Should -BeExactly $before
        $cg | Set-KataCgroupResource -WarningVariable w -WarningAction SilentlyContinue
        "$w" | Should -BeLike '*no resource values were given*'
    }

    It 'explicit parameters override the same values from -Resources' {
        $cg = New-KataCgroup -Path "$Root/pod1/sb" -Resources '{"memory":{"limit":268435456},"pids":{"limit":12}}' -MemoryLimit 512MB -WarningAction SilentlyContinue
        Get-KcCgroupFile memory $cg.CgroupPath memory.limit_in_bytes | Should -BeExactly '536870912'
        Get-KcCgroupFile pids $cg.CgroupPath pids.max | Should -BeExactly '12'
    }

    It 'explicit parameters override the same values from -OciConfig' {
        $configRoot = New-KcTestRoot
        $config = Get-Content $FixturePath -Raw | ConvertFrom-Json
        $config.linux.cgroupsPath = "$configRoot/pod1/sandbox1"
        $config.linux.resources.PSObject.Properties.Remove('blockIO')   # this test is not about block devices
        $file = Join-Path $TestDrive 'override.json'
        $config | ConvertTo-Json -Depth 20 | Set-Content -LiteralPath $file
        $cg = New-KataCgroup -OciConfig $file -PidsLimit 100 -CpuShares 2048 -WarningAction SilentlyContinue
        $cg.CgroupPath | Should -BeExactly "$configRoot/pod1/kata_sandbox1"
        Get-KcCgroupFile pids $cg.CgroupPath pids.max | Should -BeExactly '100'
        Get-KcCgroupFile cpu $cg.CgroupPath cpu.shares | Should -BeExactly '2048'
        Get-KcCgroupFile memory $cg.CgroupPath memory.limit_in_bytes | Should -BeExactly '268435456'
    }

    It 'unlimited values: -MemoryLimit max and -PidsLimit -1 write the kernel''s unlimited forms' {
        $cg = New-KataCgroup -Path "$Root/pod1/sb" -MemoryLimit 256MB -PidsLimit 10 -WarningAction SilentlyContinue
        $out = Set-KataCgroupResource -Path $cg.Path -MemoryLimit max -PidsLimit -1 -PassThru
        Get-KcCgroupFile pids $cg.CgroupPath pids.max | Should -BeExactly 'max'
        # v1 shows an unlimited memory limit as PAGE_COUNTER_MAX pages: the same number the hierarchy root shows
        $unlimited = [System.IO.File]::ReadAllText((Get-KcControllerMount memory) + '/memory.limit_in_bytes').Trim()
        Get-KcCgroupFile memory $cg.CgroupPath memory.limit_in_bytes | Should -BeExactly $unlimited
        $out.MemoryLimit | Should -Be -1
        $out.PidsLimit | Should -Be -1
    }
}

Describe 'A value the host cannot apply' {
    BeforeEach { $Root = New-KcTestRoot }
    AfterEach { Clear-KcTestState }

    It 'fails the command before anything is written, naming the controller; -SkipUnsupported leaves it out with a warning' {
        # One optional v1 controller this host lacks, found by the preflight; the values that need it.
        $values = [ordered]@{
            hugetlb  = '{"hugepageLimits":[{"pageSize":"2MB","limit":2097152}]}'
            net_cls  = '{"network":{"classID":1048577}}'
            net_prio = '{"network":{"priorities":[{"name":"lo","priority":5}]}}'
            rdma     = '{"rdma":{"mlx5_0":{"hcaHandles":3}}}'
        }
        if ((Get-KcHostCheck CgroupMode).Value -eq 'Unified') { Set-ItResult -Skipped -Because 'host lacks a v1 layout (CgroupMode Unified): these are the v1 controllers' }
        $missing = @($values.Keys | Where-Object { -not (Test-KcCapability "Controller:$_") }) | Select-Object -First 1
        if (-not $missing) { Set-ItResult -Skipped -Because 'this host mounts every optional v1 controller (hugetlb, net_cls, net_prio, rdma): nothing to refuse' }
        $err = { New-KataCgroup -Path "$Root/pod1/sb" -Resources $values[$missing] -WarningAction SilentlyContinue -ErrorAction Stop } |
            Should -Throw -ErrorId 'ControllerNotMounted,KataCgroups.PowerShell.Commands.NewKataCgroupCommand' -PassThru
        $err.Exception.Message | Should -Match "the $missing controller is not mounted"
        Get-KcExistingDirectory $Root | Should -BeNullOrEmpty -Because 'nothing is created'

        $cg = New-KataCgroup -Path "$Root/pod1/sb" -Resources $values[$missing] -PidsLimit 9 -SkipUnsupported -WarningVariable w -WarningAction SilentlyContinue
        @($w | ForEach-Object { "$_" }) -match "^skipped \(-SkipUnsupported\): .*the $missing controller is not mounted" | Should -Not -BeNullOrEmpty
        Get-KcCgroupFile pids $cg.CgroupPath pids.max | Should -Be '9'
        # and Set on the existing cgroup: refused, the other value unchanged
        { Set-KataCgroupResource -Path $cg.Path -Resources $values[$missing] -PidsLimit 10 -ErrorAction Stop } |
            Should -Throw -ErrorId 'ControllerNotMounted,KataCgroups.PowerShell.Commands.SetKataCgroupResourceCommand'
        Get-KcCgroupFile pids $cg.CgroupPath pids.max | Should -Be '9'
    }

    It 'a soft limit below a page is kept, rounded like the kernel, and the rounding shows as a conversion; a hard one is refused' {
        $cg = New-KataCgroup -Path "$Root/pod1/sb" -MemoryReservation 1 -Cpus ' 0' -WarningVariable w -WarningAction SilentlyContinue
        Get-KcCgroupFile memory $cg.CgroupPath memory.soft_limit_in_bytes | Should -Be '0'
        Get-KcCgroupFile cpuset $cg.CgroupPath cpuset.cpus | Should -Be '0' -Because 'the kernel strips whitespace around a list, and so do we'
        "$w" | Should -Match 'memory.reservation 1 → memory.soft_limit_in_bytes 0'
        { New-KataCgroup -Path "$Root/pod1/hard" -MemoryLimit 1 -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidResourceValue,KataCgroups.PowerShell.Commands.NewKataCgroupCommand'
    }
}
