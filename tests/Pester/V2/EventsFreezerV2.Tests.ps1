# Wait-KataCgroupEvent, Suspend/Resume-KataCgroup and Remove-KataCgroup -Kill on a pure cgroup v2 host (the qemu guest
# of tests/Guest/run-v2-guest.sh; skipped elsewhere): memory.events (inotify) reports a real OOM kill, cgroup.freeze
# stops a counter, cgroup.kill ends a forking shell; and through the guest's systemd (PID 1): FreezeUnit/ThawUnit.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot '../TestHelpers.psm1') -Force
    # '' where a block can run, else why not (the preflight's CgroupMode, then Systemd): in the block's name, since
    # -Skip shows no reason
    $script:NotV2 = Get-KcMissingCgroupMode Unified
    $script:NoSystemdOnV2 = if ($NotV2) { $NotV2 } else { Get-KcMissingCapability Systemd }
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../TestHelpers.psm1') -Force
    $script:ModulePath = Get-KcModulePath
    Import-Module $ModulePath -Force
    $script:Work = "/run/kc-test-$([guid]::NewGuid().ToString('n').Substring(0, 10))"
    $null = New-Item -ItemType Directory -Path $Work
    $script:Mount = '/sys/fs/cgroup'

    # Start-KcShell, Start-KcGated, Start-KcWait/Complete-KcWait and the counter readers: TestHelpers.psm1.
}

AfterAll {
    Clear-KcTestState
    if ($Work -and (Test-Path $Work)) { Remove-Item -LiteralPath $Work -Recurse -Force }
}

Describe "cgroup v2: events, freezer, kill$(if ($NotV2) { " (skipped: $NotV2)" })" -Skip:([bool] $NotV2) {
    BeforeEach { $Root = New-KcTestRoot }
    AfterEach { Clear-KcTestState }

    It 'reports the oom_kill of a memory hog from memory.events' {
        # memory+swap 16 MB is memory.swap.max 0, which holds only where the kernel accounts swap or none is active
        Skip-KcBecause (Get-KcMissingSwapConfinement)
        $cg = New-KataCgroup -Path "$Root/sb" -MemoryLimit 16MB -MemorySwap 16MB -WarningAction SilentlyContinue
        $before = [IO.File]::ReadAllText("$Mount$($cg.CgroupPath)/memory.events")
        $hog = Start-KcGated $cg.CgroupPath "$Work/gate-oom" 'exec tail /dev/zero'
        $wait = Start-KcWait "$Root/sb" '-Event OomKill -Timeout 120'
        $null = New-Item -ItemType File -Path "$Work/gate-oom"
        $hog.WaitForExit(120000) | Should -BeTrue
        $hog.ExitCode | Should -Be 137
        $r = Complete-KcWait $wait 150
        $r.Errors | Should -BeNullOrEmpty
        @($r.Output).Count | Should -Be 1
        $r.Output[0].Event | Should -Be 'OomKill'
        $r.Output[0].Driver | Should -Be 'CgroupfsV2'
        $r.Output[0].File | Should -BeLike '*/memory.events'
        $after = [IO.File]::ReadAllText("$Mount$($cg.CgroupPath)/memory.events")
        $r.Output[0].Total | Should -Be ([long] (($after -split "`n" | Where-Object { $_ -like 'oom_kill *' }).Split(' ')[1]))
        $after | Should -Not -Be $before
    }

    It 'times out with CgroupEventTimeout when nothing happens' {
        $null = New-KataCgroup -Path "$Root/quiet" -MemoryLimit 64MB -WarningAction SilentlyContinue
        $out = @(Wait-KataCgroupEvent -Path "$Root/quiet" -Timeout 1 -ErrorVariable ev -ErrorAction SilentlyContinue)
        $out.Count | Should -Be 0
        $ev[0].FullyQualifiedErrorId | Should -BeLike 'CgroupEventTimeout,*'
    }

    It 'a counter stops under cgroup.freeze (cgroup.events frozen 1) and moves again after Resume' {
        Skip-KcUnlessCapability Freezer
        $cg = New-KataCgroup -Path "$Root/fz" -WarningAction SilentlyContinue
        $file = "$Work/counter-v2"
        $counter = Start-KcGated $cg.CgroupPath "$Work/gate-counter" "i=0; while :; do i=`$((i+1)); echo `$i > '$file'; done"
        $null = New-Item -ItemType File -Path "$Work/gate-counter"
        $first = Read-KcCounter $file
        (Wait-KcCounterChange $file $first) | Should -Not -Be $first -Because 'the counter runs'
        ($cg | Suspend-KataCgroup -PassThru).FreezerState | Should -Be 'FROZEN'
        [IO.File]::ReadAllText("$Mount$($cg.CgroupPath)/cgroup.events") -split "`n" | Should -Contain 'frozen 1'
        $a = Read-KcCounter $file
        Start-Sleep -Milliseconds 500
        (Read-KcCounter $file) | Should -Be $a -Because 'no process of a frozen cgroup runs'
        ($cg | Resume-KataCgroup -PassThru).FreezerState | Should -Be 'THAWED'
        $state = (Get-Content "/proc/$($counter.Id)/status" -ErrorAction Ignore | Where-Object { $_ -like 'State:*' })
        $events = [IO.File]::ReadAllText("$Mount$($cg.CgroupPath)/cgroup.events") -replace "`n", ' '
        (Wait-KcCounterChange $file $a) | Should -Not -Be $a -Because "the counter moves again after Resume (counter $($counter.Id): $state; cgroup.events: $events; cgroup.freeze: $([IO.File]::ReadAllText("$Mount$($cg.CgroupPath)/cgroup.freeze").Trim()))"
    }

    It 'Remove-KataCgroup -Kill kills a forking shell and its children and removes the cgroup' {
        $cg = New-KataCgroup -Path "$Root/kill" -WarningAction SilentlyContinue
        $sh = Start-KcGated $cg.CgroupPath "$Work/gate-kill" 'sleep 300 & sleep 300 & wait'
        $null = New-Item -ItemType File -Path "$Work/gate-kill"
        for ($i = 0; $i -lt 200 -and @((Get-KataCgroup -Path "$Root/kill").Pids).Count -lt 3; $i++) { Start-Sleep -Milliseconds 20 }
        $pids = @((Get-KataCgroup -Path "$Root/kill").Pids)
        $pids.Count | Should -Be 3
        Remove-KataCgroup -Path "$Root/kill" -Kill
        $sh.WaitForExit(10000) | Should -BeTrue
        foreach ($id in $pids) {
            $state = try { (Get-Content "/proc/$id/status" -ErrorAction Stop | Where-Object { $_ -like 'State:*' }) } catch { 'gone' }
            $state | Should -Match 'gone|zombie' -Because "process $id was killed"
        }
        Test-Path "$Mount$($cg.CgroupPath)" | Should -BeFalse
    }
}

Describe "systemd on cgroup v2: FreezeUnit/ThawUnit and events of a scope$(if ($NoSystemdOnV2) { " (skipped: $NoSystemdOnV2)" })" -Skip:([bool] $NoSystemdOnV2) {
    AfterEach {
        systemctl stop kata-evfz.scope 2>$null; systemctl reset-failed kata-evfz.scope 2>$null
        Clear-KcTestState
    }
    AfterAll { systemctl stop kctest.slice 2>$null }

    It 'Suspend/Resume go through FreezeUnit/ThawUnit: systemd and the kernel agree, and the counter stops' {
        $file = "$Work/counter-sd"
        $p = Start-KcShell "i=0; while :; do i=`$((i+1)); echo `$i > '$file'; done"
        $cg = New-KataCgroup -Path 'kctest.slice:kata:evfz' -ProcessId $p.Id -WarningAction SilentlyContinue
        $first = Read-KcCounter $file
        for ($i = 0; $i -lt 500 -and (Read-KcCounter $file) -eq $first; $i++) { Start-Sleep -Milliseconds 20 }
        $v = @($cg | Suspend-KataCgroup -PassThru -Verbose 4>&1)
        ($v | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message | Should -Contain 'D-Bus FreezeUnit kata-evfz.scope'
        ($v | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }).FreezerState | Should -Be 'FROZEN'
        systemctl show kata-evfz.scope -p FreezerState | Should -Be 'FreezerState=frozen'
        [IO.File]::ReadAllText('/sys/fs/cgroup/kctest.slice/kata-evfz.scope/cgroup.events') -split "`n" | Should -Contain 'frozen 1'
        $a = Read-KcCounter $file
        Start-Sleep -Milliseconds 500
        (Read-KcCounter $file) | Should -Be $a
        $cg | Resume-KataCgroup
        systemctl show kata-evfz.scope -p FreezerState | Should -Be 'FreezerState=running'
        (Wait-KcCounterChange $file $a) | Should -Not -Be $a

        # a scope's events are watched through its cgroupfs directory
        $out = @(Wait-KataCgroupEvent -Path 'kctest.slice:kata:evfz' -Timeout 0 -ErrorVariable ev -ErrorAction SilentlyContinue -Verbose 4>&1)
        ($out | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message | Should -Contain 'watching /kctest.slice/kata-evfz.scope: inotify IN_MODIFY on /sys/fs/cgroup/kctest.slice/kata-evfz.scope/memory.events'
        $ev[0].FullyQualifiedErrorId | Should -BeLike 'CgroupEventTimeout,*'

        $cg | Remove-KataCgroup -Kill
        $p.WaitForExit(10000) | Should -BeTrue
        (systemctl show kata-evfz.scope -p LoadState) | Should -Be 'LoadState=not-found'
    }
}
