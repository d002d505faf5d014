# Get-KataCgroupStat on this machine's real cgroupfs (v1/hybrid): real workloads in real cgroups — a CPU burner under
# a 10 % quota, a process that allocates 48 MiB, sleeps — and the numbers the kernel keeps for them (block IO
# statistics: BlockIo.Tests.ps1). PSI comes from the cgroup's unified-hierarchy directory (hybrid hosts).

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot 'StatsHelpers.psm1') -Force
    Import-Module (Get-KcModulePath) -Force

    function File([string] $Controller, [string] $CgroupPath, [string] $Name) { Get-KcCgroupFile $Controller $CgroupPath $Name }
}

Describe 'Get-KataCgroupStat on cgroup v1 (hybrid)' {
    BeforeEach {
        $Root = New-KcTestRoot
        $Path = "$Root/pod1/sandbox"
        $Cg = New-KataCgroup -Path $Path -CpuQuota 10000 -CpuPeriod 100000 -MemoryLimit 256MB -PidsLimit 64 -WarningAction SilentlyContinue
    }
    AfterEach { Clear-KcTestState }

    It 'a CPU burner under a 10000/100000 quota: usage grows and the quota throttles it' {
        $burner = Start-KcBurner
        $Cg | Add-KataCgroupProcess -Id $burner.Id
        $first = Get-KataCgroupStat -Path $Path
        $later = Wait-KcStat $Path { param($s) $s.CpuThrottledPeriods -gt 0 -and $s.CpuThrottledUsec -gt 0 -and $s.CpuUsageUsec -gt $first.CpuUsageUsec }
        $first.Driver | Should -Be 'CgroupfsV1'
        $first.Mode | Should -Be (Get-KcHostCheck CgroupMode).Value
        $later.CpuUsageUsec | Should -BeGreaterThan $first.CpuUsageUsec
        $later.CpuThrottledPeriods | Should -BeGreaterThan 0
        $later.CpuThrottledUsec | Should -BeGreaterThan 0
        $later.CpuPeriods | Should -BeGreaterOrEqual $later.CpuThrottledPeriods
        $later.CpuUserUsec + $later.CpuSystemUsec | Should -BeGreaterThan 0
        # the numbers are the kernel's: cpuacct.usage (ns) and cpu.stat, read after the sample, are not smaller
        [long] (File cpuacct $Cg.CgroupPath cpuacct.usage) / 1000 | Should -BeGreaterOrEqual $later.CpuUsageUsec
        $cpuStat = (File cpu $Cg.CgroupPath cpu.stat) -split "`n" | ConvertFrom-StringData -Delimiter ' '
        [long] $cpuStat.nr_throttled | Should -BeGreaterOrEqual $later.CpuThrottledPeriods
    }

    It '-Count 2 -Interval 1 gives two samples; the second has CpuPercent, bounded by the quota' {
        $burner = Start-KcBurner
        $Cg | Add-KataCgroupProcess -Id $burner.Id
        $samples = @(Get-KataCgroupStat -Path $Path -Count 2 -Interval 1)
        $samples.Count | Should -Be 2
        $samples.Sample | Should -Be @(1, 2)
        $samples[0].CpuPercent | Should -BeNullOrEmpty
        $samples[0].IntervalSeconds | Should -BeNullOrEmpty
        $samples[1].IntervalSeconds | Should -BeGreaterOrEqual 0.9
        $samples[1].CpuPercent | Should -BeGreaterThan 0
        # 10 ms per 100 ms period: the burner cannot get much more than 10 % of a CPU (slack for period edges)
        $samples[1].CpuPercent | Should -BeLessOrEqual 25
        $samples[1].CpuUsageUsec | Should -BeGreaterThan $samples[0].CpuUsageUsec
    }

    It 'memory usage grows with a process that allocates 48 MiB' {
        $before = Get-KataCgroupStat -Path $Path
        $hog = Start-KcHog
        $Cg | Add-KataCgroupProcess -Id $hog.Id
        $hog.StandardInput.WriteLine('go')
        $hog.StandardInput.Flush()
        $hog.StandardOutput.ReadLine() | Should -Be 'ready'
        $s = Wait-KcStat $Path { param($s) $s.MemoryAnonBytes -ge 40MB -and $s.MemoryUsageBytes -ge 40MB }
        # 40 of the 48 MiB: the kernel batches charges and stat updates per CPU, and what the process touched
        # before it was moved stays charged to its old cgroup
        $s.MemoryUsageBytes | Should -BeGreaterOrEqual 40MB
        $s.MemoryUsageBytes | Should -BeGreaterThan $before.MemoryUsageBytes
        $s.MemoryAnonBytes | Should -BeGreaterOrEqual 40MB -Because 'the bytes object is anonymous memory (total_rss)'
        $s.MemoryPeakBytes | Should -BeGreaterOrEqual $s.MemoryUsageBytes
        $s.MemoryLimitBytes | Should -Be 256MB
        $s.MemoryFailCount | Should -Be 0 -Because '48 MiB is well below the 256 MiB limit'
        $s.OomKillCount | Should -Be 0
        # memory.memsw.usage_in_bytes exists only with swap accounting
        if (Test-KcCapability SwapAccounting) { $s.SwapUsageBytes | Should -Not -BeNullOrEmpty }
        else { $s.SwapUsageBytes | Should -BeNullOrEmpty }
    }

    It 'pids.current equals the number of processes put in; pids.max is reported' {
        $sleeps = 1..3 | ForEach-Object { Start-KcSleep }
        $Cg | Add-KataCgroupProcess -Id $sleeps.Id
        $s = Get-KataCgroupStat -Path $Path
        $s.PidsCurrent | Should -Be 3
        $s.PidsLimit | Should -Be 64
        Set-KataCgroupResource -Path $Path -PidsLimit -1
        (Get-KataCgroupStat -Path $Path).PidsLimit | Should -Be -1 -Because 'max is reported as -1'
    }

    # Block IO statistics depend on the kernel's schedulers and on blk-throttle's set-up: BlockIo.Tests.ps1.

    It 'PSI comes from the unified-hierarchy directory when the kernel has it, and shows the throttled burner' {
        $psiFile = (Get-KcControllerMount unified) + $Cg.CgroupPath + '/cpu.pressure'
        $burner = Start-KcBurner
        $Cg | Add-KataCgroupProcess -Id $burner.Id
        # The preflight's Psi check says whether this kernel keeps pressure figures per cgroup.
        if (Test-KcCapability Psi) {
            $psiFile | Should -Exist
            $s = Wait-KcStat $Path { param($s) $s.CpuPressureSomeTotalUsec -gt 0 }
            $s.CpuPressureSomeTotalUsec | Should -BeGreaterThan 0 -Because 'a task waiting out its quota is stalled on CPU'
            $s.CpuPressureSomeAvg10 | Should -Not -BeNullOrEmpty
            $s.MemoryPressureSomeAvg10 | Should -Not -BeNullOrEmpty
            $s.IoPressureFullTotalUsec | Should -Not -BeNullOrEmpty
        }
        else {
            (Get-KataCgroupStat -Path $Path).CpuPressureSomeAvg10 | Should -BeNullOrEmpty -Because "no PSI here: $(Get-KcMissingCapability Psi)"
        }
    }

    It 'binds -Path from Get-KataCgroup output, and reports a missing cgroup as CgroupNotFound while going on' {
        $out = @(Get-KataCgroup -Path $Path | Get-KataCgroupStat)
        $out.Count | Should -Be 1
        $out[0].CgroupPath | Should -Be $Cg.CgroupPath
        $out[0].Path | Should -Be $Path
        $r = @(Get-KataCgroupStat -Path "$Root/pod1/gone", $Path -ErrorVariable errs -ErrorAction SilentlyContinue)
        $r.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'CgroupNotFound,*'
        { Get-KataCgroupStat -Path "$Root/pod1/gone" -ErrorAction Stop } | Should -Throw -ErrorId 'CgroupNotFound,KataCgroups.PowerShell.Commands.GetKataCgroupStatCommand'
    }

    It '-Watch samples until stopped: stopping the pipeline ends the wait between samples at once' {
        $ps = [PowerShell]::Create()
        try {
            $null = $ps.AddCommand('Import-Module').AddArgument((Get-KcModulePath)).AddStatement()
            $null = $ps.AddCommand('Get-KataCgroupStat').AddParameter('Path', $Path).AddParameter('Watch').AddParameter('Interval', 600)
            $output = [System.Management.Automation.PSDataCollection[psobject]]::new()
            $in = [System.Management.Automation.PSDataCollection[psobject]]::new()
            $in.Complete()
            $null = $ps.BeginInvoke($in, $output)
            for ($i = 0; $i -lt 300 -and $output.Count -eq 0; $i++) { Start-Sleep -Milliseconds 100 }
            $output.Count | Should -Be 1 -Because 'the first sample comes at once, the next after 600 s'
            $stopped = $ps.BeginStop($null, $null)
            $stopped.AsyncWaitHandle.WaitOne(20000) | Should -BeTrue -Because 'StopProcessing cancels the 600 s wait'
            $ps.InvocationStateInfo.State | Should -Be 'Stopped'
            $output[0].Sample | Should -Be 1
        }
        finally { $ps.Dispose() }
    }

    It 'without -Path, samples the Kata cgroups Get-KataCgroup lists (the whole host: under /vc and elsewhere)' {
        Register-KcVcBase
        $rel = $Root.TrimStart('/') + '/rel'
        $null = New-KataCgroup -Path $rel -WarningAction SilentlyContinue
        $all = @(Get-KataCgroupStat)
        $all.CgroupPath | Should -Contain "/vc$Root/kata_rel"
        $all.CgroupPath | Should -Contain $Cg.CgroupPath -Because 'a bare listing finds Kata cgroups outside /vc too'
    }
}
