<#
.SYNOPSIS
    The v2 test tier, run inside the cgroup v2 guest (tests/Guest/run-v2-guest.sh boots it): the kernel unit
    tests (xunit, Category=Kernel), then the v2 Pester suite plus the rootless and leak checks, on the module
    built on the host. Writes one JSON summary for the host to read.
#>
param([Parameter(Mandatory)] [string] $ResultPath, [string] $PesterVersion = '5.7.1')
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

# 2. Pester: the v2 suite, the rootless tests and, last, the leak check.
$cache = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path $HOME '.nuget/packages' }
Import-Module (Join-Path $cache "pester/$PesterVersion/tools/Pester.psd1") -Force
$env:KATACGROUPS_MODULE = Join-Path $root 'out/KataCgroups/KataCgroups.psd1'
$c = New-PesterConfiguration
$c.Run.Path = @(
    (Join-Path $root 'tests/Pester/V2'),
    (Join-Path $root 'tests/Pester/Rootless.Tests.ps1'),
    (Join-Path $root 'tests/Pester/zz.Leaks.Tests.ps1'))
$c.Run.PassThru = $true
$c.Output.Verbosity = 'Detailed'
$r = Invoke-Pester -Configuration $c
$summary.Passed += $r.PassedCount
$summary.Failed += $r.FailedCount + $r.FailedBlocksCount + $r.FailedContainersCount
$summary.Parts.Pester = "$($r.PassedCount) passed, $($r.FailedCount) failed, $($r.SkippedCount) skipped"
foreach ($t in $r.Failed) { $summary.Failures += "pester: $($t.ExpandedPath)" }
if ($r.PassedCount -eq 0) { $summary.Failed++; $summary.Failures += 'pester: nothing passed (suite not run?)' }

$summary | ConvertTo-Json -Depth 4 | Set-Content -LiteralPath $ResultPath
exit ([int]($summary.Failed -gt 0))
