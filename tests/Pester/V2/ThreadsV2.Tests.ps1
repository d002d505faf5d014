# Threads and moves on a pure cgroup v2 host (run inside the qemu guest by tests/Guest; on any other host these
# tests report themselves skipped, naming the host's cgroup mode). cgroup-v2.rst "Threads": a domain cgroup holds
# whole processes, so a thread id given for one moves its whole process (as Kata's AddThread does on v2), with a
# warning and the placement WholeProcess. Move-KataCgroupProcess (Kata's MoveTo) and the default sandbox layout on v2.
# In a threaded cgroup (cgroup.type threaded) a thread id is placed alone, through cgroup.threads, and the cgroup's
# cpu.max holds that thread; such a cgroup is removed with its lone thread moved to the parent, or its process killed.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot '../TestHelpers.psm1') -Force
    $script:NotV2 = Get-KcMissingCgroupMode Unified
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../TestHelpers.psm1') -Force
    Import-Module (Get-KcModulePath) -Force
    $Mount = Get-KcControllerMount unified
    # The cgroup2 path of each thread of a process.
    function Get-ThreadPath([int] $ProcessId, [int[]] $ThreadId) {
        foreach ($tid in $ThreadId) { (Get-KcThreadCgroup $ProcessId $tid)[''] }
    }
}

Describe "Threads and moves on cgroup v2$(if ($NotV2) { " (skipped: $NotV2)" })" -Skip:([bool] $NotV2) {
    BeforeEach {
        $Root = New-KcTestRoot
        $A = "$Root/pod1/a"; $B = "$Root/pod1/b"
        $CgA = "$Root/pod1/kata_a"; $CgB = "$Root/pod1/kata_b"
        New-KataCgroup -Path $A -WarningAction SilentlyContinue | Out-Null
        New-KataCgroup -Path $B -WarningAction SilentlyContinue | Out-Null
    }
    AfterEach { Clear-KcTestState }

    It '-ThreadId on a domain cgroup moves the whole process, and says so' {
        $vmm = Start-KcThreadedProcess -Vcpu 2 -Other 1
        Add-KataCgroupProcess -Path $A -Id $vmm.Id
        Add-KataCgroupProcess -Path $B -ThreadId $vmm.Vcpus[0] -WarningVariable w -WarningAction SilentlyContinue
        @($w).Count | Should -BeGreaterThan 0
        "$w" | Should -Match 'whole'
        $all = @($vmm.Id) + $vmm.Vcpus + $vmm.Others
        @(Get-ThreadPath $vmm.Id $all | Select-Object -Unique) | Should -Be @($CgB) -Because 'every thread of a process is in one domain cgroup'
        (Get-KataCgroup -Path $B).Pids | Should -Be @($vmm.Id)
        (Get-KataCgroup -Path $B).Threads | Should -BeNullOrEmpty
    }

    It 'Move-KataCgroupProcess moves every process of the source into the destination' {
        $vmm = Start-KcThreadedProcess -Vcpu 2 -Other 1
        $sleep = Start-KcSleep
        Add-KataCgroupProcess -Path $A -Id $vmm.Id, $sleep.Id
        $m = Move-KataCgroupProcess -Path $A -Destination $B
        $m.Processes | Should -Be (@($vmm.Id, $sleep.Id) | Sort-Object)
        $m.From | Should -Be $CgA
        $m.To | Should -Be $CgB
        [IO.File]::ReadAllText("$Mount$CgA/cgroup.procs").Trim() | Should -BeNullOrEmpty
        @(Get-ThreadPath $vmm.Id (@($vmm.Id) + $vmm.Vcpus + $vmm.Others) | Select-Object -Unique) | Should -Be @($CgB)
        (Move-KataCgroupProcess -Path $B -ToParent).To | Should -Be "$Root/pod1"
        [IO.File]::ReadAllText("$Mount$CgB/cgroup.procs").Trim() | Should -BeNullOrEmpty
    }

    It "the default sandbox layout on v2: the vCPU threads take the whole VMM into the sandbox cgroup, with a warning" {
        $id = 'sb' + [guid]::NewGuid().ToString('n').Substring(0, 6)
        $sb = New-KataSandbox -PodPath "$Root/pod2" -SandboxId $id -OverheadRoot "$Root/kata_overhead" -PidsLimit 64 -WarningAction SilentlyContinue
        $sb.Layout | Should -Be 'Overhead'
        $vmm = Start-KcThreadedProcess -Vcpu 2 -Other 1
        $placed = $sb | Add-KataSandboxVmm -Id $vmm.Id -PassThru -WarningVariable w -WarningAction SilentlyContinue
        $placed.VcpuThreadIds | Should -Be $vmm.Vcpus
        $placed.VcpuPlacement | Should -Be 'WholeProcess'
        "$w" | Should -Match 'whole VMM'
        @(Get-ThreadPath $vmm.Id (@($vmm.Id) + $vmm.Vcpus + $vmm.Others) | Select-Object -Unique) | Should -Be @("$Root/pod2/kata_$id")
        $sb | Remove-KataSandbox -Kill
        $vmm.Process.WaitForExit(10000) | Should -BeTrue
        Get-KcExistingDirectory "$Root/pod2/kata_$id" | Should -BeNullOrEmpty
        Get-KcExistingDirectory "$Root/kata_overhead/$id" | Should -BeNullOrEmpty
    }
}

# A threaded subtree, made as a user makes one: two cgroups created by the module under a pod parent, then turned
# threaded through their cgroup.type (the module creates domain cgroups; cgroup-v2.rst "Threads"). The parent becomes
# the subtree's domain ("domain threaded"); that is allowed only while it enables no domain controller for its
# children, so the sandbox asks for a CPU quota alone (cpu is a threaded controller) and the pod enables just cpu.
# The VMM stand-in lives in the overhead cgroup and one vCPU thread is placed alone in the sandbox.
Describe "Threaded cgroups on cgroup v2: a single thread placed alone$(if ($NotV2) { " (skipped: $NotV2)" })" -Skip:([bool] $NotV2) {
    BeforeAll {
        Import-Module (Join-Path $PSScriptRoot '../../Vmm/Vmm.psm1') -Force
        function Read-ThreadList([string] $CgroupPath) {
            @([IO.File]::ReadAllLines("$Mount$CgroupPath/cgroup.threads") | ForEach-Object { [int] $_ } | Sort-Object)
        }
        function Read-CpuStat([string] $CgroupPath) {
            $stat = @{}
            foreach ($line in [IO.File]::ReadAllLines("$Mount$CgroupPath/cpu.stat")) { $k, $v = $line.Split(' '); $stat[$k] = [long] $v }
            $stat
        }
    }
    BeforeEach {
        $Root = New-KcTestRoot
        $Pod = "$Root/tpod"
        $Sb = "$Pod/vcpu"; $Ov = "$Pod/rest"
        $CgSb = "$Pod/kata_vcpu"; $CgOv = "$Pod/kata_rest"
        New-KataCgroup -Path $Sb -CpuQuota 20000 -CpuPeriod 100000 -WarningAction SilentlyContinue -ErrorAction Stop | Out-Null
        New-KataCgroup -Path $Ov -WarningAction SilentlyContinue -ErrorAction Stop | Out-Null
        [IO.File]::ReadAllText("$Mount$Pod/cgroup.subtree_control").Trim() | Should -Be 'cpu' -Because 'the quota enables cpu alone, which a threaded subtree allows'
        foreach ($cg in $CgSb, $CgOv) { [IO.File]::WriteAllText("$Mount$cg/cgroup.type", 'threaded') }
        [IO.File]::ReadAllText("$Mount$Pod/cgroup.type").Trim() | Should -Be 'domain threaded'
    }
    AfterEach { Clear-KcTestState }

    It '-ThreadId on a threaded cgroup moves exactly that thread, and the cgroup''s CPU quota holds that thread' {
        $vmm = Start-KcThreadedProcess -Vcpu 1 -Other 1 -Busy
        $rest = @($vmm.Id) + $vmm.Others | Sort-Object
        Add-KataCgroupProcess -Path $Ov -Id $vmm.Id -ErrorAction Stop
        Add-KataCgroupProcess -Path $Sb -ThreadId $vmm.Vcpus[0] -WarningVariable w -ErrorAction Stop
        @($w).Count | Should -Be 0 -Because 'a threaded cgroup takes the thread alone: nothing to warn about'
        Read-ThreadList $CgSb | Should -Be @($vmm.Vcpus[0])
        Read-ThreadList $CgOv | Should -Be $rest
        Get-ThreadPath $vmm.Id $vmm.Vcpus[0] | Should -Be $CgSb
        @(Get-ThreadPath $vmm.Id $rest | Select-Object -Unique) | Should -Be @($CgOv)
        $sb = Get-KataCgroup -Path $Sb
        $sb.Threads | Should -Be @($vmm.Vcpus[0])
        $sb.Pids | Should -BeNullOrEmpty -Because 'its process is not in it'
        (Get-KataCgroup -Path $Ov).Pids | Should -Be @($vmm.Id)

        $held = Measure-KcThreadCpu $vmm.Id $vmm.Vcpus[0] -Seconds 2 `
            -Before { @{ Sb = Read-CpuStat $CgSb; Ov = Read-CpuStat $CgOv } } -After { @{ Sb = Read-CpuStat $CgSb; Ov = Read-CpuStat $CgOv } }
        $throttled = $held.After.Sb.nr_throttled - $held.Before.Sb.nr_throttled
        $sbUsec = $held.After.Sb.usage_usec - $held.Before.Sb.usage_usec
        $ovUsec = $held.After.Ov.usage_usec - $held.Before.Ov.usage_usec
        Write-Host ("    busy vCPU thread in a threaded cgroup at a 20 % cpu.max: ran {0:P1} of a CPU; nr_throttled +{1} of {2} periods; sandbox usage {3} ms, overhead usage {4} ms in {5:N2} s" -f
            $held.Run, $throttled, ($held.After.Sb.nr_periods - $held.Before.Sb.nr_periods), [math]::Round($sbUsec / 1000), [math]::Round($ovUsec / 1000), $held.Seconds)
        $throttled | Should -BeGreaterOrEqual 5 -Because 'a thread that never sleeps exhausts a 20 ms quota in most of the ~20 periods'
        $held.Run | Should -BeLessOrEqual 0.30 -Because 'the thread runs at most about 20 ms of every 100 ms period'
        $sbUsec | Should -BeGreaterOrEqual ($held.Run * $held.Seconds * 1e6 * 0.8) -Because "the thread's CPU time is charged to the sandbox cgroup"
        $ovUsec | Should -BeLessThan ($sbUsec / 2) -Because 'the rest of the process sleeps in the overhead cgroup'
        $held.After.Ov.nr_throttled | Should -Be 0
    }

    It 'refuses a thread from outside the subtree, moves threads alone between threaded cgroups; Remove-KataCgroup moves a lone thread to the parent, and -Kill ends its process' {
        $vmm = Start-KcThreadedProcess -Vcpu 2 -Other 1
        Add-KataCgroupProcess -Path $Sb -ThreadId $vmm.Vcpus[0] -ErrorVariable e -ErrorAction SilentlyContinue
        $e.FullyQualifiedErrorId | Should -Match '^ProcessMoveFailed,'
        "$e" | Should -Match 'EOPNOTSUPP' -Because 'a thread moves alone only within the threaded subtree its process is in'
        Get-ThreadPath $vmm.Id $vmm.Vcpus[0] | Should -Not -Be $CgSb
        Add-KataCgroupProcess -Path $Ov -Id $vmm.Id -ErrorAction Stop
        Add-KataCgroupProcess -Path $Sb -ThreadId $vmm.Vcpus -ErrorAction Stop
        Read-ThreadList $CgSb | Should -Be $vmm.Vcpus

        $m = Move-KataCgroupProcess -Path $Sb -Destination $Ov -ErrorAction Stop
        $m.Threads | Should -Be $vmm.Vcpus
        $m.Processes | Should -BeNullOrEmpty
        Read-ThreadList $CgSb | Should -BeNullOrEmpty
        Read-ThreadList $CgOv | Should -Be (@($vmm.Id) + $vmm.Vcpus + $vmm.Others | Sort-Object)

        Add-KataCgroupProcess -Path $Sb -ThreadId $vmm.Vcpus[0] -ErrorAction Stop
        $r = Remove-KataCgroup -Path $Sb -PassThru -ErrorAction Stop
        $r.MovedProcesses | Should -Be 1
        Get-KcExistingDirectory $CgSb | Should -BeNullOrEmpty
        Get-ThreadPath $vmm.Id $vmm.Vcpus[0] | Should -Be $Pod -Because 'a thread leaves a removed threaded cgroup alone, for its parent'
        Get-ThreadPath $vmm.Id $vmm.Id | Should -Be $CgOv
        $vmm.Process.HasExited | Should -BeFalse

        $k = Remove-KataCgroup -Path $Ov -Kill -PassThru -ErrorAction Stop
        $k.KilledProcesses | Should -Be 1
        $vmm.Process.WaitForExit(10000) | Should -BeTrue
        Get-KcExistingDirectory $CgOv | Should -BeNullOrEmpty
    }
}
