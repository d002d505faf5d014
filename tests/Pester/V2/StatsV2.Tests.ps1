# Get-KataCgroupStat on a pure cgroup v2 kernel (run inside the qemu guest by tests/Guest/run-v2-guest.sh; skipped
# elsewhere): cpu.stat throttling of a CPU burner, memory.current/memory.stat/memory.peak of a process that
# allocates, pids, io.stat for a direct read of the guest's scratch disk, and PSI as the kernel offers it.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot '../TestHelpers.psm1') -Force
    # '' on a pure cgroup v2 host, else why not: in the block's name, since -Skip shows no reason
    $script:NotV2 = Get-KcMissingCgroupMode Unified
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../TestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot '../StatsHelpers.psm1') -Force
    Import-Module (Get-KcModulePath) -Force
    $Mount = Get-KcControllerMount unified
    function File([string] $CgroupPath, [string] $Name) { [IO.File]::ReadAllText("$Mount$CgroupPath/$Name").TrimEnd("`n") }
}

Describe "Get-KataCgroupStat on cgroup v2$(if ($NotV2) { " (skipped: $NotV2)" })" -Skip:([bool] $NotV2) {
    BeforeEach {
        $Root = New-KcTestRoot
        $Path = "$Root/pod1/sandbox"
        $Cg = New-KataCgroup -Path $Path -CpuQuota 10000 -CpuPeriod 100000 -MemoryLimit 256MB -PidsLimit 64 -WarningAction SilentlyContinue
    }
    AfterEach { Clear-KcTestState }

    It 'a CPU burner under cpu.max 10000 100000: usage grows, cpu.stat counts throttling, CpuPercent is bounded' {
        $burner = Start-KcBurner
        $Cg | Add-KataCgroupProcess -Id $burner.Id
        $first = Get-KataCgroupStat -Path $Path
        $first.Driver | Should -Be 'CgroupfsV2'
        $first.Mode | Should -Be 'Unified'
        $s = Wait-KcStat $Path { param($s) $s.CpuThrottledPeriods -gt 0 -and $s.CpuThrottledUsec -gt 0 -and $s.CpuUsageUsec -gt $first.CpuUsageUsec }
        $s.CpuUsageUsec | Should -BeGreaterThan $first.CpuUsageUsec
        $s.CpuThrottledPeriods | Should -BeGreaterThan 0
        $s.CpuThrottledUsec | Should -BeGreaterThan 0
        $s.CpuUserUsec + $s.CpuSystemUsec | Should -BeGreaterThan 0
        $cpuStat = (File $Cg.CgroupPath cpu.stat) -split "`n" | ConvertFrom-StringData -Delimiter ' '
        [long] $cpuStat.usage_usec | Should -BeGreaterOrEqual $s.CpuUsageUsec
        [long] $cpuStat.nr_throttled | Should -BeGreaterOrEqual $s.CpuThrottledPeriods
        $two = @(Get-KataCgroupStat -Path $Path -Count 2 -Interval 1)
        $two.Count | Should -Be 2
        $two[1].CpuPercent | Should -BeGreaterThan 0
        $two[1].CpuPercent | Should -BeLessOrEqual 25
    }

    It 'memory: a process that allocates 48 MiB shows in memory.current, anon and memory.peak; no events below the limit' {
        $hog = Start-KcHog
        $Cg | Add-KataCgroupProcess -Id $hog.Id
        $hog.StandardInput.WriteLine('go')
        $hog.StandardInput.Flush()
        $hog.StandardOutput.ReadLine() | Should -Be 'ready'
        $s = Wait-KcStat $Path { param($s) $s.MemoryAnonBytes -ge 40MB -and $s.MemoryUsageBytes -ge 40MB }
        # 40 of the 48 MiB: the kernel batches charges and stat updates per CPU, and what the process touched
        # before it was moved stays charged to its old cgroup
        $s.MemoryUsageBytes | Should -BeGreaterOrEqual 40MB
        $s.MemoryAnonBytes | Should -BeGreaterOrEqual 40MB
        $s.MemoryLimitBytes | Should -Be 256MB
        if (Test-Path "$Mount$($Cg.CgroupPath)/memory.peak") { $s.MemoryPeakBytes | Should -BeGreaterOrEqual $s.MemoryUsageBytes }
        else { $s.MemoryPeakBytes | Should -BeNullOrEmpty }
        $s.MemoryMaxEvents | Should -Be 0
        $s.MemoryOomEvents | Should -Be 0
        $s.OomKillCount | Should -Be 0
        $s.MemoryFailCount | Should -BeNullOrEmpty -Because 'v2 has no failcnt; memory.events replaces it'
    }

    It 'pids.current equals the processes put in' {
        $sleeps = 1..3 | ForEach-Object { Start-KcSleep }
        $Cg | Add-KataCgroupProcess -Id $sleeps.Id
        $s = Get-KataCgroupStat -Path $Path
        $s.PidsCurrent | Should -Be 3
        $s.PidsLimit | Should -Be 64
    }

    It 'io.stat per device: a direct read of 4 MiB of the scratch disk is counted on that device' {
        $dev = Get-KcBlockDevice
        $name = (Get-ChildItem /sys/block | Where-Object { (Get-Content "$($_.FullName)/dev" -Raw).Trim() -eq $dev } | Select-Object -First 1).Name
        $maj, $min = $dev -split ':'
        # A sandbox of its own: the eBPF device program denies disks unless allowed (this one, read-only), and v2
        # keeps io.stat only where the io controller is enabled, which the module does at creation for an IO weight.
        # (under a root of its own: the module enables a controller only below an ancestor that offers it)
        $ioPath = "$(New-KcTestRoot)/io"
        $ioCg = New-KataCgroup -Path $ioPath -Resources "{ `"blockIO`": { `"weight`": 500 }, `"devices`": [ { `"allow`": true, `"type`": `"b`", `"major`": $maj, `"minor`": $min, `"access`": `"r`" } ] }" -WarningAction SilentlyContinue
        Test-Path "$Mount$($ioCg.CgroupPath)/io.stat" | Should -BeTrue
        (Get-KataCgroupStat -Path $Path).IoSource | Should -BeNullOrEmpty -Because 'the first sandbox has no io controller: no IO numbers, not zeros'
        $reader = Start-KcStatProcess @('sh', '-c', "read go; exec dd if=/dev/$name of=/dev/null bs=1M count=4 iflag=direct status=none") -Stdin
        $ioCg | Add-KataCgroupProcess -Id $reader.Id
        $reader.StandardInput.WriteLine('go')
        $reader.StandardInput.Close()
        $reader.WaitForExit(60000) | Should -BeTrue
        $reader.ExitCode | Should -Be 0
        $s = Get-KataCgroupStat -Path $ioPath
        $s.IoSource | Should -Be 'io.stat'
        $row = @($s.IoDevices | Where-Object Device -EQ $dev)
        $row.Count | Should -Be 1
        $row[0].ReadBytes | Should -BeGreaterOrEqual 4MB
        $row[0].ReadOps | Should -BeGreaterThan 0
        $row[0].DiscardBytes | Should -Not -BeNullOrEmpty -Because 'io.stat has dbytes since Linux 5.x'
    }

    It 'PSI: present exactly when the kernel offers it (CONFIG_PSI and not psi=0)' {
        # the preflight's Psi check says whether this kernel keeps pressure figures per cgroup
        $psi = Get-KcHostCheck Psi
        $s = Get-KataCgroupStat -Path $Path
        Write-Host "guest PSI: $($psi.Status) $($psi.Value) ($($psi.Reason)); kernel $(uname -r)"
        if ($psi.Status -eq 'Pass') {
            $s.CpuPressureSomeAvg10 | Should -Not -BeNullOrEmpty
            $s.MemoryPressureFullTotalUsec | Should -Not -BeNullOrEmpty
            $s.IoPressureSomeTotalUsec | Should -Not -BeNullOrEmpty
        }
        else {
            $s.CpuPressureSomeAvg10 | Should -BeNullOrEmpty
            $s.MemoryPressureSomeAvg10 | Should -BeNullOrEmpty
        }
    }
}
