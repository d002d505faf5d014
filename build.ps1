#!/usr/bin/env pwsh
<#
.SYNOPSIS
    One entry point for KataCgroups: Build | Test | Help | Package | Demo | Bench | Clean.
.DESCRIPTION
    Build  compiles the engine and the cmdlets and lays out out/KataCgroups/ (module root: manifest, cmdlet
           assembly, formats, LICENSE; Dependencies/: the engine, loaded into a private AssemblyLoadContext;
           en-US/: the help compiled from docs/help, so the built module always ships it). The built manifest's
           ReleaseNotes are the section of its ModuleVersion in CHANGELOG.md (a build fails without one).
    Test   builds, runs the xunit tests, then the Pester suite in a fresh pwsh on the built module (this
           host's cgroups), then two guest tiers in qemu guests booted on this machine's root file system
           (tests/Guest; needs qemu-system-x86 and busybox-static, which .ci/run installs): cgroup v2, and
           cgroup v1 hybrid with the BFQ scheduler; prints each guest tier's time and a closing
           "N passed, N failed" line. Exit code 0 only when everything passed.
    Help   builds like Build, and first rewrites the SYNTAX blocks and parameter yaml of docs/help/*.md from
           Get-Command on the built module (commit the result). Fails, naming each one, when a cmdlet or
           parameter has no section in its page or a page documents a parameter that no longer exists.
    Package
           builds, then packs out/KataCgroups/ into out/KataCgroups.<version>.nupkg (tools/Package, with
           PSResourceGet's Compress-PSResource), which Install-PSResource installs from a file-system repository:
           Register-PSResourceRepository -Name Local -Uri ./out -Trusted; Install-PSResource KataCgroups -Repository Local
    Demo   builds, then walks through a sandbox cgroup's life on this host (rootless: shows the warnings).
    Bench  builds, then runs the paired lifecycle benchmark of bench/ (never part of Test; as root on a cgroup v1
           or hybrid host): the C floor (gcc), the engine from C# and the cmdlets in one session
           (dotnet build -c Release of bench/KataCgroups.Bench), libcgroup's cgroup-tools (installed with apt-get
           when missing), and the systemd driver against systemd-run/systemctl in the test systemd sandbox; then
           the Import-Module cost and Get-KataCgroup over many cgroups. Writes out/bench/results-<date>.md.
           -Micro runs the BenchmarkDotNet micro-benchmarks of bench/KataCgroups.MicroBench instead.
    Clean  removes out/ and the bin/obj folders.
.EXAMPLE
    dotnet tool restore && dotnet pwsh ./build.ps1 Test
.EXAMPLE
    dotnet pwsh ./build.ps1 Bench -BenchCount 300,3000 -BenchRounds 5
.EXAMPLE
    dotnet pwsh ./build.ps1 Bench -BenchCount 50 -BenchRounds 2 -BenchContender Floor,Engine,Cmdlets -BenchScanCount 0
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [ValidateSet('Build', 'Test', 'Help', 'Package', 'Demo', 'Bench', 'Clean')]
    [string] $Task = 'Build',

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release',

    # Test: leave out the guest tiers (two qemu boots, a few minutes each) for a quick local run.
    [switch] $SkipGuest,

    # Test: the long reliability campaign (ten times the property iterations, forty kill points instead of four);
    # sets KATACGROUPS_LONG=1 for the test processes. Never in CI.
    [switch] $Long,

    # Bench: cgroups per run of each contender (the issue's N). The Bench lists also take one comma-separated
    # string, which is what `dotnet pwsh ./build.ps1 Bench -BenchCount 300,3000` passes.
    [string[]] $BenchCount = @('300', '3000'),
    # Bench: paired rounds (every contender once per round, order rotated).
    [int] $BenchRounds = 5,
    # Bench: which contenders (default all): Floor, FloorAt, Engine, Cmdlets, CgroupTools, SystemdEngine, SystemdCmdlets, SystemdCli.
    [string[]] $BenchContender = @('Floor', 'FloorAt', 'Engine', 'EngineAot', 'Cmdlets', 'CgroupTools', 'SystemdEngine', 'SystemdCmdlets', 'SystemdCli'),
    # Bench: N for the systemd contenders.
    [string[]] $BenchSystemdCount = @('300'),
    # Bench: Get-KataCgroup -Root, then the bare whole-host Get-KataCgroup, over this many existing cgroups (0: skip).
    [string[]] $BenchScanCount = @('1000', '10000'),
    # Bench: paired pwsh start-ups for the Import-Module cost (0: skip).
    [int] $BenchImportRuns = 10,
    # Bench: run the BenchmarkDotNet micro-benchmarks (bench/KataCgroups.MicroBench) instead of the lifecycle.
    [switch] $Micro
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$Root = $PSScriptRoot
$Out = Join-Path $Root 'out/KataCgroups'
$PesterVersion = '5.7.1'   # pinned; restored by the PackageDownload in tests/Unit/KataCgroups.Tests.csproj

function Invoke-Native {
    param([string] $File, [string[]] $Arguments)
    & $File @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$File $($Arguments -join ' ') failed with exit code $LASTEXITCODE" }
}

function Invoke-Build {
    param([switch] $UpdateHelpPages)
    Write-Host "==> Build ($Configuration)"
    $publish = Join-Path $Root "out/obj/publish"
    # MSBuild leaves empty temp directories behind: a private TMPDIR under out/, removed afterwards.
    $buildTmp = Join-Path $Root 'out/tmp-build'
    $null = New-Item -ItemType Directory -Force -Path $buildTmp
    $savedTmp = $env:TMPDIR
    $env:TMPDIR = $buildTmp
    try {
        Invoke-Native dotnet @('publish', (Join-Path $Root 'src/KataCgroups.PowerShell/KataCgroups.PowerShell.csproj'),
            '-c', $Configuration, '-o', $publish, '--nologo', '-v', 'quiet')
    }
    finally {
        $env:TMPDIR = $savedTmp
        Remove-Item -Recurse -Force -LiteralPath $buildTmp -ErrorAction Ignore
    }
    if (Test-Path $Out) { Remove-Item -Recurse -Force $Out }
    $deps = New-Item -ItemType Directory -Force -Path (Join-Path $Out 'Dependencies')
    Copy-Item (Join-Path $publish 'KataCgroups.PowerShell.dll') $Out
    Copy-Item (Join-Path $Root 'KataCgroups.psd1') $Out
    Copy-Item (Join-Path $Root 'KataCgroups.Format.ps1xml') $Out
    Copy-Item (Join-Path $Root 'KataCgroups.Types.ps1xml') $Out
    Copy-Item (Join-Path $Root 'LICENSE') $Out
    Import-Module (Join-Path $Root 'tools/Package/KataCgroups.Package.psm1') -Force
    $manifest = Join-Path $Out 'KataCgroups.psd1'
    $version = (Import-PowerShellDataFile -LiteralPath $manifest).ModuleVersion
    Set-KcManifestReleaseNote -ManifestPath $manifest -ReleaseNote (Get-KcReleaseNote -Path (Join-Path $Root 'CHANGELOG.md') -Version $version)
    # Everything else the cmdlets need (the engine, later Tmds.DBus.Protocol) loads from Dependencies/.
    Get-ChildItem $publish -Filter *.dll |
        Where-Object Name -notin 'KataCgroups.PowerShell.dll', 'System.Management.Automation.dll' |
        Copy-Item -Destination $deps
    Write-Host "    laid out $Out"
    Invoke-Help -UpdatePages:$UpdateHelpPages
}

# Compiles docs/help into out/KataCgroups/en-US (tools/Help/KataCgroups.Help.psm1). The syntax and parameter
# metadata come from Get-Command on the module just laid out, read in a child pwsh: importing the built
# module here would lock its assemblies into this process and leave a stale copy for the next build.
function Invoke-Help {
    param([switch] $UpdatePages)
    Write-Host '==> Help (docs/help -> en-US)'
    $docs = Join-Path $Root 'docs/help'
    $tool = Join-Path $Root 'tools/Help/KataCgroups.Help.psm1'
    $metadata = Join-Path $Root 'out/obj/help/commands.json'
    New-Item -ItemType Directory -Force -Path (Split-Path $metadata) | Out-Null
    Invoke-FreshPwsh @('-NoProfile', '-NonInteractive', '-Command', @"
`$ErrorActionPreference = 'Stop'
Import-Module '$tool'
Import-Module '$(Join-Path $Out 'KataCgroups.psd1')'
Get-KcCommandMetadata -Module KataCgroups | ConvertTo-Json -Depth 8 | Set-Content -LiteralPath '$metadata'
"@)
    if ($LASTEXITCODE -ne 0) { throw "reading the commands of the built module failed (exit code $LASTEXITCODE)" }
    Import-Module $tool -Force
    $commands = @(Get-Content -Raw -LiteralPath $metadata | ConvertFrom-Json)
    $pages = @(Get-ChildItem $docs -Filter *.md | Where-Object Name -NotLike 'about_*')
    foreach ($c in $commands) {
        $page = Join-Path $docs "$($c.Name).md"
        if (-not (Test-Path $page)) { continue }   # ConvertTo-KcMamlHelp reports it with the rest
        if ($UpdatePages) {
            if (Update-KcHelpPageSyntax -Path $page -Command $c) { Write-Host "    updated the syntax of $page" }
        }
        elseif (Update-KcHelpPageSyntax -Path $page -Command $c -Check) {
            Write-Warning "the SYNTAX or parameter metadata of $page is out of date: run ./build.ps1 Help and commit the page"
        }
    }
    $enUs = New-Item -ItemType Directory -Force -Path (Join-Path $Out 'en-US')
    # One line per problem: the error view would run the compiler's list together.
    try { $maml = ConvertTo-KcMamlHelp -Path $pages.FullName -Command $commands }
    catch { Write-Host $_.Exception.Message -ForegroundColor Red; throw 'the help did not compile (problems above)' }
    [IO.File]::WriteAllText((Join-Path $enUs 'KataCgroups.PowerShell.dll-Help.xml'), $maml, [Text.UTF8Encoding]::new($false))
    foreach ($about in Get-ChildItem $docs -Filter 'about_*.md') {
        $text = ConvertTo-KcAboutHelp -Path $about.FullName
        [IO.File]::WriteAllText((Join-Path $enUs ($about.BaseName + '.help.txt')), $text, [Text.UTF8Encoding]::new($false))
    }
    Write-Host "    wrote $enUs ($($commands.Count) cmdlets, $(@(Get-ChildItem $docs -Filter 'about_*.md').Count) about topic(s))"
}

# A fresh pwsh like the one running this script. Under `dotnet pwsh` (the tool manifest) the process is
# dotnet itself, so the child is `dotnet <PSHOME>/pwsh.dll`.
function Invoke-FreshPwsh {
    param([string[]] $Arguments)
    $self = [Environment]::ProcessPath
    $pre = @(if ([IO.Path]::GetFileNameWithoutExtension($self) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' })
    & $self @pre @Arguments
}

function Get-PesterManifest {
    $cache = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path $HOME '.nuget/packages' }
    $manifest = Join-Path $cache "pester/$PesterVersion/tools/Pester.psd1"
    if (-not (Test-Path $manifest)) {
        Invoke-Native dotnet @('restore', (Join-Path $Root 'tests/Unit/KataCgroups.Tests.csproj'), '--nologo', '-v', 'quiet')
    }
    if (-not (Test-Path $manifest)) { throw "Pester $PesterVersion was not restored to $manifest" }
    $manifest
}

function Invoke-Test {
    Invoke-Build
    $passed = 0; $failed = 0; $skippedHere = @()
    if ($Long) { $env:KATACGROUPS_LONG = '1'; Write-Host '==> long campaign (KATACGROUPS_LONG=1)' }

    Write-Host '==> xunit (tests/Unit)'
    $trx = Join-Path $Root 'out/test-results'
    if (Test-Path $trx) { Remove-Item -Recurse -Force $trx }
    # The test host leaves empty temp directories behind (dotnet test's own, two per run): give it a private
    # TMPDIR under out/ and remove that afterwards, so a test run leaves the host's /tmp as it found it.
    $unitTmp = Join-Path $Root 'out/tmp-xunit'
    $null = New-Item -ItemType Directory -Force -Path $unitTmp
    $savedTmp = $env:TMPDIR
    $env:TMPDIR = $unitTmp
    try {
        & dotnet test (Join-Path $Root 'tests/Unit/KataCgroups.Tests.csproj') -c $Configuration --nologo `
            --logger 'trx;LogFileName=unit.trx' --results-directory $trx
        $unitExit = $LASTEXITCODE
    }
    finally {
        $env:TMPDIR = $savedTmp
        Remove-Item -Recurse -Force -LiteralPath $unitTmp -ErrorAction Ignore
    }
    $trxFile = Get-ChildItem $trx -Filter unit.trx -Recurse -ErrorAction SilentlyContinue | Select-Object -First 1
    if ($trxFile) {
        [xml] $x = Get-Content $trxFile.FullName
        $c = $x.TestRun.ResultSummary.Counters
        $passed += [int] $c.passed
        $failed += [int] $c.failed
    }
    elseif ($unitExit -ne 0) { $failed++ }
    if ($unitExit -ne 0 -and $failed -eq 0) { $failed++ }   # build or runner failure counts as a failure

    Write-Host '==> Pester (tests/Pester) in a fresh pwsh on the built module'
    $pester = Get-PesterManifest
    $result = Join-Path $Root 'out/test-results/pester.json'
    $script = @"
`$ErrorActionPreference = 'Stop'
Import-Module '$pester' -Force
`$c = New-PesterConfiguration
`$c.Run.Path = @('$(Join-Path $Root 'tests/Pester')', '$(Join-Path $Root 'tests/Systemd')', '$(Join-Path $Root 'tests/Differential')')
`$c.Run.ExcludePath = @('$(Join-Path $Root 'tests/Pester/V2')/*')
`$c.Run.PassThru = `$true
`$c.Output.Verbosity = 'Detailed'
`$env:KATACGROUPS_MODULE = '$(Join-Path $Out 'KataCgroups.psd1')'
# What this host offers, as a user's preflight shows it: the tests derive their expectations from the same checks.
Import-Module `$env:KATACGROUPS_MODULE
Test-KataCgroupHost | Format-Table -Wrap | Out-String -Width 200 | Out-Host
`$r = Invoke-Pester -Configuration `$c
# Every skipped test with the capability it names, so a run shows what this host could not exercise.
`$skipped = @(`$r.Skipped | ForEach-Object { `$why = @(`$_.ErrorRecord | ForEach-Object { `$_.Exception.Message }) -join ' '; "`$(`$_.ExpandedPath): `$why" })
@{ Passed = `$r.PassedCount; Failed = `$r.FailedCount + `$r.FailedBlocksCount + `$r.FailedContainersCount; Skipped = `$skipped } | ConvertTo-Json | Set-Content '$result'
"@
    Invoke-FreshPwsh @('-NoProfile', '-NonInteractive', '-Command', $script)
    if (Test-Path $result) {
        $p = Get-Content $result | ConvertFrom-Json
        $passed += $p.Passed; $failed += $p.Failed
        $skippedHere = @($p.Skipped)
    }
    else { $failed++ }

    $guestTiers = @()
    if ($SkipGuest) { Write-Host '==> guest tiers (cgroup v2; cgroup v1 hybrid with BFQ) skipped (-SkipGuest)' }
    else {
        # The v2 tier runs the differential suite too: its oracle (Go, tests/Differential/oracle) is built here, since
        # the guest sees this machine's root file system read-only and would build it under TCG. A no-op when the
        # host's Pester run above built it already.
        Invoke-FreshPwsh @('-NoProfile', '-NonInteractive', '-Command',
            "Import-Module '$(Join-Path $Root 'tests/Differential/Differential.psm1')'; `$null = Build-KcDiffOracle")
        if ($LASTEXITCODE -ne 0) { Write-Host '    FAILED: building the differential oracle for the guest'; $failed++ }
        foreach ($mode in 'v2', 'hybrid') {
            $clock = [Diagnostics.Stopwatch]::StartNew()
            $guest = Invoke-GuestTier -Mode $mode
            $passed += $guest.Passed; $failed += $guest.Failed
            $line = "$mode guest tier: $($guest.Passed) passed, $($guest.Failed) failed in $([int] $clock.Elapsed.TotalSeconds) s"
            Write-Host "    $line"
            $guestTiers += $line
        }
    }

    Write-Host ''
    if ($skippedHere.Count) {
        Write-Host "skipped on this host ($($skippedHere.Count)), each naming what the host lacks:"
        foreach ($line in $skippedHere) { Write-Host "  $line" }
    }
    foreach ($line in $guestTiers) { Write-Host $line }
    Write-Host "$passed passed, $failed failed"
    if ($failed -gt 0) { exit 1 }
}

# A guest tier: one qemu boot (tests/Guest/run-guest.sh) runs the kernel xunit tests and the mode's Pester
# files. v2: a pure cgroup v2 guest, the v2 suite. hybrid: v1 controllers with BFQ running the scratch disk
# (this host's kernel has no BFQ), the block I/O tests. Without qemu a tier is reported and skipped, unless
# KATACGROUPS_REQUIRE_GUEST=1 (CI), where a missing tier is a failure.
function Invoke-GuestTier {
    param([ValidateSet('v2', 'hybrid')] [string] $Mode)
    $name = @{ v2 = 'cgroup v2 guest tier'; hybrid = 'cgroup v1 hybrid guest tier (BFQ)' }[$Mode]
    Write-Host "==> $name (tests/Guest, qemu/TCG)"
    $missing = @('qemu-system-x86_64', 'busybox') | Where-Object { -not (Get-Command $_ -CommandType Application -ErrorAction Ignore) }
    if ($missing) {
        $msg = "$name not run: $($missing -join ', ') not installed (apt-get install qemu-system-x86 busybox-static; .ci/run does)"
        if ($env:KATACGROUPS_REQUIRE_GUEST -eq '1') { Write-Host "    FAILED: $msg"; return @{ Passed = 0; Failed = 1 } }
        Write-Warning $msg
        return @{ Passed = 0; Failed = 0 }
    }
    $result = Join-Path $Root "out/test-results/guest-$Mode.json"
    # A guest that produced no result at all (exit 98: it never finished, so no test reported anything) is booted
    # once more: a TCG guest on this VM has, rarely, stopped dead mid-run (one CI run in many; the console and the
    # guest's watchdog, printed above, show where). Test failures are never retried: they come with a result.
    foreach ($attempt in 1, 2) {
        Remove-Item $result -ErrorAction Ignore
        & (Join-Path $Root 'tests/Guest/run-guest.sh') --mode $Mode | Out-Host
        $exit = $LASTEXITCODE
        if (Test-Path $result) { break }
        Write-Host "    attempt ${attempt}: the guest produced no result (exit $exit)"
        if ($exit -ne 98 -or $attempt -eq 2) { return @{ Passed = 0; Failed = 1 } }
        Write-Host '    booting the guest once more (a guest that never finished; see its console above)'
    }
    $g = Get-Content $result -Raw | ConvertFrom-Json
    foreach ($part in $g.Parts.PSObject.Properties) { Write-Host "    $($part.Name): $($part.Value)" }
    foreach ($f in $g.Failures) { Write-Host "    FAILED $f" }
    $failed = [int] $g.Failed
    if ($exit -ne 0 -and $failed -eq 0) { $failed = 1 }
    @{ Passed = [int] $g.Passed; Failed = $failed }
}

# The release artifact: the built layout as a package PSResourceGet installs (tools/Package/KataCgroups.Package.psm1).
function Invoke-Package {
    Invoke-Build
    Write-Host '==> Package (out/KataCgroups -> nupkg)'
    $package = New-KcModulePackage -ModuleDirectory $Out -DestinationPath (Join-Path $Root 'out')
    Write-Host "    wrote $($package.FullName)"
}

function Invoke-Demo {
    Invoke-Build
    Invoke-FreshPwsh @('-NoProfile', '-File', (Join-Path $Root 'tools/Demo.ps1'), '-ModulePath', (Join-Path $Out 'KataCgroups.psd1'))
    if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
}

# The benchmark (bench/README.md): builds the module, the C floor and the bench projects, then runs the harness.
function Invoke-Bench {
    if ($Micro) {
        Write-Host '==> BenchmarkDotNet micro-benchmarks (bench/KataCgroups.MicroBench, short job)'
        $artifacts = Join-Path $Root 'out/bench/micro'
        # the write benchmarks' test root (an ordinary directory, not cgroupfs)
        $env:KCBENCH_MICRO_ROOT = New-Item -ItemType Directory -Force -Path (Join-Path $artifacts 'root') | ForEach-Object FullName
        Invoke-Native dotnet @('run', '--project', (Join-Path $Root 'bench/KataCgroups.MicroBench/KataCgroups.MicroBench.csproj'),
            '-c', 'Release', '--', '--artifacts', $artifacts)
        Write-Host "    reports in $artifacts/results"
        return
    }
    if (-not [Environment]::IsPrivilegedProcess) { throw 'Bench creates cgroups: run it as root' }
    $split = { param($v) @($v | ForEach-Object { $_ -split ',' } | ForEach-Object Trim | Where-Object { $_ }) }
    $contenders = & $split $BenchContender
    $known = 'Floor', 'FloorAt', 'Engine', 'EngineAot', 'Cmdlets', 'CgroupTools', 'SystemdEngine', 'SystemdCmdlets', 'SystemdCli'
    foreach ($c in $contenders) { if ($c -notin $known) { throw "unknown contender '$c' (known: $($known -join ', '))" } }
    $contenders = @($known | Where-Object { $_ -in $contenders })   # canonical spelling and order
    $counts, $sdCounts, $scanCounts = @($BenchCount, $BenchSystemdCount, $BenchScanCount | ForEach-Object { , [int[]](& $split $_) })
    Invoke-Build
    Write-Host '==> Bench: build the contenders'
    if ('CgroupTools' -in $contenders -and -not (Get-Command cgcreate -CommandType Application -ErrorAction Ignore)) {
        # Only the benchmark needs libcgroup's tools (contender d); not installed by .ci/run.
        Write-Host '    cgroup-tools missing: apt-get install cgroup-tools (Bench runs as root)'
        & apt-get install -y -q cgroup-tools
        if ($LASTEXITCODE -ne 0) {
            # a fresh machine has no package lists yet
            Invoke-Native apt-get @('update', '-q')
            Invoke-Native apt-get @('install', '-y', '-q', 'cgroup-tools')
        }
    }
    $floor = Join-Path $Root 'out/bench/floor'
    New-Item -ItemType Directory -Force -Path (Split-Path $floor) | Out-Null
    Invoke-Native gcc @('-O2', '-Wall', '-Wextra', '-Wno-format-truncation', '-pthread', '-o', $floor, (Join-Path $Root 'bench/floor/floor.c'))
    $benchOut = Join-Path $Root 'out/bench/KataCgroups.Bench'
    Invoke-Native dotnet @('build', (Join-Path $Root 'bench/KataCgroups.Bench/KataCgroups.Bench.csproj'), '-c', 'Release',
        '-o', $benchOut, '--nologo', '-v', 'quiet')
    $aot = $null
    if ('EngineAot' -in $contenders) {
        # The same program compiled ahead of time (the engine is AOT-compatible: IsAotCompatible in its project);
        # a RID-specific publish, so it neither replaces the JIT build above nor the project's regular outputs.
        $aotOut = Join-Path $Root 'out/bench/KataCgroups.Bench.Aot'
        Invoke-Native dotnet @('publish', (Join-Path $Root 'bench/KataCgroups.Bench/KataCgroups.Bench.csproj'), '-c', 'Release',
            '-r', 'linux-x64', '-p:PublishAot=true', '-o', $aotOut, '--nologo', '-v', 'quiet')
        $aot = Join-Path $aotOut 'KataCgroups.Bench'
    }
    Write-Host '==> Bench: paired runs (bench/Invoke-Bench.ps1)'
    & (Join-Path $Root 'bench/Invoke-Bench.ps1') -Count $counts -Rounds $BenchRounds -Contender $contenders `
        -SystemdCount $sdCounts -ScanCount $scanCounts -ImportRuns $BenchImportRuns `
        -ModulePath (Join-Path $Out 'KataCgroups.psd1') -BenchDll (Join-Path $benchOut 'KataCgroups.Bench.dll') -FloorExe $floor `
        -BenchAotExe $aot
}

function Invoke-Clean {
    foreach ($d in @('out') + (Get-ChildItem $Root -Recurse -Directory -Include bin, obj | ForEach-Object FullName)) {
        $p = if ([IO.Path]::IsPathRooted($d)) { $d } else { Join-Path $Root $d }
        if (Test-Path $p) { Remove-Item -Recurse -Force $p; Write-Host "removed $p" }
    }
}

switch ($Task) {
    'Build' { Invoke-Build }
    'Test'  { Invoke-Test }
    'Help'  { Invoke-Build -UpdateHelpPages }
    'Package' { Invoke-Package }
    'Demo'  { Invoke-Demo }
    'Bench' { Invoke-Bench }
    'Clean' { Invoke-Clean }
}
