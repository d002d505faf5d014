# Threads and moves on a pure cgroup v2 host (run inside the qemu guest by tests/Guest; on any other host these
# tests report themselves skipped, naming the host's cgroup mode). cgroup-v2.rst "Threads": a domain cgroup holds
# whole processes, so a thread id given for one moves its whole process (as Kata's AddThread does on v2), with a
# warning and the placement WholeProcess. Move-KataCgroupProcess (Kata's MoveTo) and the default sandbox layout on v2.

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
