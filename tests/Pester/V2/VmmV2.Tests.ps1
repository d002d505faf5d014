# A real VMM held to its limits on a pure cgroup v2 host (the qemu guest of tests/Guest/run-guest.sh --mode v2;
# skipped elsewhere), as tests/Pester/Vmm.Tests.ps1 does on v1. Here QEMU itself runs under emulation (TCG inside a
# TCG guest), where Debian's kernel did not reach its first console tick within 8 minutes, so the VMM runs the
# firmware guest of tests/Vmm (a few-instruction loop writing a '.' to the serial port): QEMU starts in a few seconds
# and its vCPU never idles. One VMM start: a QEMU start costs 10 to 60 s of the tier's time there, so the OOM of a real
# VMM is left to the v1 file (EventsFreezerV2.Tests.ps1 has the v2 OOM report with a memory hog).
#
# Asked of the kernel: every thread in the sandbox (0:: line) and the VMM's memory in memory.current; the vCPU's CPU
# time against a 20 % cpu.max and nr_throttled in cpu.stat; cgroup.freeze stops the console counter and the vCPU
# thread; and cgroup.kill (Remove-KataCgroup -Kill) ends the VMM. As on v1 the test's cgroups carry the highest CPU
# weight, so the vCPU gets its CPU whatever else runs.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot '../TestHelpers.psm1') -Force
    # '' where the block can run, else why not: in the block's name, since -Skip shows no reason
    $script:NotV2 = Get-KcMissingCgroupMode Unified
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../TestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot '../../Vmm/Vmm.psm1') -Force
    Import-Module (Get-KcModulePath) -Force
    $script:Mount = '/sys/fs/cgroup'

    function Read-KcCpuStat {
        <# cpu.stat of a v2 cgroup as a hashtable of its counters (usage_usec, nr_periods, nr_throttled, throttled_usec …). #>
        param([string] $CgroupPath)
        $stat = @{}
        foreach ($line in [IO.File]::ReadAllLines("$Mount$CgroupPath/cpu.stat")) { $k, $v = $line.Split(' '); $stat[$k] = [long] $v }
        $stat
    }
}

AfterAll {
    Clear-KcVmm
    Clear-KcTestState
}

Describe "cgroup v2: a QEMU VMM in a sandbox cgroup held to its limits$(if ($NotV2) { " (skipped: $NotV2)" })" -Skip:([bool] $NotV2) {
    BeforeAll {
        $Root = New-KcTestRoot
        $script:NoVmm = Get-KcMissingVmm
        if (-not $NoVmm) {
            # cpu.weight 10000 (from -CpuShares 262144) on the sandbox, and on the test cgroups above it (a weight
            # counts among siblings): the vCPU gets its CPU whatever else runs, and the quota is what holds it.
            $Cg = New-KataCgroup -Path "$Root/pod/sandbox" -MemoryLimit 256MB -CpuShares 262144 -WarningAction SilentlyContinue -ErrorAction Stop
            foreach ($p in "$Root/pod", $Root) { [IO.File]::WriteAllText("$Mount$p/cpu.weight", '10000') }
            # placed before QEMU runs (Start-KcVmm -Gated), so all its memory is charged to the sandbox
            $Vmm = Start-KcVmm -Guest Firmware -MemoryMB 16 -Gated
            $Cg | Add-KataCgroupProcess -Id $Vmm.Id -ErrorAction Stop
            Open-KcVmmGate $Vmm
            $null = Wait-KcVmmProgress $Vmm -TimeoutSeconds 120
            $Vcpu = @(Get-KcVmmThread $Vmm | Where-Object IsVcpu)
        }
    }
    AfterAll {
        Clear-KcVmm
        Clear-KcTestState
    }

    It 'runs every thread of the VMM in the sandbox cgroup and charges its memory there' {
        Skip-KcBecause $NoVmm
        $threads = @(Get-KcVmmThread $Vmm)
        $Vcpu.Count | Should -Be 1 -Because "-smp 1 with debug-threads=on names one thread 'CPU 0/TCG' (threads: $($threads.Name -join ', '))"
        Assert-KcVmmThread $Vmm $threads -V1Path $Cg.CgroupPath
        $anon = Get-KcVmmRssAnon $Vmm
        $current = [long] [IO.File]::ReadAllText("$Mount$($Cg.CgroupPath)/memory.current")
        $current | Should -BeGreaterOrEqual ([long] ($anon * 0.9)) -Because "the VMM's anonymous memory ($anon B) is charged to the sandbox"
        $current | Should -BeLessOrEqual 256MB
        Write-Host "    VMM $($Vmm.Id): threads $($threads.Name -join ', '); RssAnon $([math]::Round($anon / 1MB)) MiB, memory.current $([math]::Round($current / 1MB)) MiB"
    }

    It 'holds the vCPU to a 20 % cpu.max, and cpu.stat counts the throttling; without it the vCPU wants a whole CPU' {
        Skip-KcBecause $NoVmm
        $free = Measure-KcThreadCpu $Vmm.Id $Vcpu.Id -Seconds 2 -Before { Read-KcCpuStat $Cg.CgroupPath } -After { Read-KcCpuStat $Cg.CgroupPath }
        $free.Runnable | Should -BeGreaterThan 0.9 -Because 'a busy vCPU is runnable for the whole interval (it ran or waited for a CPU)'
        $free.Run | Should -BeGreaterOrEqual 0.6 -Because 'unlimited and with the highest weight, the vCPU gets most of a CPU'
        ($free.After.nr_throttled - $free.Before.nr_throttled) | Should -Be 0 -Because 'no quota, no throttling'

        Set-KataCgroupResource -Path "$Root/pod/sandbox" -CpuQuota 20000 -CpuPeriod 100000 -ErrorAction Stop
        [IO.File]::ReadAllText("$Mount$($Cg.CgroupPath)/cpu.max").Trim() | Should -Be '20000 100000'
        $held = Measure-KcThreadCpu $Vmm.Id $Vcpu.Id -Seconds 3 -Before { Read-KcCpuStat $Cg.CgroupPath } -After { Read-KcCpuStat $Cg.CgroupPath }
        $vmmShare = ($held.After.usage_usec - $held.Before.usage_usec) * 1e3 / ($held.Seconds * 1e9)
        $throttled = $held.After.nr_throttled - $held.Before.nr_throttled
        Write-Host ("    vCPU: unlimited ran {0:P0} of a CPU (runnable {1:P0}); at a 20 % cpu.max ran {2:P1}, the whole VMM {3:P1}; nr_throttled +{4} of {5} periods in {6:N2} s" -f
            $free.Run, $free.Runnable, $held.Run, $vmmShare, $throttled, ($held.After.nr_periods - $held.Before.nr_periods), $held.Seconds)
        $held.Run | Should -BeLessOrEqual 0.30 -Because 'the vCPU thread runs at most about 20 ms of every 100 ms period'
        $held.Run | Should -BeGreaterOrEqual 0.10 -Because 'with the highest weight it still gets about its 20 ms'
        $vmmShare | Should -BeLessOrEqual 0.30 -Because 'the quota holds every thread of the VMM together (usage_usec)'
        $throttled | Should -BeGreaterOrEqual 5 -Because 'a vCPU that wants a whole CPU exhausts a 20 ms quota in most of the ~30 periods'
        $held.After.throttled_usec | Should -BeGreaterThan $held.Before.throttled_usec
    }

    It 'Suspend-KataCgroup (cgroup.freeze) stops the console counter and the vCPU thread, Resume-KataCgroup restarts them' {
        Skip-KcBecause $NoVmm
        $null = Wait-KcVmmProgress $Vmm -From (Get-KcVmmProgress $Vmm) -TimeoutSeconds 30
        Suspend-KataCgroup -Path "$Root/pod/sandbox" -ErrorAction Stop
        [IO.File]::ReadAllText("$Mount$($Cg.CgroupPath)/cgroup.events") | Should -Match 'frozen 1'
        $at = Get-KcVmmProgress $Vmm
        $ran = Get-KcThreadSchedStat $Vmm.Id $Vcpu.Id
        Start-Sleep -Milliseconds 1500
        Get-KcVmmProgress $Vmm | Should -Be $at -Because 'a frozen VMM runs no guest code'
        (Get-KcThreadSchedStat $Vmm.Id $Vcpu.Id).RunNs | Should -Be $ran.RunNs -Because 'no thread of a frozen cgroup is scheduled'
        Resume-KataCgroup -Path "$Root/pod/sandbox" -ErrorAction Stop
        (Wait-KcVmmProgress $Vmm -From $at -TimeoutSeconds 30) | Should -BeGreaterThan $at
    }

    It 'Remove-KataCgroup -Kill (cgroup.kill) ends the VMM and leaves no cgroup and no process' {
        Skip-KcBecause $NoVmm
        Remove-KataCgroup -Path "$Root/pod/sandbox" -Kill -ErrorAction Stop
        $Vmm.Process.WaitForExit(10000) | Should -BeTrue -Because 'the VMM was killed'
        $Vmm.Process.ExitCode | Should -Be 137 -Because 'SIGKILL ended it'
        Get-KcExistingDirectory $Cg.CgroupPath | Should -BeNullOrEmpty
    }
}
