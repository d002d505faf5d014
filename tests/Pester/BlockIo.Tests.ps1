# Block IO on cgroup v1/hybrid, where hosts differ most: which weight files exist (CFQ's blkio.weight before Linux
# 5.0, BFQ's blkio.bfq.* when BFQ is built and loaded, none at all otherwise), leaf weights (CFQ only), throttling,
# and the per-device statistics. Every test first asks the module's own preflight (Test-KataCgroupHost, through
# TestHelpers' Get-KcHostCheck) what this host has, and runs the assertions for that branch or skips naming the
# capability. The host tier runs these without BFQ; the hybrid guest tier (tests/Guest) loads Debian's bfq module
# and selects it for a scratch disk, so the BFQ branch runs on a real kernel too.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot 'StatsHelpers.psm1') -Force
    Import-Module (Get-KcModulePath) -Force
    $script:FixturePath = Join-Path $PSScriptRoot 'Fixtures/config.json'

    # The weight interface this host offers: blkio.weight (CFQ), blkio.bfq.weight (BFQ) or none.
    $script:WeightFile = (Get-KcHostCheck BlockIoWeight).Value

    function Get-Scheduler([string] $Device) {
        <# The I/O scheduler selected for a block device 'major:minor' (the [bracketed] one), or $null. #>
        $file = "/sys/dev/block/$Device/queue/scheduler"
        if (-not (Test-Path -LiteralPath $file)) { $file = "/sys/dev/block/$Device/../queue/scheduler" }
        if (-not (Test-Path -LiteralPath $file)) { return $null }
        $m = [regex]::Match([System.IO.File]::ReadAllText($file), '\[([^\]]+)\]')
        if ($m.Success) { $m.Groups[1].Value } else { $null }
    }

    function Get-BfqDevice {
        <# A block device whose selected scheduler is bfq ('major:minor'), or $null: BFQ takes per-device weights only there. #>
        foreach ($d in Get-ChildItem /sys/block -ErrorAction Ignore) {
            $dev = ([System.IO.File]::ReadAllText("$($d.FullName)/dev")).Trim()
            if ((Get-Scheduler $dev) -eq 'bfq') { return $dev }
        }
    }

    function Get-IoTarget {
        <#
        Where an O_DIRECT write reaches a real disk: the scratch disk the guest tier provides
        ($env:KATACGROUPS_SCRATCH_DISK, written raw), else a temp file on the disk /tmp sits on. $null when neither
        (a temp directory on tmpfs or 9p and no scratch disk).
        #>
        if ($env:KATACGROUPS_SCRATCH_DISK) {
            $dev = (& stat -L -c '%Hr:%Lr' -- $env:KATACGROUPS_SCRATCH_DISK).Trim()
            return [pscustomobject]@{ Device = $dev; File = $env:KATACGROUPS_SCRATCH_DISK; Raw = $true }
        }
        $tmp = [System.IO.Path]::GetTempPath()
        $dev = (& stat -c '%Hd:%Ld' -- $tmp).Trim()
        if ($dev.StartsWith('0:') -or -not (Test-Path "/sys/dev/block/$dev")) { return $null }
        [pscustomobject]@{ Device = $dev; File = Join-Path $tmp "kcblkio-$([guid]::NewGuid().ToString('n')).bin"; Raw = $false }
    }
}

Describe 'Block IO weights follow the host''s scheduler' {
    BeforeEach { $Root = New-KcTestRoot }
    AfterEach { Clear-KcTestState }

    It 'a weight lands in the file this host offers, reads back, and Set changes it' {
        Skip-KcUnlessCapability Controller:blkio, BlockIoWeight
        $cg = New-KataCgroup -Path "$Root/pod1/sb" -BlkioWeight 300 -WarningAction SilentlyContinue
        # BFQ prints "default 300" on some kernels, a bare number on others.
        Get-KcCgroupFile blkio $cg.CgroupPath $WeightFile | Should -Match '^(default )?300$'
        $cg.BlkioWeight | Should -Be 300
        Set-KataCgroupResource -Path $cg.Path -BlkioWeight 700
        Get-KcCgroupFile blkio $cg.CgroupPath $WeightFile | Should -Match '^(default )?700$'
        (Get-KataCgroup -Path $cg.Path).BlkioWeight | Should -Be 700
    }

    It 'a per-device weight lands in the weight_device file of this host''s scheduler' {
        Skip-KcUnlessCapability Controller:blkio, BlockIoWeight
        # BFQ and CFQ take a device weight only for a device that uses them (blkg_conf_prep: EOPNOTSUPP otherwise).
        $scheduler = if ($WeightFile -eq 'blkio.bfq.weight') { 'bfq' } else { 'cfq' }
        $dev = if ($scheduler -eq 'bfq') { Get-BfqDevice } else { $null }
        if (-not $dev) { Set-ItResult -Skipped -Because "no block device uses the $scheduler I/O scheduler (a device weight needs one)" }
        $major, $minor = $dev.Split(':')
        $res = @{ blockIO = @{ weightDevice = @(@{ major = [long] $major; minor = [long] $minor; weight = 400 }) } }
        $cg = New-KataCgroup -Path "$Root/pod1/sb" -Resources $res -WarningAction SilentlyContinue
        $file = $WeightFile -replace 'weight$', 'weight_device'
        (Get-KcCgroupFile blkio $cg.CgroupPath $file) -split "`n" | Should -Contain "$dev 400"
    }

    It 'leaf weights: written on CFQ; elsewhere refused naming the real reason, or left out with -SkipUnsupported' {
        Skip-KcUnlessCapability Controller:blkio
        $leaf = '{"blockIO":{"leafWeight":200}}'
        if ($WeightFile -eq 'blkio.weight') {
            $cg = New-KataCgroup -Path "$Root/pod1/sb" -Resources $leaf -WarningAction SilentlyContinue
            Get-KcCgroupFile blkio $cg.CgroupPath blkio.leaf_weight | Should -Be '200'
            return
        }
        # runc writes blkio.leaf_weight and fails on the missing file; the module fails before writing, saying why.
        $why = if ($WeightFile -eq 'blkio.bfq.weight') { 'the BFQ I/O scheduler has no leaf weights' } else { 'this kernel has no block IO weight file' }
        $err = { New-KataCgroup -Path "$Root/pod1/sb" -Resources $leaf -WarningAction SilentlyContinue -ErrorAction Stop } |
            Should -Throw -ErrorId 'BlockIoWeightUnsupported,KataCgroups.PowerShell.Commands.NewKataCgroupCommand' -PassThru
        $err.Exception.Message | Should -Match ([regex]::Escape($why))
        Get-KcExistingDirectory $Root | Should -BeNullOrEmpty
        $cg = New-KataCgroup -Path "$Root/pod1/sb" -Resources $leaf -PidsLimit 12 -SkipUnsupported -WarningVariable w -WarningAction SilentlyContinue
        @($w | ForEach-Object { "$_" }) -match "skipped \(-SkipUnsupported\): blockIO.leafWeight 200 cannot be set: $([regex]::Escape($why))" |
            Should -Not -BeNullOrEmpty
        Get-KcCgroupFile pids $cg.CgroupPath pids.max | Should -Be '12' -Because 'the values the host can apply are applied'
        "$((Get-KcControllerMount blkio) + $cg.CgroupPath)/blkio.leaf_weight" | Should -Not -Exist
    }

    It 'no weight file: -BlkioWeight, weightDevice and a config with a weight fail with BlockIoWeightUnsupported and change nothing' {
        Skip-KcUnlessCapability Controller:blkio
        if ($WeightFile -ne 'none') {
            Set-ItResult -Skipped -Because "host has BlockIoWeight ($WeightFile): the refusal needs a kernel without CFQ and BFQ"
        }
        $id = 'BlockIoWeightUnsupported,KataCgroups.PowerShell.Commands.NewKataCgroupCommand'
        $err = { New-KataCgroup -Path "$Root/pod1/a" -BlkioWeight 300 -WarningAction SilentlyContinue -ErrorAction Stop } |
            Should -Throw -ErrorId $id -PassThru
        $err.Exception.Message | Should -Match 'BFQ I/O scheduler'
        $err.Exception.Message | Should -Not -Match 'ENOENT'
        $err.CategoryInfo.Category | Should -Be 'NotImplemented'
        { New-KataCgroup -Path "$Root/pod1/b" -Resources '{"blockIO":{"weightDevice":[{"major":8,"minor":0,"weight":400}]}}' -WarningAction SilentlyContinue -ErrorAction Stop } |
            Should -Throw -ErrorId $id
        # the runtime-spec fixture carries blockIO.weight 300
        { New-KataCgroup -Path "$Root/pod1/c" -OciConfig $FixturePath -WarningAction SilentlyContinue -ErrorAction Stop } |
            Should -Throw -ErrorId $id
        Get-KcExistingDirectory $Root | Should -BeNullOrEmpty -Because 'the values are refused before anything is created'

        # On an existing cgroup: refused, and its other values stay as they were.
        $cg = New-KataCgroup -Path "$Root/pod1/d" -PidsLimit 10 -WarningAction SilentlyContinue
        { Set-KataCgroupResource -Path $cg.Path -PidsLimit 20 -BlkioWeight 300 -ErrorAction Stop } |
            Should -Throw -ErrorId 'BlockIoWeightUnsupported,KataCgroups.PowerShell.Commands.SetKataCgroupResourceCommand'
        Get-KcCgroupFile pids $cg.CgroupPath pids.max | Should -Be '10'
    }

    It 'the preflight names the cause where weights are missing, and the file where they are not' {
        Skip-KcUnlessCapability Controller:blkio
        $c = Get-KcHostCheck BlockIoWeight
        $root = Get-KcControllerMount blkio
        switch ($c.Value) {
            'none' {
                $c.Status | Should -Be 'Warn'
                $c.Reason | Should -Match 'BFQ I/O scheduler .* not available'
                @(Get-ChildItem $root -Name -Filter 'blkio.*weight*') + @(Get-ChildItem $root -Name -Filter 'blkio.bfq.*') |
                    Should -BeNullOrEmpty -Because 'no weight or BFQ file exists on this host'
            }
            'blkio.bfq.weight' { $c.Status | Should -Be 'Pass'; "$root/blkio.bfq.io_service_bytes" | Should -Exist }
            'blkio.weight' { $c.Status | Should -Be 'Pass'; "$root/blkio.leaf_weight" | Should -Exist }
            default { throw "unexpected BlockIoWeight value '$($c.Value)'" }
        }
    }
}

Describe 'Block IO throttling and statistics' {
    BeforeEach { $Root = New-KcTestRoot }
    AfterEach { Clear-KcTestState }

    It 'throttle rules land in blkio.throttle.* and read back' {
        Skip-KcUnlessCapability Controller:blkio, BlockIoThrottle
        $dev = Get-KcBlockDevice
        $major, $minor = $dev.Split(':')
        $d = @{ major = [long] $major; minor = [long] $minor }
        $res = @{ blockIO = @{
                throttleReadBpsDevice = @($d + @{ rate = 1048576 }); throttleWriteBpsDevice = @($d + @{ rate = 2097152 })
                throttleReadIOPSDevice = @($d + @{ rate = 300 }); throttleWriteIOPSDevice = @($d + @{ rate = 120 })
            }
        }
        $cg = New-KataCgroup -Path "$Root/pod1/sb" -Resources $res -WarningAction SilentlyContinue
        Get-KcCgroupFile blkio $cg.CgroupPath blkio.throttle.read_bps_device | Should -BeExactly "$dev 1048576"
        Get-KcCgroupFile blkio $cg.CgroupPath blkio.throttle.write_bps_device | Should -BeExactly "$dev 2097152"
        Get-KcCgroupFile blkio $cg.CgroupPath blkio.throttle.read_iops_device | Should -BeExactly "$dev 300"
        Get-KcCgroupFile blkio $cg.CgroupPath blkio.throttle.write_iops_device | Should -BeExactly "$dev 120"
    }

    It 'per-device statistics: 4 MiB written with O_DIRECT show up on the disk they went to' {
        Skip-KcUnlessCapability Controller:blkio, BlockIoThrottle
        $io = Get-IoTarget
        if (-not $io) { Set-ItResult -Skipped -Because 'no block device under the temp directory and no scratch disk (KATACGROUPS_SCRATCH_DISK)' }
        $major, $minor = $io.Device.Split(':')
        # blk-throttle counts v1 statistics only on a disk whose throttling is set up, and newer kernels (6.18 here)
        # set it up on the first limit configured for the disk: a limit no write reaches (1 TiB/s) makes the
        # numbers count on every kernel. The raw scratch disk also needs the device rule to be opened.
        $res = @{ blockIO = @{ throttleWriteBpsDevice = @(@{ major = [long] $major; minor = [long] $minor; rate = 1TB }) } }
        $cg = New-KataCgroup -Path "$Root/pod1/sb" -Resources $res -Device "b $($io.Device) rwm" -WarningAction SilentlyContinue
        try {
            $writer = Start-KcStatProcess @('sh', '-c', "read go; exec dd if=/dev/zero of='$($io.File)' bs=1M count=4 oflag=direct status=none") -Stdin
            $cg | Add-KataCgroupProcess -Id $writer.Id
            $writer.StandardInput.WriteLine('go')
            $writer.StandardInput.Close()
            $writer.WaitForExit(60000) | Should -BeTrue
            $writer.ExitCode | Should -Be 0
            $s = Get-KataCgroupStat -Path $cg.Path
        }
        finally { if (-not $io.Raw) { Remove-Item -LiteralPath $io.File -Force -ErrorAction Ignore } }
        # BFQ counts only for disks it schedules; CFQ likewise; the throttle layer counts every bio.
        $expectedSource = switch (Get-Scheduler $io.Device) { 'bfq' { 'blkio.bfq' } 'cfq' { 'blkio' } default { 'blkio.throttle' } }
        $s.IoSource | Should -Be $expectedSource
        $row = @($s.IoDevices | Where-Object Device -EQ $io.Device)
        $row.Count | Should -Be 1 -Because "the writes went to $($io.Device)"
        $row[0].WriteBytes | Should -BeGreaterOrEqual 4MB
        $row[0].WriteOps | Should -BeGreaterThan 0
        $s.IoWriteBytes | Should -BeGreaterOrEqual $row[0].WriteBytes
    }
}
