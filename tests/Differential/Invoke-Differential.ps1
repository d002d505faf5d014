#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Runs the differential suite against runc's libcontainer outside Pester: all cases of a seed, or one case again.
.DESCRIPTION
    As root, on the module built into out/KataCgroups (./build.ps1 Build). Prints the summary, then every divergence
    grouped by kind; -Verbose also prints each case where both engines fail, with both messages, and -Detail every
    case in full. Exit code 0 when nothing diverges beyond tests/Differential/divergences.psd1 and nothing is left
    behind. See docs/differential.md.
.EXAMPLE
    dotnet pwsh tests/Differential/Invoke-Differential.ps1 -Seed 1234 -Case 417 -Detail
.EXAMPLE
    dotnet pwsh tests/Differential/Invoke-Differential.ps1 -Count 5000
.EXAMPLE
    dotnet pwsh tests/Differential/Invoke-Differential.ps1 -Systemd -Sample 100
#>
[CmdletBinding()]
param(
    [int] $Seed = (Get-Random -Maximum ([int]::MaxValue)),
    [int] $Count = 500,
    # Only these case indexes of the random seed (the number after 'c' in a case id); '3,17' works under pwsh -File too.
    [string[]] $Case,
    # Only this many of the -Count cases, drawn by the random seed (what the v2 guest tier runs: -Sample 150).
    [int] $Sample,
    # Print every case in full, agreeing or not.
    [switch] $Detail,
    # The systemd driver against runc's systemd manager, in the test systemd of tests/Systemd (v1 and hybrid hosts).
    [switch] $Systemd,
    [string] $ModulePath
)
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot 'Differential.psm1') -Force
if (-not $ModulePath) { $ModulePath = Join-Path $PSScriptRoot '../../out/KataCgroups/KataCgroups.psd1' }
if (-not [Environment]::IsPrivilegedProcess) { throw 'the differential suite creates cgroups: run it as root' }

$indexes = @($Case | ForEach-Object { $_ -split ',' } | Where-Object { $_ } | ForEach-Object { [int] $_ })
$invoke = if ($Systemd) { 'Invoke-KcDiffSystemd' } else { 'Invoke-KcDifferential' }
$run = & $invoke -Seed $Seed -Count $Count -Case $indexes -Sample $Sample -ModulePath (Resolve-Path $ModulePath).ProviderPath
Format-KcDiffSummary $run | Write-Host
if ($Detail) { foreach ($r in $run.Results.Values) { Format-KcDiffResult $run $r | Write-Host } }
foreach ($r in $run.Results.Values | Where-Object Kind -EQ 'BothFail') {
    Write-Verbose "$($r.Case.Id) both fail [$($r.Case.Note)]: runc ($($r.Runc.Stage)): $($r.Runc.Error) | module: $($r.Module.ErrorId): $($r.Module.Message)"
}
foreach ($r in $run.Results.Values | Where-Object Status -EQ 'Allowed') { Write-Verbose "$($r.Case.Id) allowed by $($r.AllowedBy)" }
$report = @(Format-KcDiffReport $run)
$report | Write-Host
foreach ($p in @($run.CleanupProblems) + @($run.Leftovers)) { Write-Host "cleanup: $p" }
if ($report -or $run.CleanupProblems -or $run.Leftovers) { exit 1 }
