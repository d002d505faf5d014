# Threads and moves on the real cgroup v1/hybrid host (on a unified host these tests report themselves skipped,
# naming the mode; tests/Pester/V2/ThreadsV2.Tests.ps1 covers v2): Add-KataCgroupProcess -ThreadId (a thread alone,
# v1 tasks), Get-KataCgroup's Threads, Move-KataCgroupProcess (Kata's MoveTo) with processes that fork and threads
# that exit during the move, and the two sandbox layouts (New-KataSandbox, Add-KataSandboxVmm, Get-KataSandbox,
# Remove-KataSandbox) with a multi-threaded stand-in VMM whose threads carry QEMU's vCPU thread names.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:NotV1 = Get-KcMissingCgroupMode Legacy, Hybrid
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-KcModulePath) -Force
    # Where a thread is, per hierarchy field of /proc/<pid>/task/<tid>/cgroup ('' is the cgroup2 tree).
    $Fields = @(Get-KcExpectedProcessLine)
    function Assert-ThreadIn([int] $ProcessId, [int[]] $ThreadId, [string] $V1Path, [string] $UnifiedPath) {
        foreach ($tid in $ThreadId) {
            $map = Get-KcThreadCgroup $ProcessId $tid
            foreach ($f in $Fields) {
                $want = if ($f -eq '') { $UnifiedPath } else { $V1Path }
                $map[$f] | Should -Be $want -Because "thread $tid of $ProcessId in hierarchy '$f'"
            }
        }
    }
    # Every v1 tasks and cgroup.procs file (and cgroup2 cgroup.procs) of a cgroup, concatenated: empty when nothing is in it.
    function Get-Everything([string] $CgroupPath) {
        foreach ($dir in Get-KcCgroupDirectory $CgroupPath) {
            foreach ($f in 'tasks', 'cgroup.procs') {
                if ([IO.File]::Exists("$dir/$f")) { [IO.File]::ReadAllText("$dir/$f").Trim() }
            }
        }
    }
    function Get-ChildPid([int] $Parent) {
        foreach ($d in [IO.Directory]::GetDirectories('/proc')) {
            $stat = try { [IO.File]::ReadAllText("$d/stat") } catch { continue }
            $fields = $stat.Substring($stat.LastIndexOf(')') + 2).Split(' ')
            if ([int] $fields[1] -eq $Parent) { [int] [IO.Path]::GetFileName($d) }
        }
    }
}

Describe "Threads and moves on cgroup v1$(if ($NotV1) { " (skipped: $NotV1)" })" -Skip:([bool] $NotV1) {
    BeforeEach {
        $Root = New-KcTestRoot
        $A = "$Root/pod1/a"; $B = "$Root/pod1/b"
        $CgA = "$Root/pod1/kata_a"; $CgB = "$Root/pod1/kata_b"
        New-KataCgroup -Path $A -WarningAction SilentlyContinue | Out-Null
        New-KataCgroup -Path $B -WarningAction SilentlyContinue | Out-Null
    }
    AfterEach { Clear-KcTestState }

    It '-ThreadId moves single threads: tasks in every v1 hierarchy; the cgroup2 tree keeps them with their process' {
        $vmm = Start-KcThreadedProcess -Vcpu 2 -Other 1
        Add-KataCgroupProcess -Path $A -Id $vmm.Id
        Add-KataCgroupProcess -Path $B -ThreadId $vmm.Vcpus
        Assert-ThreadIn $vmm.Id $vmm.Vcpus -V1Path $CgB -UnifiedPath $CgA
        Assert-ThreadIn $vmm.Id (@($vmm.Id) + $vmm.Others) -V1Path $CgA -UnifiedPath $CgA
        $memory = Get-KcControllerMount memory
        @([IO.File]::ReadAllLines("$memory$CgB/tasks") | ForEach-Object { [int] $_ } | Sort-Object) | Should -Be $vmm.Vcpus
    }

    It 'Get-KataCgroup lists the threads that are in a cgroup while their process is not, and leaves that process out of Pids' {
        $vmm = Start-KcThreadedProcess -Vcpu 2 -Other 1
        Add-KataCgroupProcess -Path $A -Id $vmm.Id
        Add-KataCgroupProcess -Path $B -ThreadId $vmm.Vcpus
        $b = Get-KataCgroup -Path $B
        $b.Threads | Should -Be $vmm.Vcpus
        $b.Pids | Should -BeNullOrEmpty -Because 'v1 cgroup.procs lists the process, but its leader is elsewhere'
        $a = Get-KataCgroup -Path $A
        $a.Pids | Should -Be @($vmm.Id)
        $a.Threads | Should -BeNullOrEmpty
        ($b | Format-Table | Out-String -Width 250) | Should -Match "$([regex]::Escape($CgB))\s+Complete\s+$([regex]::Escape([KataCgroups.PowerShell.ValueDisplay]::List($b.Threads)))\s"
        # The listing path reads the same.
        (Get-KataCgroup -Root $Root | Where-Object CgroupPath -EQ $CgB).Threads | Should -Be $vmm.Vcpus
    }

    It 'a thread that does not exist is ProcessNotFound; the others still move; 0 is InvalidProcessId' {
        $vmm = Start-KcThreadedProcess -Vcpu 1 -Other 0
        $free = Get-KcFreePid
        Add-KataCgroupProcess -Path $B -ThreadId $free, $vmm.Vcpus[0] -ErrorVariable e -ErrorAction SilentlyContinue
        @($e).Count | Should -Be 1
        $e[0].FullyQualifiedErrorId | Should -BeLike 'ProcessNotFound,*'
        (Get-KataCgroup -Path $B).Threads | Should -Be @($vmm.Vcpus[0])
        { Add-KataCgroupProcess -Path $B -ThreadId 0 -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidProcessId,KataCgroups.PowerShell.Commands.AddKataCgroupProcessCommand'
    }

    It 'Move-KataCgroupProcess moves whole processes whole and leaves threads placed elsewhere where they are' {
        $vmm = Start-KcThreadedProcess -Vcpu 2 -Other 1
        $sleep = Start-KcSleep
        Add-KataCgroupProcess -Path $A -Id $vmm.Id, $sleep.Id
        Add-KataCgroupProcess -Path $B -ThreadId $vmm.Vcpus
        New-KataCgroup -Path "$Root/pod1/c" -WarningAction SilentlyContinue | Out-Null
        $m = Move-KataCgroupProcess -Path $A -Destination "$Root/pod1/c"
        # A process with every thread in the source moves whole; so does the split one in the cgroup2 tree of a hybrid
        # host, which keeps all its threads in the source.
        $m.Processes | Should -Be @(@($sleep.Id) + @(if ($Fields -contains '') { $vmm.Id }) | Sort-Object)
        $m.Threads | Should -Be (@($vmm.Id) + $vmm.Others | Sort-Object) -Because "$($vmm.Id) is split (its vCPU threads are in $CgB): only its threads in the source move, one by one"
        $m.From | Should -Be $CgA
        $m.To | Should -Be "$Root/pod1/kata_c"
        Get-Everything $CgA | Where-Object { $_ } | Should -BeNullOrEmpty
        Assert-ThreadIn $vmm.Id (@($vmm.Id) + $vmm.Others) -V1Path "$Root/pod1/kata_c" -UnifiedPath "$Root/pod1/kata_c"
        Assert-ThreadIn $vmm.Id $vmm.Vcpus -V1Path $CgB -UnifiedPath "$Root/pod1/kata_c"
        # The lone threads move alone.
        $m2 = Move-KataCgroupProcess -Path $B -Destination "$Root/pod1/c"
        $m2.Threads | Should -Be $vmm.Vcpus
        $m2.Processes | Should -BeNullOrEmpty
        Assert-ThreadIn $vmm.Id $vmm.Vcpus -V1Path "$Root/pod1/kata_c" -UnifiedPath "$Root/pod1/kata_c"
    }

    It '-ToParent moves into the parent cgroup, as Kata does before deleting a cgroup' {
        $sleep = Start-KcSleep
        Add-KataCgroupProcess -Path $A -Id $sleep.Id
        (Move-KataCgroupProcess -Path $A -ToParent).To | Should -Be "$Root/pod1"
        Assert-ThreadIn $sleep.Id $sleep.Id -V1Path "$Root/pod1" -UnifiedPath "$Root/pod1"
    }

    It 'a shell loop that forks children during the move: every process ends in the destination, nothing is left in the source' {
        # A child every ~5 ms, each living 1 s: dozens are being born while the move runs, in whichever hierarchies
        # the shell has already left.
        $shell = Start-KcShell 'while :; do sleep 1 & sleep 0.005; done'
        Add-KataCgroupProcess -Path $A -Id $shell.Id
        # Children forked before the shell joined the source are not the source's: left out of the check below.
        $before = @(Get-ChildPid $shell.Id)
        # Wait until the loop is forking (a loaded machine may take a while to start it).
        for ($i = 0; $i -lt 200 -and @(Get-ChildPid $shell.Id).Count -le 3; $i++) { Start-Sleep -Milliseconds 50 }
        @(Get-ChildPid $shell.Id).Count | Should -BeGreaterThan 3 -Because 'the loop is forking'
        try {
            $m = Move-KataCgroupProcess -Path $A -Destination $B
            Get-Everything $CgA | Where-Object { $_ } | Should -BeNullOrEmpty -Because 'the move ends only with the source empty'
            $m.Processes | Should -Contain $shell.Id
            $m.Processes.Count | Should -BeGreaterThan 1 -Because 'children of the loop were moved too'
            Assert-ThreadIn $shell.Id $shell.Id -V1Path $CgB -UnifiedPath $CgB
            foreach ($child in Get-ChildPid $shell.Id | Where-Object { $_ -notin $before }) {
                $map = try { Get-KcThreadCgroup $child $child } catch { continue }   # exited meanwhile
                foreach ($f in $Fields) {
                    if ($map[$f] -eq $CgB) { continue }
                    # A task that is exiting shows '/' in its v1 lines (proc_cgroup_show); it runs (R) from the start of
                    # do_exit until it is a zombie. A child that is asleep there was left behind.
                    $state = try { ([IO.File]::ReadAllText("/proc/$child/stat") -split '\) ')[1][0] } catch { 'X' }
                    $state | Should -BeIn 'R', 'Z', 'X' -Because "child $child is in '$($map[$f])' in hierarchy '$f' and not exiting"
                }
            }
        }
        finally {
            Remove-KataCgroup -Path $B -Kill   # the loop and its children, forks included (frozen first)
        }
    }

    It 'threads that exit between the listing and the write do not fail the move' {
        # The main thread starts a thread that exits at once, without end: tasks lists threads that are gone by the write.
        $churn = Start-KcThreadedProcess -Vcpu 1 -Other 0 -Churn
        Add-KataCgroupProcess -Path $A -Id $churn.Id
        $from, $to, $cgFrom, $cgTo = $A, $B, $CgA, $CgB
        for ($i = 0; $i -lt 6; $i++) {
            $m = Move-KataCgroupProcess -Path $from -Destination $to -ErrorAction Stop
            @($m.Processes) + @($m.Threads) | Should -Not -BeNullOrEmpty
            Assert-ThreadIn $churn.Id $churn.Id -V1Path $cgTo -UnifiedPath $cgTo
            Get-Everything $cgFrom | Where-Object { $_ } | Should -BeNullOrEmpty -Because 'the move ends only with the source empty'
            $from, $to, $cgFrom, $cgTo = $to, $from, $cgTo, $cgFrom
        }
    }

    It 'refuses a move into the source itself or into a cgroup inside it, and a missing source or destination' {
        { Move-KataCgroupProcess -Path $A -Destination $A -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidCgroupPath,KataCgroups.PowerShell.Commands.MoveKataCgroupProcessCommand'
        New-KataCgroup -Path "$CgA/inner" -WarningAction SilentlyContinue | Out-Null
        { Move-KataCgroupProcess -Path $A -Destination "$CgA/inner" -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidCgroupPath,KataCgroups.PowerShell.Commands.MoveKataCgroupProcessCommand'
        { Move-KataCgroupProcess -Path "$Root/pod1/none" -Destination $B -ErrorAction Stop } | Should -Throw -ErrorId 'CgroupNotFound,KataCgroups.PowerShell.Commands.MoveKataCgroupProcessCommand'
        { Move-KataCgroupProcess -Path $A -Destination "$Root/pod1/none" -ErrorAction Stop } | Should -Throw -ErrorId 'CgroupNotFound,KataCgroups.PowerShell.Commands.MoveKataCgroupProcessCommand'
    }

    It '-WhatIf moves nothing' {
        $sleep = Start-KcSleep
        Add-KataCgroupProcess -Path $A -Id $sleep.Id
        Move-KataCgroupProcess -Path $A -Destination $B -WhatIf | Should -BeNullOrEmpty
        Assert-ThreadIn $sleep.Id $sleep.Id -V1Path $CgA -UnifiedPath $CgA
    }

    It 'a process of another PID namespace never leaves the source: the move fails at once with CgroupMoveIncomplete naming it, and the mover does not move itself' {
        # Run from a child PID namespace (unshare), the module sees the sleep in the source only in the cgroup2 tree,
        # listed as 0 (v1's files leave it out), and cannot name it: 0 written to cgroup.procs would move the writer
        # itself (and kill(0), for -Kill, the writer's process group: setsid gives the child a group of its own).
        Skip-KcBecause $(if (-not (Get-KcHierarchy | Where-Object IsUnified)) { 'no cgroup2 tree: v1 list files leave tasks of other PID namespaces out' })
        $sleep = Start-KcSleep
        Add-KataCgroupProcess -Path $A -Id $sleep.Id
        $psi = New-KcPwshStartInfo (
            "Import-Module '$(Get-KcModulePath)'; " +
            "try { Move-KataCgroupProcess -Path '$A' -Destination '$B' -ErrorAction Stop; 'moved' } catch { `$_.FullyQualifiedErrorId; `$_.Exception.Message }; " +
            "'self ' + ((Get-Content /proc/self/cgroup) -join ';'); 'alive'")
        $ns = [System.Diagnostics.ProcessStartInfo]::new('setsid')
        foreach ($a in @('unshare', '--pid', '--fork', '--mount-proc', $psi.FileName) + @($psi.ArgumentList)) { $ns.ArgumentList.Add($a) }
        $ns.UseShellExecute = $false
        $ns.RedirectStandardOutput = $true
        $ns.Environment['TMPDIR'] = $TestDrive
        $child = [System.Diagnostics.Process]::Start($ns)
        Register-KcProcess $child
        $out = @($child.StandardOutput.ReadToEnd() -split "`n" | ForEach-Object Trim | Where-Object { $_ })
        $child.WaitForExit(60000) | Should -BeTrue
        $out[-1] | Should -Be 'alive' -Because "the mover goes on (output: $($out -join ' | '))"
        $out[0] | Should -Match '^CgroupMoveIncomplete,'
        $out[1] | Should -Match 'after 1 pass 1 task\(s\) are still in it — 0 \(another PID namespace\)'
        $out[1] | Should -Match 'They belong to another PID namespace' -Because 'no further pass could move it'
        $self = $out | Where-Object { $_.StartsWith('self ') }
        $self | Should -Not -Match 'kata_' -Because 'the mover never writes 0 (itself) into the destination'
        $sleep.HasExited | Should -BeFalse
        Assert-ThreadIn $sleep.Id $sleep.Id -V1Path $CgA -UnifiedPath $CgA
        Get-Everything $CgB | Where-Object { $_ } | Should -BeNullOrEmpty
    }
}

Describe "Kata's two sandbox layouts on cgroup v1$(if ($NotV1) { " (skipped: $NotV1)" })" -Skip:([bool] $NotV1) {
    BeforeEach {
        $Root = New-KcTestRoot
        $Pod = "$Root/pod1"
        $Overhead = "$Root/kata_overhead"
        $Id = 'sb' + [guid]::NewGuid().ToString('n').Substring(0, 6)
        $Sandbox = "$Pod/kata_$Id"
        $OverheadCg = "$Overhead/$Id"
    }
    AfterEach { Clear-KcTestState }

    It 'the default layout: limits and device rules on the sandbox cgroup only; the VMM in the overhead cgroup, its vCPU threads in the sandbox cgroup' {
        $sb = New-KataSandbox -PodPath $Pod -SandboxId $Id -OverheadRoot $Overhead -CpuQuota 20000 -CpuPeriod 100000 -WarningAction SilentlyContinue
        $sb.Layout | Should -Be 'Overhead'
        $sb.SandboxCgroupPath | Should -Be $Sandbox
        $sb.OverheadCgroupPath | Should -Be $OverheadCg
        Get-KcCgroupFile cpu $Sandbox cpu.cfs_quota_us | Should -Be '20000'
        Get-KcCgroupFile cpu $OverheadCg cpu.cfs_quota_us | Should -Be '-1' -Because 'Kata makes the overhead cgroup with no limits'
        Get-KcCgroupFile devices $OverheadCg devices.list | Should -Be (Get-KcCgroupFile devices $Root devices.list) -Because 'and with no device rules: it keeps its parent''s'
        Get-KcCgroupFile devices $Sandbox devices.list | Should -Not -Be 'a *:* rwm'

        $vmm = Start-KcThreadedProcess -Vcpu 2 -Other 2
        $placed = $sb | Add-KataSandboxVmm -Id $vmm.Id -PassThru
        $placed.VmmPid | Should -Be $vmm.Id
        $placed.VcpuThreadIds | Should -Be $vmm.Vcpus -Because 'found by their names, CPU <n>/TCG'
        $placed.VcpuPlacement | Should -Be 'Thread'
        $placed.SandboxThreads | Should -Be $vmm.Vcpus
        $placed.OverheadPids | Should -Be @($vmm.Id)
        Assert-ThreadIn $vmm.Id $vmm.Vcpus -V1Path $Sandbox -UnifiedPath $OverheadCg
        Assert-ThreadIn $vmm.Id (@($vmm.Id) + $vmm.Others) -V1Path $OverheadCg -UnifiedPath $OverheadCg
        $read = Get-KataSandbox -PodPath $Pod -SandboxId $Id -OverheadRoot $Overhead
        $read.Layout | Should -Be 'Overhead'
        $read.SandboxThreads | Should -Be $vmm.Vcpus
        (Get-KataCgroup -CgroupPath $OverheadCg).Pids | Should -Be @($vmm.Id)

        $sb | Remove-KataSandbox -Kill
        $vmm.Process.WaitForExit(10000) | Should -BeTrue
        Get-KcExistingDirectory $Sandbox | Should -BeNullOrEmpty
        Get-KcExistingDirectory $OverheadCg | Should -BeNullOrEmpty
        Get-KcExistingDirectory $Pod | Should -Not -BeNullOrEmpty -Because 'the pod cgroup stays, as in Kata'
    }

    It 'SandboxCgroupOnly: no overhead cgroup; the whole VMM in the sandbox cgroup; removal moves it to the pod cgroup' {
        $sb = New-KataSandbox -PodPath $Pod -SandboxId $Id -OverheadRoot $Overhead -SandboxCgroupOnly -PidsLimit 64 -WarningAction SilentlyContinue
        $sb.Layout | Should -Be 'SandboxCgroupOnly'
        $sb.OverheadCgroupPath | Should -BeNullOrEmpty
        Get-KcExistingDirectory $OverheadCg | Should -BeNullOrEmpty
        $vmm = Start-KcThreadedProcess -Vcpu 2 -Other 1
        $placed = $sb | Add-KataSandboxVmm -Id $vmm.Id -PassThru
        $placed.SandboxPids | Should -Be @($vmm.Id)
        $placed.SandboxThreads | Should -BeNullOrEmpty
        Assert-ThreadIn $vmm.Id (@($vmm.Id) + $vmm.Vcpus + $vmm.Others) -V1Path $Sandbox -UnifiedPath $Sandbox
        $sb | Remove-KataSandbox
        Get-KcExistingDirectory $Sandbox | Should -BeNullOrEmpty
        Assert-ThreadIn $vmm.Id (@($vmm.Id) + $vmm.Vcpus) -V1Path $Pod -UnifiedPath $Pod
    }

    It 'vCPU thread ids given by the caller; ids of another process are ThreadNotInProcess; a VMM without vCPU names is VcpuThreadsNotFound' {
        $sb = New-KataSandbox -PodPath $Pod -SandboxId $Id -OverheadRoot $Overhead -WarningAction SilentlyContinue
        $vmm = Start-KcThreadedProcess -Vcpu 2 -Other 1
        $other = Start-KcSleep
        { $sb | Add-KataSandboxVmm -Id $vmm.Id -VcpuThreadId $other.Id -ErrorAction Stop } | Should -Throw -ErrorId 'ThreadNotInProcess,KataCgroups.PowerShell.Commands.AddKataSandboxVmmCommand'
        { $sb | Add-KataSandboxVmm -Id $other.Id -ErrorAction Stop } | Should -Throw -ErrorId 'VcpuThreadsNotFound,KataCgroups.PowerShell.Commands.AddKataSandboxVmmCommand'
        (Get-KataSandbox -PodPath $Pod -SandboxId $Id -OverheadRoot $Overhead).OverheadPids | Should -BeNullOrEmpty -Because 'a refused placement moves nothing'
        $placed = $sb | Add-KataSandboxVmm -Id $vmm.Id -VcpuThreadId $vmm.Others[0] -PassThru
        $placed.SandboxThreads | Should -Be @($vmm.Others[0])
        Assert-ThreadIn $vmm.Id $vmm.Vcpus -V1Path $OverheadCg -UnifiedPath $OverheadCg
    }

    It 'is all or nothing, refuses a systemd pod path and a missing sandbox, and -WhatIf changes nothing' {
        New-KataSandbox -PodPath $Pod -SandboxId $Id -OverheadRoot $Overhead -WhatIf | Should -BeNullOrEmpty
        Get-KcExistingDirectory $Pod | Should -BeNullOrEmpty
        # An overhead cgroup already there fails the create and takes the new sandbox cgroup back.
        New-KataCgroup -Path "$Root/other" -WarningAction SilentlyContinue | Out-Null
        foreach ($d in Get-KcCgroupDirectory $OverheadCg) { [IO.Directory]::CreateDirectory($d) | Out-Null }
        { New-KataSandbox -PodPath $Pod -SandboxId $Id -OverheadRoot $Overhead -WarningAction SilentlyContinue -ErrorAction Stop } | Should -Throw -ErrorId 'CgroupAlreadyExists,KataCgroups.PowerShell.Commands.NewKataSandboxCommand'
        Get-KcExistingDirectory $Sandbox | Should -BeNullOrEmpty
        { New-KataSandbox -PodPath 'system.slice:kata:x' -SandboxId $Id -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidCgroupPath,KataCgroups.PowerShell.Commands.NewKataSandboxCommand'
        { New-KataSandbox -PodPath $Pod -SandboxId 'a/b' -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidCgroupPath,KataCgroups.PowerShell.Commands.NewKataSandboxCommand'
        { Remove-KataSandbox -PodPath $Pod -SandboxId 'none' -OverheadRoot $Overhead -ErrorAction Stop } | Should -Throw -ErrorId 'CgroupNotFound,KataCgroups.PowerShell.Commands.RemoveKataSandboxCommand'
        { Get-KataSandbox -PodPath $Pod -SandboxId 'none' -OverheadRoot $Overhead -ErrorAction Stop } | Should -Throw -ErrorId 'CgroupNotFound,KataCgroups.PowerShell.Commands.GetKataSandboxCommand'
    }
}
