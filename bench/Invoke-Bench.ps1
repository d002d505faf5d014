#!/usr/bin/env pwsh
<#
.SYNOPSIS
    The paired lifecycle benchmark (bench/README.md): runs every contender on the same workload in one
    invocation, verifies that each left nothing behind, and writes the results table to out/bench/results-<date>.md.
.DESCRIPTION
    Called by `build.ps1 Bench`, which builds what it needs first and passes the paths. Runs as root on a cgroup v1
    or hybrid host (the floor writes the v1 device files). Never part of `build.ps1 Test`: tests never time.

    Workload, identical for every contender, one process each: one `sleep` helper; for each of N cgroups
    <root>/kata_c<i> under a fresh bench root made once: create in every hierarchy the module uses here with memory
    256 MiB, cpu shares 512, quota 50000/period 100000, pids 128 and the engine's device rules; join the helper;
    update memory 512 MiB and pids 256; move the helper back to the bench root; remove. Each contender does one
    untimed warm-up cycle (kata_warm) and reports the timed loop itself; the harness times the whole process.

    Before the timed rounds, a check round runs every cgroupfs contender once with N = 1 and compares the files
    each one left in kata_warm after the update (values, devices.list, cgroup.procs in every hierarchy): the
    benchmark stops when two contenders do not end in the same state.
#>
[CmdletBinding()]
param(
    [int[]] $Count = @(300, 3000),
    [int] $Rounds = 5,
    [ValidateSet('Floor', 'FloorAt', 'Engine', 'EngineAot', 'Cmdlets', 'CgroupTools', 'SystemdEngine', 'SystemdCmdlets', 'SystemdCli')]
    [string[]] $Contender = @('Floor', 'FloorAt', 'Engine', 'EngineAot', 'Cmdlets', 'CgroupTools', 'SystemdEngine', 'SystemdCmdlets', 'SystemdCli'),
    # N for the systemd contenders (every systemd-run is a full D-Bus job; 3,000 of them take minutes a round).
    [int[]] $SystemdCount = @(300),
    # Get-KataCgroup -Root over this many existing cgroups; 0 to skip.
    [int[]] $ScanCount = @(1000, 10000),
    # pwsh start-ups per side for the Import-Module cost; 0 to skip.
    [int] $ImportRuns = 10,
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $BenchDll,
    [Parameter(Mandatory)] [string] $FloorExe,
    # The same bench program compiled ahead of time (dotnet publish -p:PublishAot=true): contender EngineAot.
    [string] $BenchAotExe,
    [string] $OutDir = (Join-Path $PSScriptRoot '../out/bench')
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$Here = $PSScriptRoot
$Repo = (Resolve-Path (Join-Path $Here '..')).Path
$OutDir = [IO.Path]::GetFullPath($OutDir)
$Work = Join-Path $OutDir ("work-" + [Guid]::NewGuid().ToString('N').Substring(0, 8))
New-Item -ItemType Directory -Force -Path $Work | Out-Null
$FsContenders = @($Contender | Where-Object { $_ -in 'Floor', 'FloorAt', 'Engine', 'EngineAot', 'Cmdlets', 'CgroupTools' })
if ('EngineAot' -in $Contender -and -not $BenchAotExe) { throw 'contender EngineAot needs -BenchAotExe (build.ps1 Bench publishes it)' }
$SdContenders = @($Contender | Where-Object { $_ -like 'Systemd*' })
$Exe = [Environment]::ProcessPath
$PwshPre = @(if ([IO.Path]::GetFileNameWithoutExtension($Exe) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' })
$Dotnet = (Get-Command dotnet -CommandType Application | Select-Object -First 1).Source

if (-not [Environment]::IsPrivilegedProcess) { throw 'the benchmark creates cgroups: run it as root' }

# ---- helpers ------------------------------------------------------------------------------------------------

# Runs a program, times it from start to exit, returns Wall (ms), Exit, Output (stdout lines) and Error.
function Invoke-Timed([string] $File, [string[]] $Arguments, [hashtable] $Environment = @{}, [int] $TimeoutSeconds = 3600) {
    $psi = [Diagnostics.ProcessStartInfo]::new($File)
    foreach ($a in $Arguments) { $psi.ArgumentList.Add($a) }
    $psi.UseShellExecute = $false
    $psi.RedirectStandardInput = $true
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardError = $true
    foreach ($k in $Environment.Keys) { $psi.Environment[$k] = [string]$Environment[$k] }
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $p = [Diagnostics.Process]::Start($psi)
    try {
        $p.StandardInput.Close()
        $out = $p.StandardOutput.ReadToEndAsync()
        $err = $p.StandardError.ReadToEndAsync()
        if (-not $p.WaitForExit($TimeoutSeconds * 1000)) {
            try { $p.Kill($true) } catch { }
            throw "$File $($Arguments -join ' ') did not finish within $TimeoutSeconds s (killed)"
        }
        $p.WaitForExit()
        $sw.Stop()
        [pscustomobject]@{
            Wall   = $sw.Elapsed.TotalMilliseconds
            Exit   = $p.ExitCode
            Output = @($out.GetAwaiter().GetResult().Split("`n") | Where-Object { $_ })
            Error  = $err.GetAwaiter().GetResult()
        }
    }
    finally { $p.Dispose() }
}

# The contender's own "KCBENCH {json}" line.
function Get-KcBenchLine([string[]] $Lines, [string] $What, [string] $ErrorText) {
    $line = @($Lines | Where-Object { $_ -like 'KCBENCH *' }) | Select-Object -Last 1
    if (-not $line) { throw "$What reported no KCBENCH line:`n$($Lines -join "`n")`n$ErrorText" }
    $line.Substring(8) | ConvertFrom-Json
}

function Get-Median([double[]] $Values) {
    $s = @($Values | Sort-Object)
    if ($s.Count -eq 0) { return [double]::NaN }
    if ($s.Count % 2) { return $s[[int][Math]::Floor($s.Count / 2)] }
    ($s[$s.Count / 2 - 1] + $s[$s.Count / 2]) / 2
}

function Format-Num([double] $v, [int] $digits = 3) {
    if ([double]::IsNaN($v)) { return 'n/a' }
    $v.ToString("F$digits", [Globalization.CultureInfo]::InvariantCulture)
}

function Write-Step([string] $Text) { Write-Host "==> $Text" }

# ---- state we own and must leave clean ----------------------------------------------------------------------

$LoadAtStart = ([IO.File]::ReadAllText('/proc/loadavg') -split ' ')[0..2] -join ' '
$BenchRoot = '/kcbench-' + [Guid]::NewGuid().ToString('N').Substring(0, 10)
$Slice = 'kcbench.slice'
$Helper = $null
$Sb = $null
$Mounts = @()
$SdHelper = 0
$Problems = [Collections.Generic.List[string]]::new()
$Results = [Collections.Generic.List[object]]::new()
$Extras = [ordered]@{}

# Nothing of the bench root in any hierarchy, no kata_ directory left by a contender, the helper alive and out.
function Test-FsClean([string] $After) {
    foreach ($m in $Mounts) {
        $dir = "$m$BenchRoot"
        $left = @([IO.Directory]::EnumerateDirectories($dir))
        if ($left.Count) { throw "after $After`: $($left.Count) cgroup(s) left under $dir ($($left[0]) …)" }
    }
    if ($Helper.HasExited) { throw "after $After`: the helper process exited" }
    $inKata = @(Get-Content "/proc/$($Helper.Id)/cgroup" | Where-Object { $_ -like '*/kata_*' })
    if ($inKata) { throw "after $After`: the helper is still in $($inKata -join ', ')" }
}

function Invoke-InSandbox([string[]] $Command, [int] $TimeoutSeconds = 3600) {
    $sw = [Diagnostics.Stopwatch]::StartNew()
    # Invoke-KcInSandbox reports the command's stderr on the verbose stream: keep it, a contender that reports
    # nothing is explained by it.
    $all = Invoke-KcInSandbox $Sb -TimeoutSeconds $TimeoutSeconds -IgnoreExitCode -Verbose -- env HOME=/tmp DOTNET_CLI_HOME=/tmp `
        XDG_CACHE_HOME=/tmp NO_COLOR=1 TERM=dumb DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1 POWERSHELL_TELEMETRY_OPTOUT=1 @Command 4>&1
    $sw.Stop()
    [pscustomobject]@{
        Wall   = $sw.Elapsed.TotalMilliseconds
        Output = @($all | Where-Object { $_ -isnot [Management.Automation.VerboseRecord] })
        Error  = (@($all | Where-Object { $_ -is [Management.Automation.VerboseRecord] } | ForEach-Object Message) -join "`n")
    }
}

# No kata- unit and no scope directory left in the sandbox; the slice empty but for the helper.
function Test-SdClean([string] $After) {
    $units = @((Invoke-KcInSandbox $Sb -- systemctl list-units --all --plain --no-legend 'kata-*') | Where-Object { $_ })
    if ($units) { throw "after $After`: unit(s) left in the sandbox: $($units -join '; ')" }
    $dirs = @(Get-ChildItem -Directory "/sys/fs/cgroup/*/$($Sb.Name)/$Slice/kata-*" -ErrorAction Ignore)
    if ($dirs) { throw "after $After`: scope directories left: $($dirs[0].FullName) …" }
}

try {
    # ---- plan: the engine's own, handed to the floor and to cgroup-tools --------------------------------------
    Write-Step "plan of $BenchRoot/kata_c0 (KataCgroups.Bench plan)"
    $r = Invoke-Timed $Dotnet @($BenchDll, 'plan', '--root', $BenchRoot)
    if ($r.Exit -ne 0) { throw "KataCgroups.Bench plan failed:`n$($r.Error)" }
    $plan = ($r.Output -join "`n") | ConvertFrom-Json
    if ($plan.mode -notin 'Legacy', 'Hybrid') { throw "host mode $($plan.mode): the floor writes v1 device files; run the benchmark on a cgroup v1 or hybrid host" }
    $Mounts = @($plan.hierarchies | ForEach-Object mount | Select-Object -Unique)
    $mountOf = @{}; foreach ($h in $plan.hierarchies) { $mountOf[$h.controller] = $h.mount }
    $cpusetMount = $mountOf['cpuset']
    Write-Host "    hierarchies: $($Mounts -join ' ')"
    Write-Host "    create: $(@($plan.create).Count) writes, update: $(@($plan.update).Count) writes"

    $spec = Join-Path $Work 'floor.spec'
    $lines = foreach ($m in $Mounts) { "H $m $([int]($m -eq $cpusetMount))" }
    $lines += foreach ($w in $plan.create) { "C $([array]::IndexOf($Mounts, $mountOf[$w.Controller])) $($w.File) $($w.Value)" }
    $lines += foreach ($w in $plan.update) { "U $([array]::IndexOf($Mounts, $mountOf[$w.Controller])) $($w.File) $($w.Value)" }
    [IO.File]::WriteAllLines($spec, [string[]]$lines)

    Write-Step "bench root $BenchRoot in every hierarchy"
    $r = Invoke-Timed $FloorExe @('setup', $spec, $BenchRoot)
    if ($r.Exit -ne 0) { throw "floor setup failed: $($r.Error)" }

    # cgroup-tools: the controllers libcgroup addresses by name, the rest (name=systemd, the hybrid cgroup2 tree)
    # by mkdir/echo/rmdir; the engine's writes as cgset calls (one name once per call).
    $ctrls = @($plan.hierarchies | Where-Object { $_.controller -notlike 'name=*' -and $_.controller -ne 'unified' } | ForEach-Object controller)
    $extra = @($plan.hierarchies | Where-Object { $_.controller -like 'name=*' -or $_.controller -eq 'unified' } | ForEach-Object mount | Select-Object -Unique)
    function ConvertTo-CgsetCalls($writes, [hashtable] $first = @{}) {
        $calls = [Collections.Generic.List[object]]::new()
        $calls.Add([Collections.Generic.List[string]]::new())
        foreach ($k in $first.Keys | Sort-Object) { $calls[0].Add("-r '$k=$($first[$k])'") }
        $echo = [Collections.Generic.List[string]]::new()
        foreach ($w in $writes) {
            if ($w.Controller -notin $ctrls) { $echo.Add("echo '$($w.Value)' >`"$($mountOf[$w.Controller])`$1/$($w.File)`""); continue }
            $call = $calls | Where-Object { -not ($_ -like "-r '$($w.File)=*") } | Select-Object -First 1
            if (-not $call) { $call = [Collections.Generic.List[string]]::new(); $calls.Add($call) }
            $call.Add("-r '$($w.File)=$($w.Value)'")
        }
        @($calls | Where-Object Count | ForEach-Object { "  cgset $($_ -join ' ') `"`$1`"" }) + @($echo | ForEach-Object { "  $_" })
    }
    if ('CgroupTools' -in $Contender) {
        if (-not (Get-Command cgcreate -CommandType Application -ErrorAction Ignore)) { throw 'cgroup-tools is not installed (build.ps1 Bench installs it)' }
        $cpus = [IO.File]::ReadAllText("$cpusetMount$BenchRoot/cpuset.cpus").Trim()
        $mems = [IO.File]::ReadAllText("$cpusetMount$BenchRoot/cpuset.mems").Trim()
        $cfg = @("CTRLS=$($ctrls -join ',')", "EXTRA=($(($extra | ForEach-Object { "'$_'" }) -join ' '))", 'create() {') +
            (ConvertTo-CgsetCalls $plan.create @{ 'cpuset.cpus' = $cpus; 'cpuset.mems' = $mems }) + '}' + 'update() {' +
            (ConvertTo-CgsetCalls $plan.update) + '}'
        $cgtoolsConfig = Join-Path $Work 'cgtools.conf'
        [IO.File]::WriteAllLines($cgtoolsConfig, [string[]]$cfg)
    }

    $Helper = [Diagnostics.Process]::Start([Diagnostics.ProcessStartInfo]::new('sleep', '1000000'))
    Write-Host "    helper: sleep, pid $($Helper.Id)"

    # How to run one contender once: returns the KCBENCH object plus Wall.
    $run = @{
        Floor       = { param($n, $envs) Invoke-Timed $FloorExe @('run', $spec, $BenchRoot, $n, $Helper.Id) $envs }
        # The same floor, its paths opened/made/removed relative to each hierarchy's mount (O_PATH handle), as the engine does.
        FloorAt     = { param($n, $envs) $e = @{ FLOOR_AT = '1' }; foreach ($k in $envs.Keys) { $e[$k] = $envs[$k] }; Invoke-Timed $FloorExe @('run', $spec, $BenchRoot, $n, $Helper.Id) $e }
        Engine      = { param($n, $envs) Invoke-Timed $Dotnet @($BenchDll, 'run', '--root', $BenchRoot, '--count', $n, '--pid', $Helper.Id) $envs }
        # The same engine in an ahead-of-time compiled C# host (a runtime or shim in C# could ship it so): no JIT.
        EngineAot   = { param($n, $envs) Invoke-Timed $BenchAotExe @('run', '--root', $BenchRoot, '--count', $n, '--pid', $Helper.Id) $envs }
        Cmdlets     = { param($n, $envs) Invoke-Timed $Exe (@($PwshPre) + @('-NoProfile', '-NonInteractive', '-File', (Join-Path $Here 'Cmdlets.ps1'), '-ModulePath', $ModulePath, '-Root', $BenchRoot, '-Count', $n, '-ProcessId', $Helper.Id)) $envs }
        CgroupTools = { param($n, $envs) Invoke-Timed '/bin/bash' @((Join-Path $Here 'cgtools.sh'), $cgtoolsConfig, $BenchRoot, $n, $Helper.Id) $envs }
    }

    # ---- check round: every cgroupfs contender ends in the same state -----------------------------------------
    if ($FsContenders.Count) {
        Write-Step 'check round (N = 1): same files, same values, same devices.list in every contender'
        $checkList = Join-Path $Work 'check.list'
        $warm = "$BenchRoot/kata_warm"
        $files = @($Mounts | ForEach-Object { "$_$warm/cgroup.procs" })
        $files += "$cpusetMount$warm/cpuset.cpus", "$cpusetMount$warm/cpuset.mems"
        $files += @(@($plan.create) + @($plan.update) | ForEach-Object {
                $f = if ($_.File -like 'devices.*') { 'devices.list' } else { $_.File }
                "$($mountOf[$_.Controller])$warm/$f" })
        [IO.File]::WriteAllLines($checkList, [string[]]@($files | Select-Object -Unique))
        $reference = $null
        foreach ($c in $FsContenders) {
            $dump = Join-Path $Work "check-$c.txt"
            $r = & $run[$c] 1 @{ KCBENCH_CHECK = $dump; KCBENCH_CHECK_LIST = $checkList }
            if ($r.Exit -ne 0) { throw "$c failed (exit $($r.Exit)):`n$($r.Output -join "`n")`n$($r.Error)" }
            Test-FsClean "$c (check)"
            $text = [IO.File]::ReadAllText($dump).Replace("`r", '').TrimEnd()
            if ($null -eq $reference) { $reference = @{ Name = $c; Text = $text } }
            elseif ($text -ne $reference.Text) {
                throw "$c ends in a different state than $($reference.Name) (compare $dump with $(Join-Path $Work "check-$($reference.Name).txt"))"
            }
            Write-Host "    $c`: same state ($(@($files | Select-Object -Unique).Count) files)"
        }
    }

    # ---- timed rounds, paired: every round runs every contender, the order rotated each round -----------------
    foreach ($n in $Count) {
        if (-not $FsContenders.Count) { break }
        for ($round = 1; $round -le $Rounds; $round++) {
            $k = ($round - 1) % $FsContenders.Count
            $order = @($FsContenders[$k..($FsContenders.Count - 1)]) + @(if ($k) { $FsContenders[0..($k - 1)] })
            foreach ($c in $order) {
                $r = & $run[$c] $n @{}
                if ($r.Exit -ne 0) { throw "$c (N=$n, round $round) failed (exit $($r.Exit)):`n$($r.Output -join "`n")`n$($r.Error)" }
                $b = Get-KcBenchLine $r.Output $c $r.Error
                Test-FsClean "$c (N=$n, round $round)"
                $Results.Add([pscustomobject]@{ Contender = $c; N = $n; Round = $round; PerCgroupMs = [double]$b.perCgroupMs; WallMs = $r.Wall })
                Write-Host ("    N={0,-5} round {1}  {2,-12} {3,9} ms/cgroup  process {4,8} ms" -f $n, $round, $c, (Format-Num $b.perCgroupMs 3), (Format-Num $r.Wall 0))
            }
        }
    }

    # ---- systemd: the same lifecycle in the test sandbox --------------------------------------------------------
    if ($SdContenders.Count) {
        Write-Step 'systemd sandbox (tests/Systemd/SystemdSandbox.psm1)'
        Import-Module (Join-Path $Repo 'tests/Systemd/SystemdSandbox.psm1') -Force
        $Sb = Start-KcSystemdSandbox
        $SdHelper = [int](Invoke-KcInSandbox $Sb -- sh -c 'sleep 1000000 </dev/null >/dev/null 2>&1 & echo $!')
        Write-Host "    sandbox $($Sb.Name), helper pid $SdHelper (in the sandbox's pid namespace)"
        $r = Invoke-InSandbox @($Dotnet, $BenchDll, 'plan', '--slice', $Slice)
        $sdPlan = ($r.Output | Where-Object { $_ -notlike 'KCERROR*' }) -join "`n" | ConvertFrom-Json
        Write-Host "    unit properties: $(@($sdPlan.createProperties | ForEach-Object { "$($_.Name)=$($_.Value)" }) -join '; ')"
        # systemd-run/systemctl spell a few properties differently from the D-Bus names the engine sends.
        function ConvertTo-CliProperty($p) {
            switch ($p.Name) {
                'CPUQuotaPerSecUSec' { "CPUQuota=$([double]$p.Value / 10000)%"; break }
                'CPUQuotaPeriodUSec' { "CPUQuotaPeriodSec=$($p.Value)us"; break }
                'DeviceAllow' {
                    # "DeviceAllow=" (empty) resets the list, then one property per "node:access" pair
                    if (-not $p.Value) { 'DeviceAllow='; break }
                    foreach ($pair in ($p.Value -split ' ')) { $d, $a = $pair -split ':(?=[rwm]+$)'; "DeviceAllow=$d $a" }
                    break
                }
                'Delegate' { break }   # not a scope property systemd-run accepts; the engine's default
                default { "$($p.Name)=$($p.Value)" }
            }
        }
        $q = { param($s) "'" + $s + "'" }
        $cliCfg = @(
            "SLICE=$Slice"
            "PROPS=($(@($sdPlan.createProperties | ForEach-Object { ConvertTo-CliProperty $_ } | ForEach-Object { '-p ' + (& $q $_) }) -join ' '))"
            "UPDATE_PROPS=($(@($sdPlan.updateProperties | ForEach-Object { ConvertTo-CliProperty $_ } | ForEach-Object { & $q $_ }) -join ' '))"
            'residual() {'
            @($sdPlan.create | ForEach-Object { "  echo '$($_.Value)' >`"/sys/fs/cgroup/$($_.Controller)/$Slice/kata-`$1.scope/$($_.File)`"" })
            '  :'
            '}'
        )
        # The sandbox has its own /run (the state dir's run/) and a read-only view of the host root.
        [IO.File]::WriteAllLines((Join-Path $Sb.StateDir 'run/kcbench-cli.conf'), [string[]]$cliCfg)
        Copy-Item (Join-Path $Here 'systemd-cli.sh') (Join-Path $Sb.StateDir 'run/kcbench-cli.sh')
        $sdRun = @{
            SystemdEngine  = { param($n) Invoke-InSandbox @($Dotnet, $BenchDll, 'run', '--slice', $Slice, '--count', $n, '--pid', $SdHelper) }
            SystemdCmdlets = { param($n) Invoke-InSandbox (@($Exe) + $PwshPre + @('-NoProfile', '-NonInteractive', '-File', (Join-Path $Here 'Cmdlets.ps1'), '-ModulePath', $ModulePath, '-Slice', $Slice, '-Count', $n, '-ProcessId', $SdHelper)) }
            SystemdCli     = { param($n) Invoke-InSandbox @('/bin/bash', '/run/kcbench-cli.sh', '/run/kcbench-cli.conf', $n) }
        }
        foreach ($n in $SystemdCount) {
            for ($round = 1; $round -le $Rounds; $round++) {
                $k = ($round - 1) % $SdContenders.Count
                $order = @($SdContenders[$k..($SdContenders.Count - 1)]) + @(if ($k) { $SdContenders[0..($k - 1)] })
                foreach ($c in $order) {
                    $r = & $sdRun[$c] $n
                    $b = Get-KcBenchLine $r.Output $c $r.Error
                    Test-SdClean "$c (N=$n, round $round)"
                    $Results.Add([pscustomobject]@{ Contender = $c; N = $n; Round = $round; PerCgroupMs = [double]$b.perCgroupMs; WallMs = $r.Wall })
                    Write-Host ("    N={0,-5} round {1}  {2,-14} {3,9} ms/cgroup  process {4,8} ms" -f $n, $round, $c, (Format-Num $b.perCgroupMs 3), (Format-Num $r.Wall 0))
                }
            }
        }
    }

    # ---- Import-Module cost: paired pwsh start-ups with and without the import --------------------------------
    if ($ImportRuns -gt 0) {
        Write-Step "Import-Module cost ($ImportRuns paired pwsh -NoProfile start-ups)"
        $bare = @(); $imp = @(); $wsBare = @(); $wsImp = @()
        for ($i = 0; $i -lt $ImportRuns; $i++) {
            $a = Invoke-Timed $Exe (@($PwshPre) + @('-NoProfile', '-NonInteractive', '-c', '[Environment]::WorkingSet'))
            $b = Invoke-Timed $Exe (@($PwshPre) + @('-NoProfile', '-NonInteractive', '-c', "Import-Module '$ModulePath'; [Environment]::WorkingSet"))
            if ($a.Exit -or $b.Exit) { throw "pwsh failed: $($a.Error)$($b.Error)" }
            $bare += $a.Wall; $imp += $b.Wall; $wsBare += [double]$a.Output[-1]; $wsImp += [double]$b.Output[-1]
        }
        $Extras.ImportMs = (Get-Median $imp) - (Get-Median $bare)
        $Extras.ImportBareMs = Get-Median $bare
        $Extras.ImportMb = ((Get-Median $wsImp) - (Get-Median $wsBare)) / 1MB
        Write-Host ("    pwsh -c '' {0} ms, with Import-Module {1} ms: +{2} ms, +{3} MB working set" -f (Format-Num (Get-Median $bare) 0), (Format-Num (Get-Median $imp) 0), (Format-Num $Extras.ImportMs 0), (Format-Num $Extras.ImportMb 1))
    }

    # ---- Get-KataCgroup over many existing cgroups ------------------------------------------------------------
    $Scan = [Collections.Generic.List[object]]::new()
    foreach ($s in @($ScanCount | Where-Object { $_ -gt 0 })) {
        Write-Step "Get-KataCgroup -Root $BenchRoot over $s cgroups (made by the floor)"
        $r = Invoke-Timed $FloorExe @('populate', $spec, $BenchRoot, $s)
        try {
            if ($r.Exit -ne 0) { throw "floor populate failed: $($r.Error)" }
            $script = @"
`$ErrorActionPreference = 'Stop'; `$WarningPreference = 'SilentlyContinue'; `$ProgressPreference = 'SilentlyContinue'
Import-Module '$ModulePath'
`$n = @(Get-KataCgroup -Root '$BenchRoot').Count   # warm: JIT and the host probe
`$t = foreach (`$i in 1..3) { `$sw = [Diagnostics.Stopwatch]::StartNew(); `$c = @(Get-KataCgroup -Root '$BenchRoot').Count; `$sw.Stop(); `$sw.Elapsed.TotalMilliseconds }
# The bare listing: every hierarchy walked from its root (the host's own cgroups too), then every Kata cgroup read.
`$tb = foreach (`$i in 1..3) { `$sw = [Diagnostics.Stopwatch]::StartNew(); `$cb = @(Get-KataCgroup).Count; `$sw.Stop(); `$sw.Elapsed.TotalMilliseconds }
'KCBENCH ' + (@{ count = `$c; ms = @(`$t | Sort-Object)[1]; hostCount = `$cb; hostMs = @(`$tb | Sort-Object)[1] } | ConvertTo-Json -Compress)
"@
            $p = Invoke-Timed $Exe (@($PwshPre) + @('-NoProfile', '-NonInteractive', '-c', $script))
            $b = Get-KcBenchLine $p.Output 'Get-KataCgroup' $p.Error
            if ([int]$b.count -ne $s) { throw "Get-KataCgroup -Root $BenchRoot returned $($b.count) cgroups, expected $s" }
            if ([int]$b.hostCount -lt $s) { throw "Get-KataCgroup returned $($b.hostCount) cgroups, fewer than the $s below $BenchRoot" }
            # The scan's floor: the same file reads and stats in C, one thread per CPU (floor scan), from a spec that
            # lists what CgroupV1Driver.Read reads of every cgroup — keep the two in step.
            $reads = [ordered]@{
                memory  = @('memory.limit_in_bytes', 'memory.memsw.limit_in_bytes', 'memory.soft_limit_in_bytes', 'memory.usage_in_bytes')
                cpu     = @('cpu.shares', 'cpu.cfs_quota_us', 'cpu.cfs_period_us')
                pids    = @('pids.max', 'pids.current')
                blkio   = @('blkio.bfq.weight', 'blkio.weight')
                cpuset  = @('cpuset.cpus', 'cpuset.mems')
                freezer = @('freezer.state')
                devices = @('devices.list', 'cgroup.procs')
            }
            $scanSpec = Join-Path $Work 'floor-scan.spec'
            $scanLines = [Collections.Generic.List[string]]::new([string[]]$lines)
            $readFrom = @{}
            foreach ($c in $reads.Keys) {
                if (-not $mountOf[$c]) { continue }
                $h = [array]::IndexOf($Mounts, $mountOf[$c])
                foreach ($f in $reads[$c]) {
                    if (-not (Test-Path -LiteralPath "$($mountOf[$c])$BenchRoot/kata_g0/$f")) { continue }
                    $scanLines.Add("R $h $f"); $readFrom[$h] = $true
                    if ($c -eq 'blkio') { break }   # the engine reads the weight file this kernel has (BFQ's first)
                }
            }
            for ($h = 0; $h -lt $Mounts.Count; $h++) { if (-not $readFrom[$h]) { $scanLines.Add("S $h") } }
            [IO.File]::WriteAllLines($scanSpec, [string[]]$scanLines)
            $f = Invoke-Timed $FloorExe @('scan', $scanSpec, $BenchRoot, $s) @{ FLOOR_AT = '1' }   # relative to the mounts, as the engine reads
            $fb = Get-KcBenchLine $f.Output 'floor scan' $f.Error
            $Scan.Add([pscustomobject]@{ N = $s; Ms = [double]$b.ms; FloorMs = [double]$fb.ms; HostN = [int]$b.hostCount; HostMs = [double]$b.hostMs })
            Write-Host ("    {0} cgroups: {1} ms (median of 3 warm calls), {2} µs per cgroup; floor ({3} files, {4} stats per cgroup, {5} threads): {6} ms" -f $s, (Format-Num $b.ms 1), (Format-Num (1000 * $b.ms / $s) 1), $fb.files, $fb.stats, $fb.threads, (Format-Num $fb.ms 1))
            Write-Host ("    bare Get-KataCgroup (whole host, {0} Kata cgroups): {1} ms" -f $b.hostCount, (Format-Num $b.hostMs 1))
        }
        finally {
            $d = Invoke-Timed $FloorExe @('depopulate', $spec, $BenchRoot, $s)
            if ($d.Exit -ne 0) { $Problems.Add("floor depopulate: $($d.Error)") }
        }
    }
}
finally {
    # ---- clean up everything we made, then verify -------------------------------------------------------------
    if ($Sb) {
        if ($SdHelper) { Invoke-KcInSandbox $Sb -IgnoreExitCode -- kill $SdHelper | Out-Null }
        try { Stop-KcSystemdSandbox $Sb } catch { $Problems.Add("systemd sandbox: $_") }
    }
    if ($Helper) {
        if (-not $Helper.HasExited) { $Helper.Kill(); $Helper.WaitForExit() }
        $Helper.Dispose()
    }
    if ($Mounts.Count) {
        $t = Invoke-Timed $FloorExe @('teardown', $spec, $BenchRoot)
        if ($t.Exit -ne 0) { $Problems.Add("teardown: $($t.Error)") }
    }
    foreach ($left in @(Get-ChildItem -Directory "/sys/fs/cgroup/*$BenchRoot", "/sys/fs/cgroup/$BenchRoot" -ErrorAction Ignore)) {
        $Problems.Add("left behind: $($left.FullName)")
    }
    if ($Sb -and @(Get-ChildItem -Directory "/sys/fs/cgroup/*/$($Sb.Name)" -ErrorAction Ignore).Count) { $Problems.Add("left behind: the sandbox cgroup /$($Sb.Name)") }
    Remove-Item -Recurse -Force $Work -ErrorAction Ignore
}
if ($Problems.Count) {
    foreach ($p in $Problems) { Write-Host "    FAILED cleanup: $p" -ForegroundColor Red }
    throw 'the benchmark did not leave the host clean (above)'
}

# ---- the table ----------------------------------------------------------------------------------------------
function Get-Row([string] $c, [int] $n) { @($Results | Where-Object { $_.Contender -eq $c -and $_.N -eq $n }) }
function Get-PairedRatio([string] $c, [string] $base, [int] $n) {
    $ratios = foreach ($r in Get-Row $c $n) {
        $b = Get-Row $base $n | Where-Object Round -eq $r.Round
        if ($b) { $r.PerCgroupMs / $b.PerCgroupMs }
    }
    Get-Median @($ratios)
}

$date = Get-Date
$md = [Collections.Generic.List[string]]::new()
# The machine, as docs/performance.md describes it: /proc/cpuinfo, uname, memory, load at the start.
$cpu = (Select-String -Path /proc/cpuinfo -Pattern '^model name\s*:\s*(.*)$' | Select-Object -First 1).Matches[0].Groups[1].Value
$memGiB = [double]((Select-String -Path /proc/meminfo -Pattern '^MemTotal:\s+(\d+)').Matches[0].Groups[1].Value) / 1MB
$os = (Select-String -Path /etc/os-release -Pattern '^PRETTY_NAME="?([^"]*)' -ErrorAction Ignore | Select-Object -First 1)?.Matches[0].Groups[1].Value
$md.Add("Machine: $cpu, $([Environment]::ProcessorCount) logical CPUs, $(Format-Num $memGiB 1) GiB, $(uname -sr), $os, cgroup mode $($plan.mode); load average at start $LoadAtStart.")
$md.Add('')
$md.Add("### Lifecycle, per cgroup (KataCgroups $((Import-PowerShellDataFile $ModulePath).ModuleVersion), $($date.ToString('yyyy-MM-dd HH:mm')), $Rounds paired round$(if ($Rounds -ne 1) { 's' }))")
$md.Add('')
$md.Add('| Contender | N | median ms/cgroup | min | max | × floor (paired median) | process median s |')
$md.Add('|---|---:|---:|---:|---:|---:|---:|')
foreach ($n in @($Count) + @($SystemdCount) | Select-Object -Unique) {
    foreach ($c in $Contender) {
        $rows = Get-Row $c $n
        if (-not $rows) { continue }
        $per = @($rows | ForEach-Object PerCgroupMs)
        $base = if ($c -like 'Systemd*') { 'SystemdCli' } else { 'Floor' }
        $ratio = if ($c -eq $base -or -not (Get-Row $base $n)) { '' } else { '× ' + (Format-Num (Get-PairedRatio $c $base $n) 2) + $(if ($base -ne 'Floor') { " (of $base)" }) }
        $md.Add("| $c | $n | $(Format-Num (Get-Median $per) 3) | $(Format-Num ($per | Measure-Object -Minimum).Minimum 3) | $(Format-Num ($per | Measure-Object -Maximum).Maximum 3) | $ratio | $(Format-Num ((Get-Median @($rows | ForEach-Object WallMs)) / 1000) 2) |")
    }
}
if ($SdContenders.Count) {
    $md.Add('')
    $md.Add('Systemd rows are relative to the systemd-run/systemctl sequence (× below 1 = faster); their process time includes entering the sandbox.')
}
if ($Extras.Contains('ImportMs')) {
    $md.Add('')
    $md.Add("### Import-Module")
    $md.Add('')
    $md.Add('| pwsh -NoProfile -c '''' | + Import-Module (median of paired runs) | working set added |')
    $md.Add('|---:|---:|---:|')
    $md.Add("| $(Format-Num $Extras.ImportBareMs 0) ms | +$(Format-Num $Extras.ImportMs 0) ms | +$(Format-Num $Extras.ImportMb 1) MB |")
}
if ($Scan.Count) {
    $md.Add('')
    $md.Add('### Get-KataCgroup -Root over existing cgroups (one warm call)')
    $md.Add('')
    $md.Add('| cgroups | ms | µs per cgroup | floor ms (same reads in C, a thread per CPU) | × floor | bare Get-KataCgroup (whole host): cgroups, ms |')
    $md.Add('|---:|---:|---:|---:|---:|---:|')
    foreach ($s in $Scan) { $md.Add("| $($s.N) | $(Format-Num $s.Ms 1) | $(Format-Num (1000 * $s.Ms / $s.N) 1) | $(Format-Num $s.FloorMs 1) | × $(Format-Num ($s.Ms / $s.FloorMs) 2) | $($s.HostN), $(Format-Num $s.HostMs 1) |") }
    if ($Scan.Count -ge 2) {
        $a = $Scan[0]; $z = $Scan[$Scan.Count - 1]
        $growth = ($z.Ms / $z.N) / ($a.Ms / $a.N)
        $md.Add('')
        $md.Add("Per-cgroup cost at $($z.N) is × $(Format-Num $growth 2) the cost at $($a.N): $(if ($growth -le 1.5) { 'linear' } else { 'worse than linear' }).")
    }
}

# The issue's targets, checked against this run.
$checks = [Collections.Generic.List[string]]::new()
function Add-Check([string] $what, [double] $value, [double] $limit, [string] $unit, [switch] $AtLeast) {
    if ([double]::IsNaN($value)) { return }
    $ok = if ($AtLeast) { $value -ge $limit } else { $value -le $limit }
    $checks.Add("| $what | $(Format-Num $value 2)$unit | $(if ($AtLeast) { '≥' } else { '≤' }) $limit$unit | $(if ($ok) { 'met' } else { '**not met**' }) |")
}
# Each contender against the floor and against the stricter FloorAt (the same calls relative to the mounts, as the
# engine makes them).
$targets = @(
    @{ Name = 'Engine'; What = 'engine lifecycle'; Limit = 1.15 }
    @{ Name = 'EngineAot'; What = 'engine lifecycle, ahead-of-time compiled host'; Limit = 1.15 }
    @{ Name = 'Cmdlets'; What = 'cmdlets in one session'; Limit = 1.6 })
foreach ($n in $Count) {
    foreach ($floor in @(@{ Name = 'Floor'; What = 'floor' }, @{ Name = 'FloorAt'; What = 'FloorAt (*at calls)' })) {
        if (-not (Get-Row $floor.Name $n)) { continue }
        foreach ($t in $targets) {
            if (Get-Row $t.Name $n) { Add-Check "$($t.What) / $($floor.What), N=$n" (Get-PairedRatio $t.Name $floor.Name $n) $t.Limit '×' }
        }
    }
}
if ($Extras.Contains('ImportMs')) {
    Add-Check 'Import-Module time added' $Extras.ImportMs 150 ' ms'
    Add-Check 'Import-Module working set added' $Extras.ImportMb 40 ' MB'
}
$big = $Scan | Where-Object N -eq 10000
if ($big) {
    Add-Check 'Get-KataCgroup over 10,000' ($big.Ms / 1000) 1 ' s'
    Add-Check 'bare Get-KataCgroup (whole host) with 10,000' ($big.HostMs / 1000) 1 ' s'
}
foreach ($n in $SystemdCount) {
    foreach ($c in 'SystemdEngine', 'SystemdCmdlets') {
        if ((Get-Row $c $n) -and (Get-Row 'SystemdCli' $n)) { Add-Check "systemd-run/systemctl ÷ $c, N=$n" (1 / (Get-PairedRatio $c 'SystemdCli' $n)) 5 '×' -AtLeast }
    }
}
if ($checks.Count) {
    $md.Add('')
    $md.Add('### Targets')
    $md.Add('')
    $md.Add('| Target | Measured | Limit | |')
    $md.Add('|---|---:|---:|---|')
    $md.AddRange($checks)
}

New-Item -ItemType Directory -Force -Path $OutDir | Out-Null
$file = Join-Path $OutDir "results-$($date.ToString('yyyyMMdd-HHmmss')).md"
[IO.File]::WriteAllLines($file, [string[]]$md)
Write-Host ''
$md | ForEach-Object { Write-Host $_ }
Write-Host ''
Write-Host "wrote $file"
