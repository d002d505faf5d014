# The crash campaign: a child pwsh (a separate process, so SIGKILL ends it as a crash would) runs New, Set, Add and
# Remove at random on three paths, and is SIGKILLed at a random moment, again and again. After every kill each
# cgroup left is either complete — in every hierarchy, with the values it was asked for and no allow-all devices —
# or listed as Unfinished; the next child meets those leftovers and must recover (New -Force, or Remove). At the end
# `Get-KataCgroup -Root | Remove-KataCgroup` leaves nothing. 50 kills in CI (about two minutes here: a child pwsh
# starts in about a second); 500 with KATACGROUPS_LONG=1 (build.ps1 Test -Long). Then two child pwsh race each other
# on the same three paths with the same commands, round after round (one of the two SIGKILLed at a random moment of
# every other round): each command ends in success or in an error that says what happened, and the leftovers are
# checked as after a kill. docs/reliability.md has the counts.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:ModulePath = Get-KcModulePath
    Import-Module $ModulePath -Force
    $script:Kills = if ($env:KATACGROUPS_LONG -eq '1') { 500 } else { 50 }

    function Get-KcLeafName([string] $Root) {
        foreach ($h in Get-KcHierarchy) {
            $d = $h.MountPoint + $Root
            if ([IO.Directory]::Exists($d)) { [IO.Directory]::GetDirectories($d) | ForEach-Object { [IO.Path]::GetFileName($_) } }
        }
    }

    # Every leftover under $Root is listed, and is either Complete as the loops ask (every hierarchy, pids.max 24,
    # 64 MiB, no allow-all device rule, shares from New or Set) or Unfinished. Counts into $Stats, problems into
    # $Violations, each prefixed with $When.
    function Test-KcLeftover([string] $Root, [hashtable] $Stats, [System.Collections.Generic.List[string]] $Violations, [string] $When) {
        $found = @(Get-KataCgroup -Root $Root -ErrorVariable readErrors)
        if ($readErrors) { $Violations.Add("$When`: Get-KataCgroup errors: $($readErrors -join '; ')") }
        $listed = @($found | ForEach-Object { [IO.Path]::GetFileName($_.CgroupPath) })
        foreach ($name in Get-KcLeafName $Root | Sort-Object -Unique) {
            if ($name -notin $listed) { $Violations.Add("$When`: $name is on disk but not listed") }
        }
        foreach ($cg in $found) {
            if ($cg.State -eq 'Unfinished') { $Stats.Unfinished++; continue }
            $Stats.Complete++
            $bad = @(
                if ($cg.MissingIn) { "missing in $($cg.MissingIn -join ',')" }
                if ($cg.PidsLimit -ne 24) { "PidsLimit $($cg.PidsLimit)" }
                if ($cg.MemoryLimit -ne 64MB) { "MemoryLimit $($cg.MemoryLimit)" }
                if (@($cg.Devices) -contains 'a *:* rwm') { 'devices allow everything' }
                if ($cg.CpuShares -notin 1024, 512) { "CpuShares $($cg.CpuShares)" }
            )
            if ($bad) { $Violations.Add("$When`: $($cg.CgroupPath) is Complete but $($bad -join ', ')") }
        }
    }

    # The loop both tests run in a child pwsh: New (with -Force after CgroupUnfinished), Set, Add, Remove at random on
    # three paths. With $Count it stops after that many commands and writes one line per failed command
    # ("<command> <error id>|<message>") and the number run to $env:KC_RESULT; without, it runs until killed.
    function Get-KcLoopScript([string] $Root, [int[]] $Ids, [int] $Count = 0) {
        @"
`$WarningPreference = 'SilentlyContinue'
`$paths = '$Root/c1', '$Root/c2', '$Root/c3'
`$ids = $($Ids -join ', ')
`$rng = [Random]::new()
`$names = 'New', 'Set', 'Add', 'Remove'
`$failed = [System.Collections.Generic.List[string]]::new()
[IO.File]::WriteAllText(`$env:KC_READY, '')
for (`$i = 0; $(if ($Count) { "`$i -lt $Count" } else { '$true' }); `$i++) {
    `$p = `$paths[`$rng.Next(3)]
    `$op = `$rng.Next(4)
    try {
        switch (`$op) {
            0 {
                try { `$null = New-KataCgroup -Path `$p -PidsLimit 24 -MemoryLimit 64MB -ErrorAction Stop }
                catch {
                    if (`$_.FullyQualifiedErrorId -notlike 'CgroupUnfinished*') { throw }
                    `$null = New-KataCgroup -Path `$p -PidsLimit 24 -MemoryLimit 64MB -Force -ErrorAction Stop
                }
            }
            1 { Set-KataCgroupResource -Path `$p -PidsLimit 24 -MemoryLimit 64MB -CpuShares 512 -ErrorAction Stop }
            2 { Add-KataCgroupProcess -Path `$p -Id `$ids[`$rng.Next(`$ids.Count)] -ErrorAction Stop }
            3 { Remove-KataCgroup -Path `$p -ErrorAction Stop }
        }
    }
    catch { `$failed.Add(`$names[`$op] + ' ' + (`$_.FullyQualifiedErrorId -split ',')[0] + '|' + (`$_.Exception.Message -replace '\s+', ' ')) }
}
[IO.File]::WriteAllLines(`$env:KC_RESULT, [string[]] (@("ran `$i") + `$failed))
"@
    }

    function Wait-KcReady([string] $Ready, [System.Diagnostics.Process] $Process) {
        $deadline = [DateTime]::UtcNow.AddSeconds(60)
        while (-not [IO.File]::Exists($Ready) -and -not $Process.HasExited -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 5 }
        [IO.File]::Exists($Ready) | Should -BeTrue -Because 'the child pwsh starts its loop'
    }
}

Describe 'SIGKILL at random moments of New, Set, Add and Remove' {
    BeforeAll { $Root = New-KcTestRoot }
    AfterAll { Clear-KcTestState }

    It "every leftover of every kill (50 in CI, 500 with KATACGROUPS_LONG) is complete as requested or listed Unfinished, and Remove cleans all" {
        $sleeps = @(Start-KcSleep; Start-KcSleep)
        $child = Get-KcLoopScript $Root @($sleeps.Id)
        $rng = [Random]::new()
        $stats = @{ Kills = 0; Complete = 0; Unfinished = 0 }
        $violations = [System.Collections.Generic.List[string]]::new()
        $started = [DateTime]::UtcNow
        for ($k = 0; $k -lt $Kills; $k++) {
            $ready = Join-Path $TestDrive "ready-$k"
            $p = Start-KcChildPwsh $child -Environment @{ KC_READY = $ready } -TempDirectory "$TestDrive"
            Wait-KcReady $ready $p
            Start-Sleep -Milliseconds ($rng.Next(20, 700))
            $p.Kill()   # SIGKILL, this child's pid only
            $p.WaitForExit(10000) | Should -BeTrue
            $stats.Kills++
            Test-KcLeftover $Root $stats $violations "kill $k"
        }
        $seconds = ([DateTime]::UtcNow - $started).TotalSeconds
        Write-Host ("    crash campaign: {0} kills in {1:N0} s; leftovers seen after the kills: {2} complete as requested, {3} Unfinished" -f
            $stats.Kills, $seconds, $stats.Complete, $stats.Unfinished)
        $violations | Should -BeNullOrEmpty
        $stats.Unfinished | Should -BeGreaterThan 0 -Because 'some kills land inside a create or a removal'

        Get-KataCgroup -Root $Root | Remove-KataCgroup
        @(Get-KcLeafName $Root) | Should -BeNullOrEmpty
        # No process is lost on the way: Remove moves, never kills. A long campaign outlives the sleeps' 300 s, so one
        # that ended must have ended by itself (exit code 0), not by a signal.
        foreach ($s in $sleeps) { if ($s.HasExited) { $s.ExitCode | Should -Be 0 -Because 'no process is killed on the way' } }
    }
}

Describe 'Two processes racing on the same paths' {
    BeforeAll { $Root = New-KcTestRoot }
    AfterAll { Clear-KcTestState }

    It "every command of two racing children (8 rounds of 2 x 300 in CI, 40 rounds with KATACGROUPS_LONG, one child SIGKILLed in every other round) succeeds or says what happened; every leftover is complete or Unfinished; Remove cleans all" {
        $rounds = if ($env:KATACGROUPS_LONG -eq '1') { 40 } else { 8 }
        $sleeps = @(Start-KcSleep; Start-KcSleep)
        $child = Get-KcLoopScript $Root @($sleeps.Id) -Count 300
        # What each command may answer when the other child got there first: the cgroup is there (New), not there
        # (Set, Add, Remove), unfinished because the other is creating or removing it or was killed doing so (New
        # without -Force, Add), or removed while this New was creating it (CgroupRemovedConcurrently).
        $allowed = @{
            New    = 'CgroupAlreadyExists', 'CgroupUnfinished', 'CgroupRemovedConcurrently'
            Set    = 'CgroupNotFound'
            Add    = 'CgroupNotFound', 'CgroupUnfinished'
            Remove = 'CgroupNotFound'
        }
        $rng = [Random]::new()
        $stats = @{ Rounds = 0; Commands = 0; Failed = 0; Kills = 0; Complete = 0; Unfinished = 0 }
        $ids = @{}
        $violations = [System.Collections.Generic.List[string]]::new()
        # The kill lands at a random moment inside the race: within the span the last round without a kill took (its
        # children run 300 commands in about a second on a quiet host, far longer on a loaded one), not after the end.
        $raceMs = 1500
        for ($round = 0; $round -lt $rounds; $round++) {
            $children = foreach ($n in 'a', 'b') {
                $ready = Join-Path $TestDrive "ready-$round-$n"
                $result = Join-Path $TestDrive "result-$round-$n"
                $p = Start-KcChildPwsh $child -Environment @{ KC_READY = $ready; KC_RESULT = $result } -TempDirectory "$TestDrive"
                @{ Process = $p; Ready = $ready; Result = $result }
            }
            foreach ($c in $children) { Wait-KcReady $c.Ready $c.Process }
            $race = [Diagnostics.Stopwatch]::StartNew()
            $victim = if ($round % 2) { $children[1] }
            if ($victim) {
                Start-Sleep -Milliseconds ($rng.Next([int] ($raceMs / 10), [int] ($raceMs * 8 / 10) + 1))
                if (-not $victim.Process.HasExited) { $victim.Process.Kill(); $stats.Kills++ }   # SIGKILL, this child's pid only
            }
            foreach ($c in $children) {
                # a liveness bound: 300 commands take seconds; a race that hangs fails here
                $c.Process.WaitForExit(300000) | Should -BeTrue -Because 'no race hangs'
                if ($c -eq $victim -and -not [IO.File]::Exists($c.Result)) { continue }
                $lines = [IO.File]::ReadAllLines($c.Result)
                $stats.Commands += [int] ($lines[0] -replace '^ran ', '')
                foreach ($line in $lines | Select-Object -Skip 1) {
                    $stats.Failed++
                    $what, $message = $line.Split('|', 2)
                    $command, $id = $what.Split(' ')
                    $ids[$what] = 1 + [int] $ids[$what]
                    if ($id -notin $allowed[$command]) { $violations.Add("round $round`: $command failed with $id`: $message") }
                }
            }
            if (-not $victim) { $raceMs = [Math]::Max(50, $race.ElapsedMilliseconds) }
            $stats.Rounds++
            Test-KcLeftover $Root $stats $violations "round $round"
        }
        Write-Host ("    race: {0} rounds, {1} commands run to the end by racing children ({2} failed as the race allows: {3}), {4} racers SIGKILLed; leftovers after the rounds: {5} complete as requested, {6} Unfinished" -f
            $stats.Rounds, $stats.Commands, $stats.Failed, (($ids.GetEnumerator() | Sort-Object Name | ForEach-Object { "$($_.Name) $($_.Value)" }) -join ', '),
            $stats.Kills, $stats.Complete, $stats.Unfinished)
        $violations | Should -BeNullOrEmpty
        $stats.Commands | Should -BeGreaterOrEqual (300 * $rounds) -Because 'every unkilled child ran all its commands'
        $stats.Kills | Should -BeGreaterThan 0 -Because 'a kill aimed inside the race lands in at least one of its rounds'

        Get-KataCgroup -Root $Root | Remove-KataCgroup
        @(Get-KcLeafName $Root) | Should -BeNullOrEmpty
        foreach ($s in $sleeps) { if ($s.HasExited) { $s.ExitCode | Should -Be 0 -Because 'no process is killed on the way' } }
    }
}
