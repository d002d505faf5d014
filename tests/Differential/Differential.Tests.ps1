# The module against runc's libcontainer (docs/differential.md): generated OCI linux.resources go to both engines,
# and the results must agree, case by case: both refuse, or both create a cgroup with every file of every hierarchy
# equal and the same device access granted. Two runs:
#   cgroupfs  the cgroupfs drivers against runc's fs / fs2 managers, on the host (build.ps1 Test) and in the cgroup
#             v2 guest (tests/Guest/Invoke-GuestSuite.ps1 -Mode v2), on whatever cgroup mode the machine has
#   systemd   the systemd driver against runc's systemd manager, in the test systemd of tests/Systemd (booted and
#             stopped by the run), comparing the unit properties too; on v1 and hybrid hosts with systemd and
#             dbus-daemon installed, skipped elsewhere (the v2 guest included)
#
#   KATACGROUPS_DIFF_CASES          cgroupfs: number of cases (default 500, of which the TCG guest runs a sample of
#                                   150; 5000 with build.ps1 -Long)
#   KATACGROUPS_DIFF_SYSTEMD_CASES  systemd: number of cases, all of them (default a sample of 100 of 500, drawn by the
#                                   random seed; 1000 with build.ps1 -Long)
#   KATACGROUPS_DIFF_SEED           the random seed (default: a new one per run, printed with every failure)
#
# Every divergence not allowed by divergences.psd1 fails the category of its case, with the random seed and the command
# that re-runs the case alone.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'Cases.psm1') -Force
    $script:Categories = Get-KcDiffCategory
    $root = if ([Environment]::IsPrivilegedProcess) { $null } else { 'the differential suite creates cgroups and needs root' }
    $sd = if ($root) { $root }
    elseif (-not (Test-Path /lib/systemd/systemd)) { 'no /lib/systemd/systemd for the test systemd' }
    elseif (-not (Get-Command dbus-daemon -ErrorAction Ignore)) { 'no dbus-daemon for the test systemd' }
    elseif ((& stat -f -c %T /sys/fs/cgroup) -ne 'tmpfs') { 'not a cgroup v1/hybrid host (the test systemd, and runc''s legacy systemd manager)' }
    $script:Runs = @(
        @{ Driver = 'Cgroupfs'; Why = $root; Title = "The module agrees with runc's libcontainer on generated resources" }
        @{ Driver = 'Systemd'; Why = $sd; Title = "The systemd driver agrees with runc's systemd manager on generated resources" }
    )
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../Pester/TestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot 'Differential.psm1') -Force
}

Describe '<Title><Skipped>' -ForEach @($Runs | ForEach-Object { $_ + @{ Skipped = $(if ($_.Why) { " (skipped: $($_.Why))" } else { '' }) } }) {
    BeforeAll {
        $script:Run = $null
        if (-not $Why) {
            $seed = if ($env:KATACGROUPS_DIFF_SEED) { [int] $env:KATACGROUPS_DIFF_SEED } else { Get-Random -Maximum ([int]::MaxValue) }
            if ($Driver -eq 'Systemd') {
                $count, $sample = if ($env:KATACGROUPS_DIFF_SYSTEMD_CASES) { [int] $env:KATACGROUPS_DIFF_SYSTEMD_CASES, 0 }
                elseif ($env:KATACGROUPS_LONG -eq '1') { 1000, 0 } else { 500, 100 }
            }
            else {
                $count = if ($env:KATACGROUPS_DIFF_CASES) { [int] $env:KATACGROUPS_DIFF_CASES } elseif ($env:KATACGROUPS_LONG -eq '1') { 5000 } else { 500 }
                # TCG makes the v2 guest some fifteen times slower than the host: there a sample of 150 of the 500 cases
                # (edge cases and random ones alike, drawn by the random seed) keeps the tier well within run-guest.sh's 900 s.
                $sample = if ($env:KATACGROUPS_GUEST_MODE -and -not $env:KATACGROUPS_DIFF_CASES) { 150 } else { 0 }
            }
            # The run stops applying new cases after this long (they count as not run, which fails the budget test).
            $script:Budget = [Math]::Max(300, $(if ($sample) { $sample } else { $count }))
            $invoke = if ($Driver -eq 'Systemd') { 'Invoke-KcDiffSystemd' } else { 'Invoke-KcDifferential' }
            $script:Run = & $invoke -Seed $seed -Count $count -Sample $sample -TimeBudgetSeconds $Budget -ModulePath (Get-KcModulePath)
            Format-KcDiffSummary $Run | Write-Host
            foreach ($r in $Run.Results.Values | Where-Object Kind -EQ 'BothFail') {
                Write-Verbose "$($r.Case.Id) both fail [$($r.Case.Note)]: runc ($($r.Runc.Stage)): $($r.Runc.Error) | module: $($r.Module.ErrorId): $($r.Module.Message)"
            }
        }
    }

    BeforeEach {
        if ($Why) { Set-ItResult -Skipped -Because $Why }
    }

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
        $both = @($Run.Results.Values | Where-Object { $_.Kind -in 'Agree', 'FilesDiffer', 'DevicesDiffer', 'PropertiesDiffer' })
        $both.Count | Should -BeGreaterThan ([int] ($Run.Results.Count / 10))
        $Run.ProbeNodes | Should -BeGreaterThan 10
    }

    It 'removed every cgroup (and scope and slice) both engines made, in every hierarchy' {
        @($Run.CleanupProblems) | Should -BeNullOrEmpty
        @($Run.Leftovers) | Should -BeNullOrEmpty
        @(Get-KcDiffLeftover -Tag $Run.Tag) | Should -BeNullOrEmpty
        @(Get-ChildItem -Path "/sys/fs/cgroup/*/kc-systemd-*/kcd$($Run.Tag)*" -Directory -ErrorAction Ignore) | Should -BeNullOrEmpty
    }
}

Describe 'The allowed divergences' {
    It 'explains every allowed divergence in divergences.md' {
        $md = Get-Content -Raw (Join-Path $PSScriptRoot 'divergences.md')
        foreach ($d in Get-KcDiffDivergence) { $md | Should -Match "(?m)^## $([regex]::Escape($d.Id))\s*$" -Because "divergence '$($d.Id)' needs its reason" }
    }

    It 'marks the entries of the systemd run alone as such, by Driver and name' {
        foreach ($d in Get-KcDiffDivergence) {
            $driver = if ($d.Contains('When') -and $d.When.Contains('Driver')) { $d.When.Driver }
            ($d.Id -like 'systemd-*') | Should -Be ($driver -eq 'Systemd') -Because "divergence '$($d.Id)' is named systemd-… exactly when it applies to the systemd run alone"
        }
    }
}
