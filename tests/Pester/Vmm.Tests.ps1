# A real VMM held to its limits on this host (cgroup v1/hybrid): qemu-system-x86_64 under TCG boots Debian's kernel
# with a guest whose vCPU never idles (tests/Vmm), is placed in a sandbox cgroup by the module, and the kernel is
# asked whether the limits hold, not only whether the files say so: the vCPU's CPU time over a few seconds against
# a 20 % CFS quota and the throttling cpu.stat counts, the VMM's memory charged to the sandbox and an OOM kill at its
# limit reported by Wait-KataCgroupEvent, the guest's console counter stopped by Suspend-KataCgroup and moving again
# after Resume-KataCgroup, and Remove-KataCgroup -Kill ending the VMM. Then Kata's two layouts with one more VMM
# (New-KataSandbox, Add-KataSandboxVmm): SandboxCgroupOnly=false puts the vCPU thread, found by its QEMU name, in the
# sandbox cgroup, where the quota throttles it, and the rest of the VMM in the overhead cgroup, which is never
# throttled; SandboxCgroupOnly=true puts all of it in the sandbox cgroup; Remove-KataSandbox undoes both. Three VMM
# boots; 45-70 s on a loaded 2-core host.
#
# CPU figures come from /proc/<pid>/task/<tid>/schedstat (time on a CPU, time runnable but waiting) and the
# cgroup's cpuacct.usage. They hold on a busy machine: the test's cgroups carry the highest CPU weight, so the vCPU
# gets a CPU whatever else runs (measured: a whole CPU without the quota at a load average of 26 on 2 cores), and
# its runnable time shows it wants one, which load does not change.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot '../Vmm/Vmm.psm1') -Force
    Import-Module (Get-KcModulePath) -Force

    # What these tests need: a v1 or hybrid host (tests/Pester/V2 runs on v2) and QEMU (a failure in CI).
    $script:Missing = @((Get-KcMissingCgroupMode Legacy, Hybrid), (Get-KcMissingVmm) | Where-Object { $_ }) -join '; '

    function Set-KcTestCpuWeight {
        <# cpu.shares 262144 on a test cgroup the module made as a parent and on each test cgroup above it, up to the test root. #>
        param([string] $CgroupPath)
        $mount = Get-KcControllerMount cpu
        for ($p = $CgroupPath; $p -like '/kctest-*'; $p = $p.Substring(0, $p.LastIndexOf('/'))) {
            [System.IO.File]::WriteAllText("$mount$p/cpu.shares", '262144')
        }
    }

    function Read-KcCpuCounter {
        <# The sandbox's cpuacct.usage (ns) and cpu.stat counters, straight from cgroupfs. #>
        param([string] $CgroupPath)
        $stat = @{}
        foreach ($line in (Get-KcCgroupFile cpu $CgroupPath cpu.stat) -split "`n") {
            $k, $v = $line.Split(' '); $stat[$k] = [long] $v
        }
        [pscustomobject]@{
            UsageNs       = [long] (Get-KcCgroupFile cpuacct $CgroupPath cpuacct.usage)
            NrPeriods     = $stat.nr_periods
            NrThrottled   = $stat.nr_throttled
            ThrottledNs   = $stat.throttled_time
        }
    }
}

AfterAll {
    Clear-KcVmm
    Clear-KcTestState
}

Describe 'A QEMU VMM in a sandbox cgroup: CPU quota, freezer and kill enforced (cgroup v1)' {
    BeforeAll {
        $Root = New-KcTestRoot
        if (-not $Missing) {
            # The VMM is placed while it is still the shell that will exec QEMU (Start-KcVmm -Gated), so every page
            # it touches is charged to the sandbox: v1 leaves a moved task's earlier charges where they were
            # (cgroup-v1/memory.rst, "Move charges at task migration").
            # The highest CPU weight (cpu.shares 262144, MAX_SHARES) on the sandbox and on the test's own cgroups above
            # it (a weight counts among siblings: sched-design-CFS.rst, "Group scheduler extensions") lets the vCPU
            # win its CPU from whatever else runs on this machine, so it reaches the quota set later however loaded
            # the host is: the quota, not the load, is then what holds it.
            $Cg = New-KataCgroup -Path "$Root/pod/sandbox" -MemoryLimit 512MB -CpuShares 262144 -WarningAction SilentlyContinue -ErrorAction Stop
            Set-KcTestCpuWeight "$Root/pod"
            $Vmm = Start-KcVmm -Guest Linux -MemoryMB 256 -Gated
            $Cg | Add-KataCgroupProcess -Id $Vmm.Id -ErrorAction Stop
            Open-KcVmmGate $Vmm
            $null = Wait-KcVmmProgress $Vmm
            $Vcpu = @(Get-KcVmmThread $Vmm | Where-Object IsVcpu)
        }
    }
    AfterAll {
        Clear-KcVmm
        Clear-KcTestState
    }

    It 'runs every thread of the VMM, vCPU included, in the sandbox cgroup, and charges its memory there under the limit' {
        Skip-KcBecause $Missing
        $threads = @(Get-KcVmmThread $Vmm)
        $Vcpu.Count | Should -Be 1 -Because "-smp 1 with debug-threads=on names one thread 'CPU 0/TCG' (threads: $($threads.Name -join ', '))"
        $threads.Count | Should -BeGreaterThan 1
        Assert-KcVmmThread $Vmm $threads -V1Path $Cg.CgroupPath
        (Get-KataCgroup -Path "$Root/pod/sandbox").Pids | Should -Contain $Vmm.Id

        # The booted guest's RAM is the VMM's anonymous memory; all of it is charged to the sandbox.
        $anon = Get-KcVmmRssAnon $Vmm
        $usage = [long] (Get-KcCgroupFile memory $Cg.CgroupPath memory.usage_in_bytes)
        $limit = [long] (Get-KcCgroupFile memory $Cg.CgroupPath memory.limit_in_bytes)
        $limit | Should -Be 512MB
        $anon | Should -BeGreaterThan 32MB -Because 'a booted guest has touched tens of MiB of its RAM'
        $usage | Should -BeGreaterOrEqual ([long] ($anon * 0.9)) -Because "the VMM's anonymous memory ($anon B) is charged to the sandbox"
        $usage | Should -BeLessOrEqual $limit
        $stat = Get-KataCgroupStat -Path "$Root/pod/sandbox"
        $stat.MemoryLimitBytes | Should -Be 512MB
        $stat.MemoryUsageBytes | Should -BeGreaterOrEqual ([long] ($anon * 0.9))
        Write-Host "    VMM $($Vmm.Id): threads $($threads.Name -join ', '); RssAnon $([math]::Round($anon / 1MB)) MiB, sandbox usage $([math]::Round($usage / 1MB)) MiB of $([math]::Round($limit / 1MB)) MiB"
    }

    It 'holds the vCPU to a 20 % CPU quota, and cpu.stat counts the throttling; without it the vCPU wants a whole CPU' {
        Skip-KcBecause $Missing
        $tids = $Vcpu.Id
        # Unlimited first: the guest's loop keeps its vCPU runnable all the time, on a CPU or queued behind other work.
        $free = Measure-KcThreadCpu $Vmm.Id $tids -Seconds 2 -Before { Read-KcCpuCounter $Cg.CgroupPath } -After { Read-KcCpuCounter $Cg.CgroupPath }
        $free.Runnable | Should -BeGreaterThan 0.9 -Because 'a busy vCPU is runnable for the whole interval (it ran or waited for a CPU)'
        $free.Run | Should -BeGreaterOrEqual 0.6 -Because 'unlimited and with the highest weight, the vCPU gets most of a CPU'
        ($free.After.NrThrottled - $free.Before.NrThrottled) | Should -Be 0 -Because 'no quota, no throttling'

        Set-KataCgroupResource -Path "$Root/pod/sandbox" -CpuQuota 20000 -CpuPeriod 100000 -ErrorAction Stop
        Get-KcCgroupFile cpu $Cg.CgroupPath cpu.cfs_quota_us | Should -Be '20000'
        Get-KcCgroupFile cpu $Cg.CgroupPath cpu.cfs_period_us | Should -Be '100000'
        $held = Measure-KcThreadCpu $Vmm.Id $tids -Seconds 3 -Before { Read-KcCpuCounter $Cg.CgroupPath } -After { Read-KcCpuCounter $Cg.CgroupPath }
        $wallNs = $held.Seconds * 1e9
        $vmmShare = ($held.After.UsageNs - $held.Before.UsageNs) / $wallNs
        $throttled = $held.After.NrThrottled - $held.Before.NrThrottled
        $periods = $held.After.NrPeriods - $held.Before.NrPeriods
        Write-Host ("    vCPU: unlimited ran {0:P0} of a CPU (runnable {1:P0}); at a 20 % quota ran {2:P1} (runnable {3:P0}), the whole VMM {4:P1}; nr_throttled +{5} of {6} periods, throttled {7:N2} s in {8:N2} s" -f
            $free.Run, $free.Runnable, $held.Run, $held.Runnable, $vmmShare, $throttled, $periods, (($held.After.ThrottledNs - $held.Before.ThrottledNs) / 1e9), $held.Seconds)
        $held.Run | Should -BeLessOrEqual 0.30 -Because 'the vCPU thread runs at most about 20 ms of every 100 ms period'
        $held.Run | Should -BeGreaterOrEqual 0.10 -Because 'with the highest weight it still gets about its 20 ms'
        $vmmShare | Should -BeLessOrEqual 0.30 -Because "the quota holds every thread of the VMM together (cpuacct.usage)"
        $throttled | Should -BeGreaterOrEqual 5 -Because 'a vCPU that wants a whole CPU exhausts a 20 ms quota in most of the ~30 periods'
        ($held.After.ThrottledNs - $held.Before.ThrottledNs) | Should -BeGreaterThan 0
        (Get-KataCgroupStat -Path "$Root/pod/sandbox").CpuThrottledPeriods | Should -BeGreaterOrEqual $held.After.NrThrottled
    }

    It 'Suspend-KataCgroup stops the guest (its console counter and the vCPU thread), Resume-KataCgroup restarts it' {
        Skip-KcBecause $Missing
        Skip-KcUnlessCapability Freezer
        $moving = Wait-KcVmmProgress $Vmm -From (Get-KcVmmProgress $Vmm) -TimeoutSeconds 30
        Suspend-KataCgroup -Path "$Root/pod/sandbox" -ErrorAction Stop
        Get-KcCgroupFile freezer $Cg.CgroupPath freezer.state | Should -Be 'FROZEN'
        $at = Get-KcVmmProgress $Vmm
        $ran = Get-KcThreadSchedStat $Vmm.Id $Vcpu.Id
        Start-Sleep -Milliseconds 1500
        Get-KcVmmProgress $Vmm | Should -Be $at -Because 'a frozen VMM runs no guest code'
        (Get-KcThreadSchedStat $Vmm.Id $Vcpu.Id).RunNs | Should -Be $ran.RunNs -Because 'no thread of a frozen cgroup is scheduled'
        Resume-KataCgroup -Path "$Root/pod/sandbox" -ErrorAction Stop
        Get-KcCgroupFile freezer $Cg.CgroupPath freezer.state | Should -Be 'THAWED'
        $after = Wait-KcVmmProgress $Vmm -From $at -TimeoutSeconds 30
        $after | Should -BeGreaterThan $at
        Write-Host "    console counter: $moving before Suspend, $at frozen for 1.5 s, $after after Resume"
    }

    It 'Remove-KataCgroup -Kill ends the VMM and leaves no cgroup and no process' {
        Skip-KcBecause $Missing
        Remove-KataCgroup -Path "$Root/pod/sandbox" -Kill -ErrorAction Stop
        $Vmm.Process.WaitForExit(10000) | Should -BeTrue -Because 'the VMM was killed'
        $Vmm.Process.ExitCode | Should -Be 137 -Because 'SIGKILL ended it'
        [System.IO.Directory]::Exists("/proc/$($Vmm.Id)") | Should -BeFalse
        Get-KcExistingDirectory $Cg.CgroupPath | Should -BeNullOrEmpty
    }
}

Describe 'A QEMU VMM at its memory limit: the OOM kill is reported (cgroup v1)' {
    BeforeAll { $Root = New-KcTestRoot }
    AfterAll {
        Clear-KcVmm
        Clear-KcTestState
    }

    It 'a guest that touches more RAM than the sandbox allows gets its VMM OOM-killed, and Wait-KataCgroupEvent reports it' {
        Skip-KcBecause $Missing
        Skip-KcBecause (Get-KcMissingSwapConfinement)
        # 256 MiB of guest RAM of which the guest fills 160 MiB after booting: the VMM needs well over 192 MiB.
        $limit = @{ MemoryLimit = 192MB }
        if (Test-KcCapability SwapAccounting) { $limit.MemorySwap = 192MB }
        $cg = New-KataCgroup -Path "$Root/pod/sandbox" @limit -WarningAction SilentlyContinue -ErrorAction Stop
        $wait = Start-KcWait "$Root/pod/sandbox" '-Event OomKill -Timeout 120'
        $vmm = Start-KcVmm -Guest Linux -MemoryMB 256 -FillMB 160 -Gated
        $cg | Add-KataCgroupProcess -Id $vmm.Id -ErrorAction Stop
        Open-KcVmmGate $vmm
        $vmm.Process.WaitForExit(120000) | Should -BeTrue -Because "the VMM is OOM-killed once the guest fills its RAM: $(Get-KcVmmFailure $vmm)"
        $vmm.Process.ExitCode | Should -Be 137 -Because 'the OOM killer sends SIGKILL'
        $r = Complete-KcWait $wait
        $r.Errors | Should -BeNullOrEmpty
        @($r.Output).Count | Should -Be 1
        $r.Output[0].Event | Should -Be 'OomKill'
        $r.Output[0].CgroupPath | Should -Be $cg.CgroupPath
        $console = Get-KcVmmConsole $vmm
        $console | Should -Match 'kc-ready' -Because 'the guest booted before it ran out of memory'
        $console | Should -Not -Match 'kc-filled 160' -Because 'the VMM died before the guest filled all it asked for'
        $peak = [long] (Get-KcCgroupFile memory $cg.CgroupPath memory.max_usage_in_bytes)
        $peak | Should -Be 192MB -Because 'the VMM''s usage reached the limit and no further'
        $stat = Get-KataCgroupStat -Path "$Root/pod/sandbox"
        $stat.OomKillCount | Should -Be 1
        $filled = [regex]::Matches($console, 'kc-filled (\d+)') | Select-Object -Last 1
        Write-Host "    VMM OOM-killed at a 192 MiB limit (peak usage $($peak / 1MB) MiB); the guest had filled $(if ($filled) { $filled.Groups[1].Value } else { 0 }) of 160 MiB"
        Remove-KataCgroup -Path "$Root/pod/sandbox" -ErrorAction Stop
    }
}

Describe "Kata's two layouts with a QEMU VMM: vCPU threads held, the overhead not (cgroup v1)" {
    BeforeAll {
        $Root = New-KcTestRoot
        $Pod = "$Root/pod"
        $Overhead = "$Root/kata_overhead"
        if (-not $Missing) {
            # Started unplaced, as Kata starts its VMM: the vCPU threads exist (and are found by name) once QEMU runs.
            $Vmm = Start-KcVmm -Guest Linux -MemoryMB 128
            $null = Wait-KcVmmProgress $Vmm
            $Vcpu = @(Get-KcVmmThread $Vmm | Where-Object IsVcpu)
            $Rest = @(Get-KcVmmThread $Vmm | Where-Object { -not $_.IsVcpu })
        }

    }
    AfterAll {
        Clear-KcVmm
        Clear-KcTestState
    }

    It 'SandboxCgroupOnly=false: the vCPU thread (found by its name) in the sandbox cgroup under a 20 % quota and throttled there, the rest of the VMM in the overhead cgroup, never throttled; removal undoes both' {
        Skip-KcBecause $Missing
        $sb = New-KataSandbox -PodPath $Pod -SandboxId vm1 -OverheadRoot $Overhead -CpuQuota 20000 -CpuPeriod 100000 -CpuShares 262144 -WarningAction SilentlyContinue -ErrorAction Stop
        Set-KcTestCpuWeight $Pod
        $placed = $sb | Add-KataSandboxVmm -Id $Vmm.Id -PassThru -ErrorAction Stop
        $placed.VcpuPlacement | Should -Be 'Thread'
        $placed.VcpuThreadIds | Should -Be $Vcpu.Id -Because "QEMU names its vCPU thread '$($Vcpu.Name)'"
        # v1 moves the single thread in every v1 hierarchy (tasks); the cgroup2 tree of a hybrid host keeps it with its
        # process, in the overhead cgroup.
        Assert-KcVmmThread $Vmm $Vcpu -V1Path $sb.SandboxCgroupPath -UnifiedPath $sb.OverheadCgroupPath
        Assert-KcVmmThread $Vmm $Rest -V1Path $sb.OverheadCgroupPath -UnifiedPath $sb.OverheadCgroupPath
        Get-KcCgroupFile cpu $sb.OverheadCgroupPath cpu.cfs_quota_us | Should -Be '-1' -Because 'the overhead cgroup has no limits'

        $read = { [pscustomobject]@{ Sandbox = Read-KcCpuCounter $sb.SandboxCgroupPath; Overhead = Read-KcCpuCounter $sb.OverheadCgroupPath } }
        $held = Measure-KcThreadCpu $Vmm.Id $Vcpu.Id -Seconds 3 -Before $read -After $read
        $throttled = $held.After.Sandbox.NrThrottled - $held.Before.Sandbox.NrThrottled
        $overheadNs = $held.After.Overhead.UsageNs - $held.Before.Overhead.UsageNs
        $layout = Get-KataSandbox -PodPath $Pod -SandboxId vm1 -OverheadRoot $Overhead
        Write-Host ("    layout: sandbox {0} threads {1}; overhead {2} pids {3} ({4}); vCPU ran {5:P1} of a CPU at the 20 % quota, nr_throttled +{6} of {7} periods; overhead used {8:N3} s CPU, nr_throttled {9}" -f
            $sb.SandboxCgroupPath, ($layout.SandboxThreads -join ','), $sb.OverheadCgroupPath, ($layout.OverheadPids -join ','), ($Rest.Name -join ', '),
            $held.Run, $throttled, ($held.After.Sandbox.NrPeriods - $held.Before.Sandbox.NrPeriods), ($overheadNs / 1e9), $held.After.Overhead.NrThrottled)
        $layout.SandboxThreads | Should -Be $Vcpu.Id
        $layout.OverheadPids | Should -Be @($Vmm.Id)
        $held.Run | Should -BeLessOrEqual 0.30 -Because 'the vCPU thread runs at most about 20 ms of every 100 ms period'
        $held.Run | Should -BeGreaterOrEqual 0.10 -Because 'with the highest weight it still gets about its 20 ms'
        $throttled | Should -BeGreaterOrEqual 5 -Because 'the vCPU exhausts its 20 ms in most periods'
        $held.After.Overhead.NrThrottled | Should -Be 0 -Because 'the overhead cgroup (QEMU''s main loop and helpers) is never throttled'

        Remove-KataSandbox -PodPath $Pod -SandboxId vm1 -OverheadRoot $Overhead -ErrorAction Stop
        Get-KcExistingDirectory $sb.SandboxCgroupPath | Should -BeNullOrEmpty
        Get-KcExistingDirectory $sb.OverheadCgroupPath | Should -BeNullOrEmpty
        $Vmm.Process.HasExited | Should -BeFalse -Because 'a removal without -Kill moves the VMM out and leaves it running'
        foreach ($t in Get-KcVmmThread $Vmm) {
            (Get-KcThreadCgroup $Vmm.Id $t.Id).Values | Should -BeIn @($Pod, $Overhead) -Because "thread $($t.Id) went back to a parent cgroup"
        }
    }

    It 'SandboxCgroupOnly=true: every thread of the same VMM in the sandbox cgroup under the quota; Remove-KataSandbox -Kill ends it and leaves nothing' {
        Skip-KcBecause $Missing
        $sb = New-KataSandbox -PodPath $Pod -SandboxId vm2 -OverheadRoot $Overhead -SandboxCgroupOnly -CpuQuota 20000 -CpuPeriod 100000 -CpuShares 262144 -WarningAction SilentlyContinue -ErrorAction Stop
        $sb | Add-KataSandboxVmm -Id $Vmm.Id -ErrorAction Stop
        Assert-KcVmmThread $Vmm @(Get-KcVmmThread $Vmm) -V1Path $sb.SandboxCgroupPath -UnifiedPath $sb.SandboxCgroupPath
        Get-KcExistingDirectory "$Overhead/vm2" | Should -BeNullOrEmpty -Because 'this layout has no overhead cgroup'
        $held = Measure-KcThreadCpu $Vmm.Id $Vcpu.Id -Seconds 2 -Before { Read-KcCpuCounter $sb.SandboxCgroupPath } -After { Read-KcCpuCounter $sb.SandboxCgroupPath }
        $vmmShare = ($held.After.UsageNs - $held.Before.UsageNs) / ($held.Seconds * 1e9)
        Write-Host ("    SandboxCgroupOnly: the whole VMM ran {0:P1} of a CPU at the 20 % quota (vCPU {1:P1}), nr_throttled +{2}" -f $vmmShare, $held.Run, ($held.After.NrThrottled - $held.Before.NrThrottled))
        $vmmShare | Should -BeLessOrEqual 0.30 -Because 'the quota holds every thread of the VMM together'
        ($held.After.NrThrottled - $held.Before.NrThrottled) | Should -BeGreaterOrEqual 3

        Remove-KataSandbox -PodPath $Pod -SandboxId vm2 -OverheadRoot $Overhead -Kill -ErrorAction Stop
        $Vmm.Process.WaitForExit(10000) | Should -BeTrue -Because 'the VMM was killed'
        Get-KcExistingDirectory $sb.SandboxCgroupPath | Should -BeNullOrEmpty
    }
}
