<#
.SYNOPSIS
    A guest test tier, run inside the guest tests/Guest/run-guest.sh boots: the kernel unit tests (xunit,
    Category=Kernel), then the mode's Pester files, on the module built on the host. Writes one JSON summary
    for the host to read.
.DESCRIPTION
    v2      pure cgroup v2: tests/Pester/V2, the rootless tests, the preflight's tests, the differential suite
            against runc (tests/Differential, its oracle built on the host) and the leak check.
    hybrid  cgroup v1 controllers with BFQ running the scratch disk: tests/Pester/BlockIo.Tests.ps1 (weights,
            leaf weights, throttles and I/O statistics on a kernel that has BFQ, which the CI host lacks), the
            preflight's tests and the leak check. A listed file that does not exist is a failure, never a silent
            pass. Both print Test-KataCgroupHost first, so the log shows what the guest offered.
.PARAMETER PesterPath
    Pester files to run instead of the mode's list (the leak check is still added last).
#>
param(
    [Parameter(Mandatory)] [string] $ResultPath,
    [ValidateSet('v2', 'hybrid')] [string] $Mode = 'v2',
    [string[]] $PesterPath,
    [string] $PesterVersion = '5.7.1')
$ErrorActionPreference = 'Stop'
$root = Resolve-Path (Join-Path $PSScriptRoot '../..')
$summary = [ordered]@{ Passed = 0; Failed = 0; Failures = @(); Parts = [ordered]@{} }

# 1. xunit tests that need a real kernel, from the test assembly build.ps1 built on the host.
$dll = Join-Path $root 'tests/Unit/bin/Release/net10.0/KataCgroups.Tests.dll'
if (Test-Path $dll) {
    $trxDir = Join-Path ([IO.Path]::GetTempPath()) 'kc-guest-trx'
    & dotnet test $dll --filter 'Category=Kernel' --logger 'trx;LogFileName=kernel.trx' --results-directory $trxDir --nologo
    $trx = Get-ChildItem $trxDir -Filter kernel.trx -Recurse -ErrorAction SilentlyContinue | Select-Object -First 1
    if ($trx) {
        [xml] $x = Get-Content $trx.FullName
        $c = $x.TestRun.ResultSummary.Counters
        $summary.Passed += [int] $c.passed; $summary.Failed += [int] $c.failed
        $summary.Parts.KernelUnit = "$($c.passed) passed, $($c.failed) failed, $([int]$c.total - [int]$c.executed) skipped"
        foreach ($r in @($x.TestRun.Results.UnitTestResult | Where-Object outcome -EQ 'Failed')) { $summary.Failures += "xunit: $($r.testName)" }
    }
    else { $summary.Failed++; $summary.Failures += 'xunit: no result (the test host did not run)' }
}
else { $summary.Failed++; $summary.Failures += "xunit: $dll not built" }

# 2. Pester: the mode's files and, last, the leak check.
if (-not $PesterPath) {
    $PesterPath = switch ($Mode) {
        'v2' { 'tests/Pester/V2', 'tests/Pester/Rootless.Tests.ps1', 'tests/Pester/HostCheck.Tests.ps1', 'tests/Differential/Differential.Tests.ps1' }
        'hybrid' { 'tests/Pester/BlockIo.Tests.ps1', 'tests/Pester/HostCheck.Tests.ps1' }
    }
}
$paths = @($PesterPath | ForEach-Object { if ([IO.Path]::IsPathRooted($_)) { $_ } else { Join-Path $root $_ } })
$paths += Join-Path $root 'tests/Pester/zz.Leaks.Tests.ps1'
foreach ($p in $paths | Where-Object { -not (Test-Path -LiteralPath $_) }) {
    $summary.Failed++; $summary.Failures += "pester: $p does not exist (the $Mode tier is there to run it)"
}
$cache = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path $HOME '.nuget/packages' }
Import-Module (Join-Path $cache "pester/$PesterVersion/tools/Pester.psd1") -Force
$env:KATACGROUPS_MODULE = Join-Path $root 'out/KataCgroups/KataCgroups.psd1'
# What this guest offers, as a user's preflight shows it (the tests import the same module again).
Import-Module $env:KATACGROUPS_MODULE
Test-KataCgroupHost | Format-Table -Wrap | Out-String -Width 200 | Out-Host
$c = New-PesterConfiguration
$c.Run.Path = @($paths | Where-Object { Test-Path -LiteralPath $_ })
$c.Run.PassThru = $true
$c.Output.Verbosity = 'Detailed'
$r = Invoke-Pester -Configuration $c
$summary.Passed += $r.PassedCount
$summary.Failed += $r.FailedCount + $r.FailedBlocksCount + $r.FailedContainersCount
$summary.Parts.Pester = "$($r.PassedCount) passed, $($r.FailedCount) failed, $($r.SkippedCount) skipped"
foreach ($t in $r.Failed) { $summary.Failures += "pester: $($t.ExpandedPath)" }
if ($r.PassedCount -eq 0) { $summary.Failed++; $summary.Failures += 'pester: nothing passed (suite not run?)' }
# The guest exists for what these files test: a file (or folder) of them that failed nothing but passed
# nothing either (every test skipped) ran nothing this tier is for. Failures are already counted above.
foreach ($p in $c.Run.Path.Value) {
    $ran = @($r.Containers | Where-Object { "$($_.Item)" -eq $p -or "$($_.Item)".StartsWith("$p/") })
    if (-not ($ran | Where-Object Result -EQ 'Failed') -and ($ran | Measure-Object -Property PassedCount -Sum).Sum -eq 0) {
        $summary.Failed++; $summary.Failures += "pester: nothing in $p passed (every test skipped)"
    }
}

$summary | ConvertTo-Json -Depth 4 | Set-Content -LiteralPath $ResultPath
exit ([int]($summary.Failed -gt 0))
