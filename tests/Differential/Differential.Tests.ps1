# The module against runc's libcontainer (docs/differential.md): generated OCI linux.resources go to both engines,
# and the results must agree, case by case: both refuse, or both create a cgroup with every file of every hierarchy
# equal and the same device access granted. Runs on the host (build.ps1 Test) and in the cgroup v2 guest
# (tests/Guest/Invoke-GuestSuite.ps1 -Mode v2), on whatever cgroup mode the machine has.
#
#   KATACGROUPS_DIFF_CASES   number of cases (default 500, of which the TCG guest runs a sample of 150; 5000 with
#                            build.ps1 -Long)
#   KATACGROUPS_DIFF_SEED    the random seed (default: a new one per run, printed with every failure)
#
# Every divergence not allowed by divergences.psd1 fails the category of its case, with the random seed and the command
# that re-runs the case alone.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'Cases.psm1') -Force
    $script:Categories = Get-KcDiffCategory
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../Pester/TestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot 'Differential.psm1') -Force
    $script:NotRoot = if ([Environment]::IsPrivilegedProcess) { '' } else { 'the differential suite creates cgroups and needs root' }
    $script:Run = $null
    if (-not $NotRoot) {
        $count = if ($env:KATACGROUPS_DIFF_CASES) { [int] $env:KATACGROUPS_DIFF_CASES } elseif ($env:KATACGROUPS_LONG -eq '1') { 5000 } else { 500 }
        # TCG makes the v2 guest some fifteen times slower than the host: there a sample of 150 of the 500 cases
        # (edge cases and random ones alike, drawn by the random seed) keeps the tier well within run-guest.sh's 900 s.
        $sample = if ($env:KATACGROUPS_GUEST_MODE -and -not $env:KATACGROUPS_DIFF_CASES) { 150 } else { 0 }
        $seed = if ($env:KATACGROUPS_DIFF_SEED) { [int] $env:KATACGROUPS_DIFF_SEED } else { Get-Random -Maximum ([int]::MaxValue) }
        # The run stops applying new cases after this long (they count as not run, which fails the budget test).
        $script:Budget = [Math]::Max(300, $(if ($sample) { $sample } else { $count }))
        $script:Run = Invoke-KcDifferential -Seed $seed -Count $count -Sample $sample -TimeBudgetSeconds $Budget -ModulePath (Get-KcModulePath)
        Format-KcDiffSummary $Run | Write-Host
        foreach ($r in $Run.Results.Values | Where-Object Kind -EQ 'BothFail') {
            Write-Verbose "$($r.Case.Id) both fail [$($r.Case.Note)]: runc ($($r.Runc.Stage)): $($r.Runc.Error) | module: $($r.Module.ErrorId): $($r.Module.Message)"
        }
    }
}

Describe "The module agrees with runc's libcontainer on generated resources$(if ($NotRoot) { " (skipped: $NotRoot)" })" -Skip:(-not [Environment]::IsPrivilegedProcess) {
    It 'ran every case within its time budget' {
        $notRun = @($Run.Results.Values | Where-Object Kind -EQ 'NotRun')
        $Run.BudgetExceeded | Should -BeFalse -Because "the run took over $Budget s and left $($notRun.Count) case(s) out (seed $($Run.Seed))"
        $notRun | Should -BeNullOrEmpty
    }

    It 'cases of <_> agree with runc, or diverge only as divergences.psd1 allows' -ForEach $Categories {
        # One block of text, so Pester prints the grouped report once, as written.
        $report = (@(Format-KcDiffReport $Run -Category $_) -join "`n")
        $report | Should -BeNullOrEmpty -Because 'a divergence from runc is a bug to fix, or an entry in divergences.psd1 with its reason in divergences.md'
    }

    It 'compared both cgroups where both engines succeeded, and probed their devices' {
        # A run where nothing succeeded on both sides compared nothing: the suite itself would be broken.
        $both = @($Run.Results.Values | Where-Object { $_.Kind -in 'Agree', 'FilesDiffer', 'DevicesDiffer' })
        $both.Count | Should -BeGreaterThan ([int] ($Run.Results.Count / 10))
        $Run.ProbeNodes | Should -BeGreaterThan 10
    }

    It 'removed every cgroup both engines made, in every hierarchy' {
        @($Run.CleanupProblems) | Should -BeNullOrEmpty
        @($Run.Leftovers) | Should -BeNullOrEmpty
        @(Get-KcDiffLeftover -Tag $Run.Tag) | Should -BeNullOrEmpty
    }

    It 'explains every allowed divergence in divergences.md' {
        $md = Get-Content -Raw (Join-Path $PSScriptRoot 'divergences.md')
        foreach ($d in Get-KcDiffDivergence) { $md | Should -Match "(?m)^## $([regex]::Escape($d.Id))\s*$" -Because "divergence '$($d.Id)' needs its reason" }
    }
}
