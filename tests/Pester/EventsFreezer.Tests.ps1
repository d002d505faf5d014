# Observe and control a running sandbox on this host (cgroup v1/hybrid): a memory hog gets OOM-killed and
# Wait-KataCgroupEvent reports it; a frozen counter stops and moves again after Resume; -Kill leaves no process,
# forks included. Real processes, real cgroups under a test root; the counter writes under /run/kc-test-<random>.
# What the host offers comes from its preflight: the OOM cases need swap confined (SwapAccounting, or no swap at
# all), Suspend/Resume the v1 freezer (Freezer; without it the documented refusal is asserted).

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:ModulePath = Get-KcModulePath
    Import-Module $ModulePath -Force
    $script:Work = "/run/kc-test-$([guid]::NewGuid().ToString('n').Substring(0, 10))"
    $null = New-Item -ItemType Directory -Path $Work

    # Start-KcShell, Start-KcGated, Start-KcWait/Complete-KcWait and the counter readers: TestHelpers.psm1.
}

AfterAll {
    Clear-KcTestState
    if ($Work -and (Test-Path $Work)) { Remove-Item -LiteralPath $Work -Recurse -Force }
}

Describe 'Wait-KataCgroupEvent on cgroup v1' {
    BeforeAll {
        # 16 MB for the hog, memory+swap too where the kernel accounts swap (-MemorySwap fails without it; there the
        # OOM cases run only on a host with no swap active, see Get-KcMissingSwapConfinement).
        $OomLimit = @{ MemoryLimit = 16MB }
        if (Test-KcCapability SwapAccounting) { $OomLimit.MemorySwap = 16MB }
    }
    BeforeEach { $Root = New-KcTestRoot }
    AfterEach { Clear-KcTestState }

    It 'reports the OOM, the OOM kill and the limit of a memory hog killed in a 16 MB cgroup' {
        Skip-KcBecause (Get-KcMissingSwapConfinement)
        $cg = New-KataCgroup -Path "$Root/sb" @OomLimit -WarningAction SilentlyContinue
        $gate = "$Work/gate-oom"
        $hog = Start-KcGated $cg.CgroupPath $gate 'exec tail /dev/zero'
        $wait = Start-KcWait "$Root/sb" '-Count 3 -Timeout 60'
        $null = New-Item -ItemType File -Path $gate
        $hog.WaitForExit(60000) | Should -BeTrue
        $hog.ExitCode | Should -Be 137 -Because 'the OOM killer sent SIGKILL'
        $r = Complete-KcWait $wait
        $r.Errors | Should -BeNullOrEmpty
        $r.Output.Event | Should -Contain 'OomKill'
        $r.Output.Event | Should -Contain 'Oom'
        $r.Output.Event | Should -Contain 'Max'
        $kill = $r.Output | Where-Object Event -EQ 'OomKill'
        $kill.GetType().FullName | Should -Be 'KataCgroups.PowerShell.KataCgroupEvent'
        $kill.Path | Should -Be "$Root/sb"
        $kill.CgroupPath | Should -Be $cg.CgroupPath
        $kill.Driver | Should -Be 'CgroupfsV1'
        $kill.Count | Should -Be 1
        $kill.Total | Should -Be ([long] ((Get-KcCgroupFile memory $cg.CgroupPath memory.oom_control) -split "`n" | Where-Object { $_ -like 'oom_kill *' }).Split(' ')[1])
        $kill.File | Should -BeLike '*/memory.oom_control'
    }

    It '-Event OomKill leaves the other events out; Count counts only what is waited for' {
        Skip-KcBecause (Get-KcMissingSwapConfinement)
        $cg = New-KataCgroup -Path "$Root/sb" @OomLimit -WarningAction SilentlyContinue
        $gate = "$Work/gate-filter"
        $hog = Start-KcGated $cg.CgroupPath $gate 'exec tail /dev/zero'
        $wait = Start-KcWait "$Root/sb" '-Event OomKill -Timeout 60'
        $null = New-Item -ItemType File -Path $gate
        $hog.WaitForExit(60000) | Should -BeTrue
        $r = Complete-KcWait $wait
        @($r.Output).Count | Should -Be 1
        $r.Output[0].Event | Should -Be 'OomKill'
    }

    It 'times out with a non-terminating CgroupEventTimeout error and emits nothing when nothing happens' {
        $null = New-KataCgroup -Path "$Root/quiet" -MemoryLimit 64MB -WarningAction SilentlyContinue
        $out = @(Wait-KataCgroupEvent -Path "$Root/quiet" -Timeout 1 -ErrorVariable ev -ErrorAction SilentlyContinue)
        $out.Count | Should -Be 0
        $ev.Count | Should -Be 1
        $ev[0].FullyQualifiedErrorId | Should -BeLike 'CgroupEventTimeout,*'
        $ev[0].CategoryInfo.Category | Should -Be 'OperationTimeout'
        { Wait-KataCgroupEvent -Path "$Root/quiet" -Timeout 0 -ErrorAction Stop } | Should -Throw -ErrorId 'CgroupEventTimeout,KataCgroups.PowerShell.Commands.WaitKataCgroupEventCommand'
    }

    It 'warns that v1 has no High events when asked for them, and reports a missing cgroup as CgroupNotFound' {
        $null = New-KataCgroup -Path "$Root/hi" -MemoryLimit 64MB -WarningAction SilentlyContinue
        $null = Wait-KataCgroupEvent -Path "$Root/hi" -Event High -Timeout 0 -WarningVariable w -WarningAction SilentlyContinue -ErrorAction SilentlyContinue
        ($w -join "`n") | Should -Match 'no memory.high'
        { Wait-KataCgroupEvent -Path "$Root/missing" -Timeout 1 -ErrorAction Stop } | Should -Throw -ErrorId 'CgroupNotFound,KataCgroups.PowerShell.Commands.WaitKataCgroupEventCommand'
    }

    It 'ends with CgroupNotFound when the cgroup is removed while waiting, and releases its eventfds' {
        $cg = New-KataCgroup -Path "$Root/gone" -MemoryLimit 64MB -WarningAction SilentlyContinue
        $before = @([IO.Directory]::GetFiles("/proc/$PID/fd")).Count
        $wait = Start-KcWait "$Root/gone" '-Timeout 60'
        Remove-KataCgroup -Path "$Root/gone" -ErrorAction Stop
        Get-KcExistingDirectory $cg.CgroupPath | Should -BeNullOrEmpty
        $r = Complete-KcWait $wait
        $r.Output.Count | Should -Be 0
        $r.Errors[0].FullyQualifiedErrorId | Should -BeLike 'CgroupNotFound,*'
        $r.Errors[0].Exception.Message | Should -Match 'removed while waiting'
        @([IO.Directory]::GetFiles("/proc/$PID/fd")).Count | Should -BeLessOrEqual ($before + 2) -Because 'the eventfds were closed'
    }

    It 'is stopped promptly (Ctrl+C) and closes its eventfds' {
        $null = New-KataCgroup -Path "$Root/stop" -MemoryLimit 64MB -WarningAction SilentlyContinue
        $wait = Start-KcWait "$Root/stop" ''
        $fds = { @(Get-ChildItem "/proc/$PID/fd" -ErrorAction Ignore | Where-Object { $_.LinkTarget -like 'anon_inode:*eventfd*' }).Count }
        $during = & $fds
        $during | Should -BeGreaterOrEqual 2 -Because 'the OOM and threshold eventfds (and the waiter''s) are open while waiting'
        $wait.PowerShell.Stop()
        $wait.Handle.IsCompleted | Should -BeTrue -Because 'Stop() returns once the pipeline stopped'
        $wait.PowerShell.Dispose()
        (& $fds) | Should -BeLessThan $during
    }
}

Describe 'Suspend-KataCgroup and Resume-KataCgroup on cgroup v1' {
    BeforeEach { $Root = New-KcTestRoot }
    AfterEach { Clear-KcTestState }

    It 'a frozen counter stops, and moves again after Resume (without a v1 freezer: ControllerNotMounted)' {
        $cg = New-KataCgroup -Path "$Root/sb" -WarningAction SilentlyContinue
        if (-not (Test-KcCapability Freezer)) {
            # the documented refusal on a host without the freezer hierarchy, and nothing else changes
            { $cg | Suspend-KataCgroup -ErrorAction Stop } | Should -Throw -ErrorId 'ControllerNotMounted,KataCgroups.PowerShell.Commands.SuspendKataCgroupCommand'
            { $cg | Resume-KataCgroup -ErrorAction Stop } | Should -Throw -ErrorId 'ControllerNotMounted,KataCgroups.PowerShell.Commands.ResumeKataCgroupCommand'
            return
        }
        $file = "$Work/counter-v1"
        $p = Start-KcGated $cg.CgroupPath "$Work/gate-counter" "i=0; while :; do i=`$((i+1)); echo `$i > '$file'; done"
        $null = New-Item -ItemType File -Path "$Work/gate-counter"
        $first = Read-KcCounter $file
        (Wait-KcCounterChange $file $first) | Should -Not -Be $first -Because 'the counter runs'

        $frozen = $cg | Suspend-KataCgroup -PassThru
        $frozen.FreezerState | Should -Be 'FROZEN'
        Get-KcCgroupFile freezer $cg.CgroupPath freezer.state | Should -Be 'FROZEN'
        $a = Read-KcCounter $file
        Start-Sleep -Milliseconds 500
        (Read-KcCounter $file) | Should -Be $a -Because 'no process of a frozen cgroup runs'

        $thawed = Resume-KataCgroup -Path "$Root/sb" -PassThru
        $thawed.FreezerState | Should -Be 'THAWED'
        (Wait-KcCounterChange $file $a) | Should -Not -Be $a -Because 'the counter moves again after Resume'
    }

    It 'honours -WhatIf (naming the file and value), binds Path from the pipeline, and emits nothing without -PassThru' {
        Skip-KcUnlessCapability Freezer
        $cg = New-KataCgroup -Path "$Root/wi" -WarningAction SilentlyContinue
        $text = Invoke-KcWithTranscript { $cg | Suspend-KataCgroup -WhatIf }
        $text | Should -Match ([regex]::Escape("freezer$($cg.CgroupPath)/freezer.state = FROZEN"))
        Get-KcCgroupFile freezer $cg.CgroupPath freezer.state | Should -Be 'THAWED'
        @($cg | Suspend-KataCgroup).Count | Should -Be 0
        Get-KcCgroupFile freezer $cg.CgroupPath freezer.state | Should -Be 'FROZEN'
        [pscustomobject]@{ Path = "$Root/wi" } | Resume-KataCgroup
        Get-KcCgroupFile freezer $cg.CgroupPath freezer.state | Should -Be 'THAWED'
        { Suspend-KataCgroup -Path "$Root/none" -ErrorAction Stop } | Should -Throw -ErrorId 'CgroupNotFound,KataCgroups.PowerShell.Commands.SuspendKataCgroupCommand'
    }
}

Describe 'Remove-KataCgroup -Kill on cgroup v1' {
    BeforeEach { $Root = New-KcTestRoot }
    AfterEach { Clear-KcTestState }

    It 'kills a process and the children it forked, leaves no pid and removes every directory' {
        $cg = New-KataCgroup -Path "$Root/sb" -WarningAction SilentlyContinue
        $sh = Start-KcGated $cg.CgroupPath "$Work/gate-kill" "sleep 300 & sleep 300 & wait"
        $null = New-Item -ItemType File -Path "$Work/gate-kill"
        for ($i = 0; $i -lt 100 -and @((Get-KataCgroup -Path "$Root/sb").Pids).Count -lt 3; $i++) { Start-Sleep -Milliseconds 20 }
        $pids = @((Get-KataCgroup -Path "$Root/sb").Pids)
        $pids.Count | Should -Be 3 -Because 'the shell and its two sleeps are in the cgroup'
        Remove-KataCgroup -Path "$Root/sb" -Kill
        $sh.WaitForExit(10000) | Should -BeTrue
        foreach ($id in $pids) {
            $state = try { (Get-Content "/proc/$id/status" -ErrorAction Stop | Where-Object { $_ -like 'State:*' }) } catch { 'gone' }
            $state | Should -Match 'gone|zombie' -Because "process $id was killed"
        }
        Get-KcExistingDirectory $cg.CgroupPath | Should -BeNullOrEmpty
    }
}
