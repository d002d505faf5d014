<#
The differential suite (docs/differential.md): the module and runc's libcontainer get the same generated OCI
linux.resources, each creates its own cgroup from them, and the results must agree: both fail, or both succeed
with every file of every hierarchy equal and the same device access granted. What differs is a failure unless
divergences.psd1 allows it, with its reason in divergences.md.

  Build-KcDiffOracle      go build of oracle/ (runc 1.1's libcontainer, Debian's source package) into out/differential
  Get-KcDiffHost          the host facts the cases and the device probe need
  Invoke-KcDifferential   one run: generate, apply on both sides, read back, probe devices, compare, clean up
  Format-KcDiffReport     the divergences of a run, grouped by kind and by what they have in common

Each side gets its own top-level root, /kcdiff-<tag>-module and /kcdiff-<tag>-runc (with the same final
component, kata_c<k>, on both), so the two never share an ancestor the other configured; a v2 run adds
/kcdiff-<tag>-probe for the device probe. Everything below these roots is removed at the end of a run, also
when it fails; nothing outside them is touched, except what runc's fs2 manager writes into the root's
cgroup.subtree_control on a v2 host, which is put back.
#>
Set-StrictMode -Version Latest
Import-Module (Join-Path $PSScriptRoot '../Pester/TestHelpers.psm1')   # Get-KcHierarchy, Get-KcBlockDevice, Remove-KcCgroupTree
Import-Module (Join-Path $PSScriptRoot 'Cases.psm1')
Import-Module (Join-Path $PSScriptRoot '../Systemd/SystemdSandbox.psm1')   # Start-KcSystemdSandbox, Invoke-KcInSandbox, Invoke-KcSandboxPwsh

$script:Repo = [IO.Path]::GetFullPath((Join-Path $PSScriptRoot '../..'))
$script:Out = Join-Path $script:Repo 'out/differential'
$script:OracleSource = Join-Path $PSScriptRoot 'oracle'
$script:GoPath = '/usr/share/gocode'
$script:RuncSource = "$script:GoPath/src/github.com/opencontainers/runc/libcontainer/specconv"
$script:Compare = Import-PowerShellDataFile (Join-Path $PSScriptRoot 'compare.psd1')
$script:SkipFiles = @($script:Compare.Skip)
$script:AsSetFiles = @($script:Compare.AsSet)
$script:Divergences = @((Import-PowerShellDataFile (Join-Path $PSScriptRoot 'divergences.psd1')).Divergences)

function Get-KcDiffOraclePath { Join-Path $script:Out 'oracle' }

function Get-KcDiffDivergence { $script:Divergences }

function Get-KcDiffSkipFile { $script:SkipFiles }

function Get-KcDiffAsSetFile { $script:AsSetFiles }

function Build-KcDiffOracle {
    <#
    Builds the oracle when it is missing or older than its sources (-Force: always). GOPATH mode over Debian's
    Go sources; the Go build cache and temp files stay under out/differential, nothing goes to $HOME or /tmp.
    #>
    param([switch] $Force)
    $exe = Get-KcDiffOraclePath
    $newest = (Get-ChildItem $script:OracleSource -Filter *.go | Measure-Object -Property LastWriteTimeUtc -Maximum).Maximum
    if (-not $Force -and (Test-Path $exe) -and (Get-Item $exe).LastWriteTimeUtc -ge $newest) { return $exe }
    if (-not (Get-Command go -CommandType Application -ErrorAction Ignore)) {
        throw 'the differential oracle needs Go: apt-get install golang-go golang-github-opencontainers-runc-dev (.ci/run installs both)'
    }
    if (-not (Test-Path $script:RuncSource)) {
        throw "the differential oracle needs runc's sources at $script:RuncSource: apt-get install golang-github-opencontainers-runc-dev (.ci/run installs it)"
    }
    $tmp = Join-Path $script:Out 'gotmp'
    $null = New-Item -ItemType Directory -Force -Path $tmp
    $goEnv = @{
        GOPATH = $script:GoPath; GO111MODULE = 'off'; GOFLAGS = ''; GOPROXY = 'off'; GOENV = 'off'
        GOCACHE = (Join-Path $script:Out 'gocache'); GOTMPDIR = $tmp; CGO_ENABLED = '0'
    }
    $saved = @{}
    foreach ($k in $goEnv.Keys) { $saved[$k] = [Environment]::GetEnvironmentVariable($k); [Environment]::SetEnvironmentVariable($k, $goEnv[$k]) }
    try {
        Write-Host "==> go build the differential oracle (runc $(Get-KcDiffRuncVersion) libcontainer) -> $exe"
        # GOPATH mode takes the package as a relative path ("cannot import absolute path")
        Push-Location -LiteralPath $script:OracleSource
        try { $out = & go build -o "$exe.tmp" . 2>&1 } finally { Pop-Location }
        if ($LASTEXITCODE -ne 0) { throw "go build of the differential oracle failed:`n$($out -join "`n")" }
        Move-Item -Force "$exe.tmp" $exe
    }
    finally {
        foreach ($k in $goEnv.Keys) { [Environment]::SetEnvironmentVariable($k, $saved[$k]) }
        Remove-Item -Recurse -Force -LiteralPath $tmp -ErrorAction Ignore
    }
    $exe
}

function Get-KcDiffRuncVersion {
    <# The runc version the oracle is built from (Debian's package version). #>
    $v = & dpkg-query -W -f '${Version}' golang-github-opencontainers-runc-dev 2>$null
    if ($LASTEXITCODE -eq 0 -and $v) { $v } else { 'unknown' }
}

# --- host facts -------------------------------------------------------------------------------------------------

function Get-KcDiffList([string] $Text) {
    <# A kernel list such as 0-3,6 as numbers. #>
    @(foreach ($part in $Text.Trim().Split(',', [StringSplitOptions]::RemoveEmptyEntries)) {
            $ab = $part.Split('-')
            if ($ab.Count -eq 2) { [int] $ab[0]..[int] $ab[1] } else { [int] $ab[0] }
        })
}

function Get-KcDiffHost {
    <#
    What the cases and the device probe need from this host: cgroup mode and hierarchies, a real block device,
    device majors no driver has registered (from the "local/experimental use" ranges of
    Documentation/admin-guide/devices.txt: 60-63, 120-127), online CPUs and memory nodes, huge page sizes,
    network interfaces, and Kata's hypervisor rules as the module builds them (about_KataCgroups, "Hypervisor
    devices": b 253:* rwm, then each node that exists, with its own type and numbers).
    #>
    $hier = @(Get-KcHierarchy | ForEach-Object {
            $name = if ($_.IsUnified) { 'unified' } else { [IO.Path]::GetFileName($_.MountPoint) }
            [pscustomobject]@{ Name = $name; MountPoint = $_.MountPoint; IsUnified = $_.IsUnified }
        })
    $mode = if ($hier | Where-Object { $_.IsUnified -and $_.MountPoint -eq '/sys/fs/cgroup' }) { 'Unified' }
    elseif ($hier | Where-Object IsUnified) { 'Hybrid' } else { 'Legacy' }
    $registered = @{ c = [Collections.Generic.HashSet[int]]::new(); b = [Collections.Generic.HashSet[int]]::new() }
    $section = $null
    foreach ($line in [IO.File]::ReadAllLines('/proc/devices')) {
        if ($line -like 'Character devices:*') { $section = 'c'; continue }
        if ($line -like 'Block devices:*') { $section = 'b'; continue }
        if ($section -and $line -match '^\s*(\d+)\s') { $null = $registered[$section].Add([int] $Matches[1]) }
    }
    $local = @(60..63) + @(120..127)
    $freeChar = @($local | Where-Object { -not $registered.c.Contains($_) } | Select-Object -First 3)
    $freeBlock = @($local | Where-Object { -not $registered.b.Contains($_) } | Select-Object -First 3)
    if (-not $freeChar -or -not $freeBlock) { throw 'no unregistered device major in 60-63 or 120-127 for the device probe' }
    $block = (Get-KcBlockDevice).Split(':')
    $cpus = Get-KcDiffList ([IO.File]::ReadAllText('/sys/devices/system/cpu/online'))
    $mems = if (Test-Path /sys/devices/system/node/online) { Get-KcDiffList ([IO.File]::ReadAllText('/sys/devices/system/node/online')) } else { @(0) }
    $sizes = @(Get-ChildItem /sys/kernel/mm/hugepages -Directory -ErrorAction Ignore | ForEach-Object {
            # hugetlb's file names: hugetlb.2MB.*, hugetlb.1GB.*, hugetlb.64KB.* (mm/hugetlb_cgroup.c mem_fmt)
            $kb = [long] ($_.Name -replace '^hugepages-(\d+)kB$', '$1')
            if ($kb -ge 1048576) { "$($kb / 1048576)GB" } elseif ($kb -ge 1024) { "$($kb / 1024)MB" } else { "${kb}KB" }
        })
    if (-not $sizes) { $sizes = @('2MB') }
    $hypervisor = [Collections.Generic.List[object]]::new()
    $hypervisor.Add([ordered]@{ allow = $true; type = 'b'; major = 253; access = 'rwm' })
    foreach ($node in '/dev/kvm', '/dev/vhost-net', '/dev/vfio/vfio', '/dev/vhost-vsock') {
        if (-not (Test-Path -LiteralPath $node)) { continue }
        $kind, $maj, $min = (& stat -L -c '%F|%Hr|%Lr' -- $node).Split('|')
        $type = switch ($kind) { 'character special file' { 'c' } 'block special file' { 'b' } default { $null } }
        if ($type) { $hypervisor.Add([ordered]@{ allow = $true; type = $type; major = [long] $maj; minor = [long] $min; access = 'rwm' }) }
    }
    [pscustomobject]@{
        Mode          = $mode
        Hierarchies   = $hier
        Registered    = $registered
        FreeChar      = $freeChar
        FreeBlock     = $freeBlock
        BlockDevice   = [pscustomobject]@{ Major = [long] $block[0]; Minor = [long] $block[1] }
        Cpus          = $cpus
        AbsentCpu     = ($cpus | Measure-Object -Maximum).Maximum + 1
        Mems          = $mems
        AbsentMem     = ($mems | Measure-Object -Maximum).Maximum + 1
        HugePageSizes = $sizes
        Interfaces    = @(Get-ChildItem /sys/class/net -ErrorAction Ignore | ForEach-Object Name)
        Hypervisor    = $hypervisor.ToArray()
    }
}

# --- device probe nodes -----------------------------------------------------------------------------------------

function Test-KcDiffProbeSafe {
    <#
    Whether the probe may open a node with these numbers: opening must have no effect beyond the permission check.
    A major no driver registered gives ENXIO once the cgroup allows it; the few drivers named here are the
    runtime defaults and Kata's devices (null, zero, full, random, urandom, tty, ptmx, pts, tun, kvm, vhost,
    vfio), device-mapper or zram at 253, loop, and the host's own disk, opened and closed without I/O. Never
    anything else (a watchdog starts counting on open).
    #>
    param($Facts, [string] $Type, [long] $Major, [long] $Minor)
    if ($Major -lt 0 -or $Minor -lt 0 -or $Major -gt 4095 -or $Minor -gt 1048575) { return $false }   # dev_t: 12-bit major, 20-bit minor
    if (-not $Facts.Registered[$Type].Contains([int] $Major)) { return $true }
    $hyp = @($Facts.Hypervisor | Where-Object { $_.Contains('minor') -and $_.type -eq $Type -and $_.major -eq $Major -and $_.minor -eq $Minor })
    if ($hyp) { return $true }
    if ($Type -eq 'c') {
        return ($Major -eq 1 -and $Minor -in 3, 5, 7, 8, 9) -or ($Major -eq 5 -and $Minor -in 0, 2) -or $Major -eq 136 -or
        ($Major -eq 10 -and $Minor -eq 200)
    }
    $Major -in 7, 253 -or $Major -eq $Facts.BlockDevice.Major
}

function Get-KcDiffProbeNode {
    <#
    The device numbers the probe tries in every cgroup: a fixed set (each runtime default, the hypervisor nodes,
    device-mapper, the real disk, free majors), plus every number a case's rules name (a wildcard stands for the
    fixed set; type a or none for both c and b), kept only where Test-KcDiffProbeSafe allows.
    #>
    param($Facts, [object[]] $Cases)
    $set = [ordered]@{}
    function Add-Node([string] $Type, [long] $Major, [long] $Minor) {
        if (Test-KcDiffProbeSafe $Facts $Type $Major $Minor) { $set["$Type ${Major}:$Minor"] = [ordered]@{ type = $Type; major = $Major; minor = $Minor } }
    }
    foreach ($n in @(@('c', 1, 3), @('c', 1, 5), @('c', 1, 9), @('c', 5, 0), @('c', 5, 2), @('c', 136, 0), @('c', 136, 7), @('c', 10, 200),
            @('b', 253, 0), @('b', 253, 7), @('b', $Facts.BlockDevice.Major, $Facts.BlockDevice.Minor), @('b', 7, 0))) { Add-Node @n }
    foreach ($h in $Facts.Hypervisor) { if ($h.Contains('minor')) { Add-Node $h.type $h.major $h.minor } }
    foreach ($f in $Facts.FreeChar) { foreach ($m in 0, 1, 3) { Add-Node 'c' $f $m } }
    foreach ($f in $Facts.FreeBlock) { foreach ($m in 0, 1) { Add-Node 'b' $f $m } }
    foreach ($c in $Cases) {
        if (-not $c.Resources.Contains('devices')) { continue }
        foreach ($d in @($c.Resources.devices)) {
            if ($d -isnot [System.Collections.IDictionary]) { continue }
            $types = if ($d.Contains('type') -and $d.type -in 'c', 'b') { @($d.type) } else { @('c', 'b') }
            $major = if ($d.Contains('major') -and $null -ne $d.major -and $d.major -ge 0) { $d.major } else { $null }
            $minor = if ($d.Contains('minor') -and $null -ne $d.minor -and $d.minor -ge 0) { $d.minor } else { $null }
            if ($null -eq $major) { continue }   # a wildcard major: the fixed set already covers it
            foreach ($t in $types) { foreach ($m in $(if ($null -ne $minor) { @($minor) } else { @(0, 1) })) { Add-Node $t $major $m } }
        }
    }
    @($set.Values)
}

# --- reading back -----------------------------------------------------------------------------------------------

function Compare-KcDiffFile {
    param([System.Collections.IDictionary] $Runc, [System.Collections.IDictionary] $Module)
    $keys = [Collections.Generic.SortedSet[string]]::new([StringComparer]::Ordinal)
    foreach ($k in $Runc.Keys) { $null = $keys.Add($k) }
    foreach ($k in $Module.Keys) { $null = $keys.Add($k) }
    @(foreach ($k in $keys) {
            $r = if ($Runc.Contains($k)) { $Runc[$k] } else { '<no file>' }
            $m = if ($Module.Contains($k)) { $Module[$k] } else { '<no file>' }
            if ($r -cne $m) { [pscustomobject]@{ File = $k; Runc = $r; Module = $m } }
        })
}

# --- allowed divergences ----------------------------------------------------------------------------------------

function Get-KcDiffField {
    <# The value at a dotted path of the case's resources; $found is $false when the path is not there. #>
    param([System.Collections.IDictionary] $Resources, [string] $Path, [ref] $Found)
    $v = $Resources
    foreach ($part in $Path.Split('.')) {
        if ($v -isnot [System.Collections.IDictionary] -or -not $v.Contains($part)) { $Found.Value = $false; return $null }
        $v = $v[$part]
    }
    $Found.Value = $true
    $v
}

function Test-KcDiffAllowed {
    <#
    The Id of the first divergences.psd1 entry whose When matches the case's result, or $null. -Kind is the kind of
    difference asked about (a case where both succeed can have several; Set-KcDiffVerdict asks for each), -Driver
    the module's driver in the run (Cgroupfs or Systemd): an entry with a Driver applies to that driver's runs only.
    #>
    param($Result, $Facts, [string] $Kind = $Result.Kind, [string] $Driver = 'Cgroupfs')
    foreach ($d in $script:Divergences) {
        if (-not $d.Contains('When')) { continue }
        $w = $d.When
        $ok = $true
        if ($w.Contains('Outcome') -and $Kind -ne $w.Outcome) { $ok = $false }
        if ($ok -and $w.Contains('Driver') -and $Driver -ne $w.Driver) { $ok = $false }
        if ($ok -and $w.Contains('Mode') -and $Facts.Mode -ne $w.Mode) { $ok = $false }
        if ($ok -and $w.Contains('ModuleErrorId') -and "$($Result.Module.ErrorId)" -notlike $w.ModuleErrorId) { $ok = $false }
        if ($ok -and $w.Contains('ModuleMessage') -and "$($Result.Module.Message)" -notlike $w.ModuleMessage) { $ok = $false }
        if ($ok -and $w.Contains('RuncError') -and "$($Result.Runc.Error)" -notlike $w.RuncError) { $ok = $false }
        if ($ok -and $w.Contains('Field')) {
            $found = $false
            $v = Get-KcDiffField $Result.Case.Resources $w.Field ([ref] $found)
            if (-not $found) { $ok = $false }
            elseif ($w.Contains('Range')) {
                $n = 0.0
                if (-not [double]::TryParse("$v", [ref] $n) -or $n -lt $w.Range[0] -or $n -gt $w.Range[1]) { $ok = $false }
            }
        }
        if ($ok -and $w.Contains('Files') -and $Kind -eq 'FilesDiffer') {
            foreach ($diff in $Result.FileDiffs) {
                if (-not ($w.Files | Where-Object { $diff.File -like $_ })) { $ok = $false; break }
            }
        }
        if ($ok -and $w.Contains('Properties') -and $Kind -eq 'PropertiesDiffer') {
            foreach ($diff in $Result.PropertyDiffs) {
                if (-not ($w.Properties | Where-Object { $diff.Property -like $_ })) { $ok = $false; break }
                if ($w.Contains('ModuleExtraLines')) {
                    # the module's value is runc's plus lines of this shape: runc has none the module lacks
                    $r = @(([string] $diff.Runc).Split("`n")); $m = @(([string] $diff.Module).Split("`n"))
                    if ($r | Where-Object { $_ -ne '<not shown>' -and $_ -cnotin $m }) { $ok = $false; break }
                    if ($m | Where-Object { $_ -cnotin $r -and $_ -notlike $w.ModuleExtraLines }) { $ok = $false; break }
                }
            }
        }
        if ($ok -and $w.Contains('Nodes') -and $Kind -eq 'DevicesDiffer') {
            foreach ($diff in $Result.DeviceDiffs) {
                if (-not ($w.Nodes | Where-Object { $diff.Node -like $_ })) { $ok = $false; break }
            }
        }
        if ($ok) { return $d.Id }
    }
    $null
}

# --- a run ------------------------------------------------------------------------------------------------------

function Invoke-KcDiffOracle {
    param([string] $Oracle, [string] $Mode, [string] $InputFile)
    $lines = @(Get-Content -LiteralPath $InputFile | & $Oracle $Mode 2>&1)
    $exit = $LASTEXITCODE
    ConvertFrom-KcDiffOracleOutput $Mode $lines $exit
}

function ConvertFrom-KcDiffOracleOutput {
    <# The oracle's JSON lines as hashtables (a missing key reads as $null under strict mode, and they are fast); the rest is its stderr. #>
    param([string] $Mode, [object[]] $Lines, [int] $Exit)
    $results = @($Lines | Where-Object { $_ -is [string] -and $_.StartsWith('{') } | ForEach-Object { $_ | ConvertFrom-Json -AsHashtable })
    $stderr = @($Lines | Where-Object { $_ -isnot [string] -or -not $_.StartsWith('{') } | ForEach-Object { "$_" })
    if ($Exit -ne 0) { throw "oracle $Mode failed (exit $Exit): $($stderr -join ' | ')" }
    [pscustomobject]@{ Results = $results; Stderr = $stderr }
}

function Get-KcDiffRootSubtreeControl {
    $file = '/sys/fs/cgroup/cgroup.subtree_control'
    if (Test-Path $file) { @([IO.File]::ReadAllText($file).Split(' ', [StringSplitOptions]::RemoveEmptyEntries) | ForEach-Object Trim) } else { @() }
}

function New-KcDiffRun {
    <#
    The cases of a run (-Count cases from 0 of -Seed, only the indexes in -Case, or a -Sample of them drawn by the
    seed) with an empty result each. $Paths maps a case id to where each side puts it: ModulePath (what
    New-KataCgroup gets), ModuleCgroup, RuncPath (the oracle's cgroupsPath) and RuncCgroup (hierarchy-relative
    directories, for the read-back and the probe).
    #>
    param([int] $Seed, [int] $Count, [int[]] $Case, [int] $Sample, $Facts, [string] $Tag, [string] $Driver, [scriptblock] $Paths)
    $edges = Get-KcDiffEdgeCase $Facts
    $indexes = if ($Case) { $Case }
    elseif ($Sample -gt 0 -and $Sample -lt $Count) {
        $draw = [Random]::new($Seed)
        @(0..($Count - 1) | Sort-Object { $draw.Next() } | Select-Object -First $Sample | Sort-Object)
    }
    else { 0..($Count - 1) }
    $cases = @(foreach ($i in $indexes) { New-KcDiffCase -Seed $Seed -Index $i -Facts $Facts -EdgeCases $edges })
    $results = [ordered]@{}
    # runc gets the case's rules followed by Kata's hypervisor rules (divergences.md, hypervisor-devices): the same
    # JSON, key by key, with the rules appended to (or making up) 'devices'
    $hypervisorJson = @($Facts.Hypervisor | ForEach-Object { ConvertTo-KcDiffJson $_ })
    foreach ($c in $cases) {
        $module = [Collections.Generic.List[string]]::new(); $runc = [Collections.Generic.List[string]]::new()
        foreach ($e in $c.Resources.GetEnumerator()) {
            $key = (ConvertTo-KcDiffJson ([string] $e.Key)) + ':'
            if ($e.Key -ceq 'devices') {
                $rules = @(foreach ($d in @($e.Value)) { ConvertTo-KcDiffJson $d })
                $module.Add($key + '[' + ($rules -join ',') + ']')
                $runc.Add($key + '[' + (@($rules) + $hypervisorJson -join ',') + ']')
            }
            else { $v = $key + (ConvertTo-KcDiffJson $e.Value); $module.Add($v); $runc.Add($v) }
        }
        if (-not $c.Resources.Contains('devices')) { $runc.Add('"devices":[' + ($hypervisorJson -join ',') + ']') }
        $p = & $Paths $c.Id
        $results[$c.Id] = [pscustomobject]@{
            Case = $c; Json = '{' + ($module -join ',') + '}'; RuncJson = '{' + ($runc -join ',') + '}'
            ModulePath = $p.ModulePath; ModuleCgroup = $p.ModuleCgroup; RuncPath = $p.RuncPath; RuncCgroup = $p.RuncCgroup
            Runc = $null; Module = $null; FileDiffs = @(); DeviceDiffs = @(); PropertyDiffs = @(); RuncAccess = $null
            Kind = 'NotRun'; Status = 'NotRun'; AllowedBy = $null
        }
    }
    [pscustomobject]@{
        Seed = $Seed; Count = $Count; Sample = $(if ($Case) { 0 } else { $Sample }); Tag = $Tag; Driver = $Driver; Facts = $Facts; Roots = [ordered]@{}; Results = $results; Cases = $cases
        RuncVersion = (Get-KcDiffRuncVersion); BudgetExceeded = $false; ProbeNodes = 0; Leftovers = @(); CleanupProblems = @()
        Timings = [ordered]@{}; Elapsed = $null
    }
}

function Get-KcDiffBothOk { param($Run) @($Run.Results.Values | Where-Object { $_.Runc -and $_.Module -and $_.Runc.Ok -and $_.Module.Ok }) }

function Get-KcDiffTarget {
    param($Run)
    @(foreach ($r in Get-KcDiffBothOk $Run) { [ordered]@{ id = "$($r.Case.Id)/runc"; path = $r.RuncCgroup }; [ordered]@{ id = "$($r.Case.Id)/module"; path = $r.ModuleCgroup } })
}

function Compare-KcDiffReadBack {
    <#
    Where both succeeded: every file of both cgroups in every hierarchy, the rules of compare.psd1 applied by the
    oracle's read mode; equal digests mean equal files, and only the others are compared key by key.
    #>
    param($Run, [string] $Oracle, [string] $RunDir)
    $bothOk = Get-KcDiffBothOk $Run
    if (-not $bothOk) { return }
    $readIn = Join-Path $RunDir 'read.json'
    [IO.File]::WriteAllText($readIn, (ConvertTo-KcDiffJson ([ordered]@{
                    hierarchies = @($Run.Facts.Hierarchies | ForEach-Object { [ordered]@{ name = $_.Name; mount = $_.MountPoint } })
                    skip        = @($script:SkipFiles | ForEach-Object Pattern)
                    asSet       = @($script:AsSetFiles | ForEach-Object Pattern)
                    targets     = Get-KcDiffTarget $Run
                })))
    $read = @{}
    foreach ($o in (Invoke-KcDiffOracle $Oracle read $readIn).Results) { $read[$o['id']] = $o }
    foreach ($r in $bothOk) {
        $a = $read["$($r.Case.Id)/runc"]; $b = $read["$($r.Case.Id)/module"]
        if (-not $a -or -not $b) { $r.FileDiffs = @([pscustomobject]@{ File = '(read-back)'; Runc = "$([bool] $a)"; Module = "$([bool] $b)" }) }
        elseif ($a['digest'] -cne $b['digest']) { $r.FileDiffs = Compare-KcDiffFile $a['files'] $b['files'] }
    }
}

function Compare-KcDiffDevice {
    <# Where both succeeded: what the kernel grants inside each of the two cgroups (the oracle's probe mode). #>
    param($Run, [string] $Oracle, [string] $RunDir)
    $bothOk = Get-KcDiffBothOk $Run
    if (-not $bothOk) { return }
    $nodes = Get-KcDiffProbeNode $Run.Facts $Run.Cases
    $Run.ProbeNodes = $nodes.Count
    $probeIn = Join-Path $RunDir 'probe.json'
    $doc = [ordered]@{ scratch = (Join-Path $RunDir 'probe-scratch'); probeRoot = $Run.Roots['Probe']; nodes = @($nodes); targets = Get-KcDiffTarget $Run }
    [IO.File]::WriteAllText($probeIn, (ConvertTo-KcDiffJson $doc))
    $byId = @{}
    foreach ($p in (Invoke-KcDiffOracle $Oracle probe $probeIn).Results) { $byId[$p['id']] = $p }
    foreach ($r in $bothOk) {
        $pr = $byId["$($r.Case.Id)/runc"]; $pm = $byId["$($r.Case.Id)/module"]
        $diffs = [Collections.Generic.List[object]]::new()
        foreach ($side in @(@('runc', $pr), @('module', $pm))) {
            if (-not $side[1]) { $diffs.Add([pscustomobject]@{ Node = '(probe)'; Runc = ''; Module = "no probe result for $($side[0])" }) }
            elseif ($side[1]['error']) { $diffs.Add([pscustomobject]@{ Node = '(probe)'; Runc = ''; Module = "$($side[0]): $($side[1]['error'])" }) }
        }
        if ($diffs.Count -eq 0) {
            $r.RuncAccess = $pr['access']
            if ($pr['digest'] -cne $pm['digest']) {
                foreach ($n in $nodes) {
                    $key = "$($n.type) $($n.major):$($n.minor)"
                    $x = $pr['access'][$key]; $y = $pm['access'][$key]
                    if ($x -cne $y) { $diffs.Add([pscustomobject]@{ Node = $key; Runc = $x; Module = $y }) }
                }
            }
        }
        $r.DeviceDiffs = $diffs.ToArray()
    }
}

function Complete-KcDiffRun {
    <# The steps every run ends with once both sides applied: read back every file in every hierarchy where both
    succeeded, probe what the kernel grants inside each cgroup, then classify. Times each step on $Timer. #>
    param($run, $oracle, [string] $runDir, [Diagnostics.Stopwatch] $Timer)
    $Timer.Restart()
    Compare-KcDiffReadBack $run $oracle $runDir
    $run.Timings.ReadBack = $Timer.Elapsed
    $Timer.Restart()
    Compare-KcDiffDevice $run $oracle $runDir
    $run.Timings.Probe = $Timer.Elapsed
    Set-KcDiffVerdict $run
}

function Set-KcDiffVerdict {
    <#
    Kind and Status of every case. A case where both succeed can differ in files, device access and (systemd) unit
    properties at once: it is allowed only when each kind of difference it has is allowed by an entry of
    divergences.psd1, and AllowedBy names them all.
    #>
    param($Run)
    foreach ($r in $Run.Results.Values) {
        if (-not $r.Module -or -not $r.Runc) { continue }
        $kinds = @()
        if ($r.Runc.Ok -and $r.Module.Ok) {
            $kinds = @($(if ($r.FileDiffs) { 'FilesDiffer' }), $(if ($r.DeviceDiffs) { 'DevicesDiffer' }), $(if ($r.PropertyDiffs) { 'PropertiesDiffer' }) | Where-Object { $_ })
            $r.Kind = if ($kinds) { $kinds[0] } else { 'Agree' }
        }
        elseif (-not $r.Runc.Ok -and -not $r.Module.Ok) { $r.Kind = 'BothFail' }
        else { $r.Kind = if ($r.Runc.Ok) { 'ModuleOnlyFails' } else { 'RuncOnlyFails' }; $kinds = @($r.Kind) }
        if ($r.Kind -in 'Agree', 'BothFail') { $r.Status = 'Agree'; continue }
        $ids = @(foreach ($k in $kinds) { Test-KcDiffAllowed $r $Run.Facts -Kind $k -Driver $Run.Driver })
        $r.AllowedBy = if ($ids -notcontains $null -and $ids.Count -eq $kinds.Count) { ($ids | Select-Object -Unique) -join ', ' } else { $null }
        $r.Status = if ($r.AllowedBy) { 'Allowed' } else { 'Diverge' }
    }
}

function Invoke-KcDifferential {
    <#
    One differential run against runc's cgroupfs managers (fs on v1 and hybrid hosts, fs2 on unified ones). -Count
    cases from 0 (or only the indexes in -Case) of -Seed. Returns the run: its facts, every case's result (Kind:
    Agree | BothFail | ModuleOnlyFails | RuncOnlyFails | FilesDiffer | DevicesDiffer | NotRun; Status: Agree |
    Allowed | Diverge | NotRun), the time it took, and what cleanup could not remove. -TimeBudgetSeconds stops
    applying further cases on the module's side once exceeded (they are NotRun, and the run says so), so a slow
    host cannot hold CI up.
    #>
    [CmdletBinding()]
    param(
        [int] $Seed = (Get-Random -Maximum ([int]::MaxValue)),
        [int] $Count = 500,
        [int[]] $Case,
        # Only this many of the -Count cases, drawn by the random seed (the slow guest runs a sample of a full run's cases).
        [int] $Sample = 0,
        [int] $TimeBudgetSeconds = 0,
        [string] $ModulePath = (Get-KcModulePath)
    )
    $clock = [Diagnostics.Stopwatch]::StartNew()
    if (-not (Get-Command New-KataCgroup -ErrorAction Ignore)) { Import-Module $ModulePath -Global }
    $facts = Get-KcDiffHost
    $oracle = Build-KcDiffOracle
    $tag = [Guid]::NewGuid().ToString('n').Substring(0, 8)
    $roots = [ordered]@{ Module = "/kcdiff-$tag-module"; Runc = "/kcdiff-$tag-runc"; Probe = "/kcdiff-$tag-probe" }
    $runDir = Join-Path $script:Out "run-$tag"
    $run = New-KcDiffRun -Seed $Seed -Count $Count -Case $Case -Sample $Sample -Facts $facts -Tag $tag -Driver Cgroupfs -Paths {
        param($id)
        @{ ModulePath = "$($roots.Module)/$id"; ModuleCgroup = "$($roots.Module)/kata_$id"; RuncPath = "$($roots.Runc)/kata_$id"; RuncCgroup = "$($roots.Runc)/kata_$id" }
    }.GetNewClosure()
    $run.Roots = $roots
    $results = $run.Results
    $subtreeBefore = if ($facts.Mode -eq 'Unified') { Get-KcDiffRootSubtreeControl } else { @() }
    try {
        $null = New-Item -ItemType Directory -Force -Path $runDir
        # 1. runc, all cases in one oracle process
        $t = [Diagnostics.Stopwatch]::StartNew()
        $applyIn = Join-Path $runDir 'apply.jsonl'
        [IO.File]::WriteAllLines($applyIn, [string[]] @(foreach ($r in $results.Values) { "{`"id`":`"$($r.Case.Id)`",`"path`":`"$($r.RuncPath)`",`"resources`":$($r.RuncJson)}" }))
        $oracleRun = Invoke-KcDiffOracle $oracle apply $applyIn
        foreach ($o in $oracleRun.Results) {
            $results[$o['id']].Runc = [pscustomobject]@{ Ok = [bool] $o['ok']; Stage = "$($o['stage'])"; Error = "$($o['error'])" }
        }
        $run.Timings.Runc = $t.Elapsed

        # 2. the module, in this session
        $t.Restart()
        foreach ($r in $results.Values) {
            if ($TimeBudgetSeconds -gt 0 -and $clock.Elapsed.TotalSeconds -gt $TimeBudgetSeconds) { $run.BudgetExceeded = $true; break }
            $warnings = $null
            try {
                $null = New-KataCgroup -Path $r.ModulePath -Resources $r.Json -Confirm:$false -Verbose:$false -ErrorAction Stop -WarningVariable warnings -WarningAction SilentlyContinue
                $r.Module = [pscustomobject]@{ Ok = $true; ErrorId = $null; Message = $null; Warnings = @($warnings | ForEach-Object { "$_" }) }
            }
            catch {
                $r.Module = [pscustomobject]@{ Ok = $false; ErrorId = $_.FullyQualifiedErrorId.Split(',')[0]; Message = $_.Exception.Message; Warnings = @($warnings | ForEach-Object { "$_" }) }
            }
        }
        $run.Timings.Module = $t.Elapsed

        # 3.-5. every file in every hierarchy, what the kernel grants inside each, the verdict
        Complete-KcDiffRun $run $oracle $runDir $t
    }
    finally {
        $t = [Diagnostics.Stopwatch]::StartNew()
        $run.CleanupProblems = @(Remove-KcDiffRun $run $oracle $runDir $subtreeBefore)
        $run.Leftovers = @(Get-KcDiffLeftover $tag)
        $run.Timings.Cleanup = $t.Elapsed
        $run.Elapsed = $clock.Elapsed
    }
    $run
}

function Remove-KcDiffRun {
    <#
    Removes everything a run made, whatever state it is in: the module's cgroups through Remove-KataCgroup, runc's
    through the oracle's destroy (the manager's Destroy), then whatever is left below the run's roots in every
    hierarchy, depth-first; on a v2 host it disables again, in the root's cgroup.subtree_control, the controllers
    runc's fs2 CreateCgroupPath enabled there. Returns what it could not do.
    #>
    param($Run, [string] $Oracle, [string] $RunDir, [string[]] $SubtreeBefore)
    foreach ($r in $Run.Results.Values) {
        if ($r.Module -and $r.Module.Ok) {
            try { Remove-KataCgroup -Path $r.ModulePath -Confirm:$false -Verbose:$false -ErrorAction Stop -WarningAction SilentlyContinue }
            catch { "Remove-KataCgroup $($r.ModulePath): $($_.Exception.Message)" }
        }
    }
    try {
        $destroyIn = Join-Path $RunDir 'destroy.jsonl'
        [IO.File]::WriteAllLines($destroyIn, [string[]] @(foreach ($r in $Run.Results.Values) { "{`"id`":`"$($r.Case.Id)`",`"path`":`"$($r.RuncCgroup)`"}" }))
        $d = Invoke-KcDiffOracle $Oracle destroy $destroyIn
        foreach ($o in $d.Results) { if (-not $o['ok']) { "oracle destroy $($o['id']): $($o['error'])" } }
    }
    catch { "oracle destroy: $($_.Exception.Message)" }
    foreach ($h in $Run.Facts.Hierarchies) {
        foreach ($root in $Run.Roots.Values) {
            $left = Remove-KcCgroupTree ($h.MountPoint + $root)
            if ($left) { "could not remove $($left -join ', ')" }
        }
    }
    if ($Run.Facts.Mode -eq 'Unified') {
        foreach ($c in Get-KcDiffRootSubtreeControl) {
            if ($c -in $SubtreeBefore) { continue }
            try { [IO.File]::WriteAllText('/sys/fs/cgroup/cgroup.subtree_control', "-$c") }
            catch { "could not disable '$c' again in the root's cgroup.subtree_control (runc's fs2 enabled it): $($_.Exception.Message)" }
        }
    }
    Remove-Item -Recurse -Force -LiteralPath $RunDir -ErrorAction Ignore
}

function Get-KcDiffLeftover {
    <# Directories of a run (or, without -Tag, of any run) still in some hierarchy. #>
    param([string] $Tag = '*')
    @(Get-ChildItem -Path "/sys/fs/cgroup/kcdiff-$Tag-*", "/sys/fs/cgroup/*/kcdiff-$Tag-*" -Directory -ErrorAction Ignore | ForEach-Object FullName)
}

# --- the systemd driver -----------------------------------------------------------------------------------------

function Get-KcDiffUnitProperty {
    <#
    Every property systemd reports for each unit (systemctl show, run inside the sandbox: what an administrator
    sees), as unit name -> (property -> value); a property systemd lists more than once (DeviceAllow=) is one value
    of several lines. Properties with an empty value are not listed, so one set on one side only still shows.
    #>
    param($Sandbox, [string[]] $Unit)
    $units = @{}
    # a few hundred units per systemctl call keep its command line short
    for ($i = 0; $i -lt $Unit.Count; $i += 200) {
        $batch = $Unit[$i..([Math]::Min($i + 199, $Unit.Count - 1))]
        $props = [ordered]@{}
        foreach ($line in @(Invoke-KcInSandbox $Sandbox -TimeoutSeconds 120 -- systemctl show --no-pager @batch) + '') {
            if ($line -eq '') {
                if ($props.Contains('Id')) { $units[$props['Id']] = $props }
                $props = [ordered]@{}
                continue
            }
            $k, $v = $line.Split('=', 2)
            $props[$k] = if ($props.Contains($k)) { $props[$k] + "`n" + $v } else { $v }
        }
    }
    $units
}

function Compare-KcDiffUnitProperty {
    <# Where both succeeded: the properties systemd reports for both scopes, with the rules of compare.psd1. #>
    param($Run, $Sandbox)
    $bothOk = Get-KcDiffBothOk $Run
    if (-not $bothOk) { return }
    $name = { param([string] $path) $s, $p, $n = $path.Split(':'); "$p-$n.scope" }
    $shown = Get-KcDiffUnitProperty $Sandbox @(foreach ($r in $bothOk) { & $name $r.RuncPath; & $name $r.ModulePath })
    $skip = @($script:Compare.SkipProperty | ForEach-Object Pattern)
    $asSet = @($script:Compare.AsSetProperty | ForEach-Object Pattern)
    foreach ($r in $bothOk) {
        $a = $shown[(& $name $r.RuncPath)]; $b = $shown[(& $name $r.ModulePath)]
        if (-not $a -or -not $b) { $r.PropertyDiffs = @([pscustomobject]@{ Property = '(systemctl show)'; Runc = "$([bool] $a)"; Module = "$([bool] $b)" }); continue }
        $keys = [Collections.Generic.SortedSet[string]]::new([StringComparer]::Ordinal)
        foreach ($k in @($a.Keys) + @($b.Keys)) { if (-not ($skip | Where-Object { $k -like $_ })) { $null = $keys.Add($k) } }
        $r.PropertyDiffs = @(foreach ($k in $keys) {
                $x = if ($a.Contains($k)) { $a[$k] } else { '<not shown>' }
                $y = if ($b.Contains($k)) { $b[$k] } else { '<not shown>' }
                if ($asSet | Where-Object { $k -like $_ }) {
                    $x = ($x.Split("`n") | Sort-Object) -join "`n"; $y = ($y.Split("`n") | Sort-Object) -join "`n"
                }
                if ($x -cne $y) { [pscustomobject]@{ Property = $k; Runc = $x; Module = $y } }
            })
    }
}

function Invoke-KcDiffSystemd {
    <#
    One differential run of the module's systemd driver against runc's systemd manager (the legacy one on v1 and
    hybrid hosts), inside the test systemd of tests/Systemd (started here unless -Sandbox gives one, and then
    stopped here). Each case is two transient scopes in two slices of the run's own: runc's, made by the oracle's
    sdapply mode, and the module's, made by New-KataCgroup -ProcessId in a pwsh; both run inside the sandbox's PID
    namespace (sandbox.sh exec), where the scope's PIDs= mean what systemd thinks they mean, and each scope starts
    with an idle holder process (sleep), as Kata's starts with the VMM. Compared where both succeed:
    the unit properties systemd reports, every file of both scopes in every hierarchy, and the device access the
    kernel grants; the verdicts are those of Invoke-KcDifferential, with the kind PropertiesDiffer added.
    #>
    [CmdletBinding()]
    param(
        [int] $Seed = (Get-Random -Maximum ([int]::MaxValue)),
        [int] $Count = 500,
        [int[]] $Case,
        [int] $Sample = 0,
        [int] $TimeBudgetSeconds = 0,
        [string] $ModulePath = (Get-KcModulePath),
        $Sandbox
    )
    $clock = [Diagnostics.Stopwatch]::StartNew()
    $facts = Get-KcDiffHost
    if ($facts.Mode -eq 'Unified') { throw 'the systemd differential run needs a cgroup v1 or hybrid host (the test systemd of tests/Systemd, and runc''s legacy systemd manager)' }
    $oracle = Build-KcDiffOracle
    $tag = [Guid]::NewGuid().ToString('n').Substring(0, 8)
    $own = -not $Sandbox
    $run = $null
    $t = [Diagnostics.Stopwatch]::StartNew()
    if ($own) { $Sandbox = Start-KcSystemdSandbox }
    $boot = $t.Elapsed
    try {
        # Slices and scope prefixes of this run alone, so that its units never meet another run's, and each side's
        # slice is configured by that side only. kcd<tag>r-c7.scope is runc's scope of case c7, kcd<tag>m-c7.scope the module's.
        $slices = [ordered]@{ Module = "kcd${tag}m.slice"; Runc = "kcd${tag}r.slice" }
        $base = "/$($Sandbox.Name)"
        $run = New-KcDiffRun -Seed $Seed -Count $Count -Case $Case -Sample $Sample -Facts $facts -Tag $tag -Driver Systemd -Paths {
            param($id)
            @{
                ModulePath = "$($slices.Module):kcd${tag}m:$id"; ModuleCgroup = "$base/$($slices.Module)/kcd${tag}m-$id.scope"
                RuncPath = "$($slices.Runc):kcd${tag}r:$id"; RuncCgroup = "$base/$($slices.Runc)/kcd${tag}r-$id.scope"
            }
        }.GetNewClosure()
        $run.Roots = $slices
        $run.Timings.Boot = $boot
    }
    catch {
        if ($own) { Stop-KcSystemdSandbox $Sandbox }
        throw
    }
    $results = $run.Results
    # Files the sandbox reads live in its /run (the state dir's run/): the host's root is read-only in there, and a
    # checkout under /tmp not visible at all.
    $runDir = Join-Path $script:Out "run-$tag"
    $inner = "/run/kcdiff-$tag"
    $innerDir = Join-Path $Sandbox.StateDir "run/kcdiff-$tag"
    try {
        $null = New-Item -ItemType Directory -Force -Path $runDir, $innerDir
        Copy-Item -LiteralPath $oracle -Destination (Join-Path $innerDir 'oracle')
        Copy-Item -LiteralPath (Split-Path $ModulePath) -Destination (Join-Path $innerDir 'module') -Recurse
        $innerModule = "$inner/module/$(Split-Path -Leaf $ModulePath)"

        # 1. runc, all cases in one oracle process inside the sandbox
        $t.Restart()
        [IO.File]::WriteAllLines((Join-Path $innerDir 'apply.jsonl'), [string[]] @(foreach ($r in $results.Values) { "{`"id`":`"$($r.Case.Id)`",`"path`":`"$($r.RuncPath)`",`"resources`":$($r.RuncJson)}" }))
        $lines = Invoke-KcInSandbox $Sandbox -TimeoutSeconds ([Math]::Max(300, $results.Count)) -- "$inner/oracle" sdapply "$inner/apply.jsonl"
        foreach ($o in (ConvertFrom-KcDiffOracleOutput sdapply $lines 0).Results) {
            $results[$o['id']].Runc = [pscustomobject]@{ Ok = [bool] $o['ok']; Stage = "$($o['stage'])"; Error = "$($o['error'])" }
        }
        $run.Timings.Runc = $t.Elapsed

        # 2. the module, all cases in one pwsh inside the sandbox, over the sandbox's system bus as runc
        $t.Restart()
        [IO.File]::WriteAllText((Join-Path $innerDir 'module.json'), (ConvertTo-KcDiffJson @(foreach ($r in $results.Values) { [ordered]@{ id = $r.Case.Id; path = $r.ModulePath; json = $r.Json } })))
        $left = if ($TimeBudgetSeconds -gt 0) { [Math]::Max(1, $TimeBudgetSeconds - [int] $clock.Elapsed.TotalSeconds) } else { 0 }
        $moduleRun = Invoke-KcSandboxPwsh $Sandbox $innerModule -TimeoutSeconds ([Math]::Max(300, $left + 120)) -Script @"
`$clock = [Diagnostics.Stopwatch]::StartNew()
`$out = foreach (`$c in (Get-Content -Raw '$inner/module.json' | ConvertFrom-Json)) {
    if ($left -gt 0 -and `$clock.Elapsed.TotalSeconds -gt $left) { break }
    # the VMM's stand-in, asleep before it joins the scope (see waitSleeping in oracle/systemd.go)
    `$holder = [int](sh -c 'exec sleep infinity </dev/null >/dev/null 2>&1 & echo `$!')
    for (`$i = 0; `$i -lt 200 -and ([IO.File]::ReadAllText("/proc/`$holder/stat") -replace '^.*\) ', '')[0] -ne 'S'; `$i++) { Start-Sleep -Milliseconds 10 }
    `$w = `$null
    try {
        `$null = New-KataCgroup -Path `$c.path -Resources `$c.json -ProcessId `$holder -SystemdBusAddress 'unix:path=/run/dbus/system_bus_socket' -Confirm:`$false -ErrorAction Stop -WarningVariable w -WarningAction SilentlyContinue
        @{ id = `$c.id; ok = `$true; warnings = @(`$w | ForEach-Object { "`$_" }) }
    }
    catch {
        Stop-Process -Id `$holder -ErrorAction Ignore
        @{ id = `$c.id; ok = `$false; errorId = `$_.FullyQualifiedErrorId.Split(',')[0]; message = `$_.Exception.Message; warnings = @(`$w | ForEach-Object { "`$_" }) }
    }
}
'KCRESULT:' + (ConvertTo-Json @(`$out) -Depth 4 -Compress)
"@
        foreach ($o in @($moduleRun)) {
            $failed = -not $o.ok
            $results[$o.id].Module = [pscustomobject]@{
                Ok = [bool] $o.ok; ErrorId = $(if ($failed) { $o.errorId }); Message = $(if ($failed) { $o.message }); Warnings = @($o.warnings)
            }
        }
        if (@($results.Values | Where-Object { -not $_.Module })) { $run.BudgetExceeded = $TimeBudgetSeconds -gt 0 }
        $run.Timings.Module = $t.Elapsed

        # 3. what systemd reports for both scopes
        $t.Restart()
        Compare-KcDiffUnitProperty $run $Sandbox
        $run.Timings.Properties = $t.Elapsed

        # 4.-6. every file in every hierarchy (read on the host), what the kernel grants inside each, the verdict
        Complete-KcDiffRun $run $oracle $runDir $t
    }
    finally {
        $t.Restart()
        $run.CleanupProblems = @(Remove-KcDiffSystemdRun $run $Sandbox $inner $innerModule)
        $run.Leftovers = @(Get-KcDiffSystemdLeftover $run $Sandbox)
        Remove-Item -Recurse -Force -LiteralPath $runDir, $innerDir -ErrorAction Ignore
        if ($own) {
            try { Stop-KcSystemdSandbox $Sandbox } catch { $run.CleanupProblems += "stopping the test systemd: $($_.Exception.Message)" }
        }
        $run.Timings.Cleanup = $t.Elapsed
        $run.Elapsed = $clock.Elapsed
    }
    $run
}

function Remove-KcDiffSystemdRun {
    <#
    Removes both sides' scopes, whatever state the run is in: the module's through Remove-KataCgroup -Kill (which
    ends its holder processes), runc's through the oracle's sddestroy (the manager's Destroy, which stops the unit,
    and with it its holder, and removes the directories runc made itself), then stops the run's two slices (and
    anything still in them), and removes what is left of them in every hierarchy. Returns what it could not do.
    #>
    param($Run, $Sandbox, [string] $Inner, [string] $InnerModule)
    $made = @($Run.Results.Values | Where-Object { $_.Module -and $_.Module.Ok })
    if ($made) {
        try {
            $paths = ConvertTo-KcDiffJson @($made | ForEach-Object ModulePath)
            $problems = Invoke-KcSandboxPwsh $Sandbox $InnerModule -TimeoutSeconds 300 -Script @"
`$out = foreach (`$p in ('$paths' | ConvertFrom-Json)) {
    try { Remove-KataCgroup -Path `$p -Kill -SystemdBusAddress 'unix:path=/run/dbus/system_bus_socket' -Confirm:`$false -ErrorAction Stop -WarningAction SilentlyContinue }
    catch { "Remove-KataCgroup `${p}: `$(`$_.Exception.Message)" }
}
'KCRESULT:' + (ConvertTo-Json @(`$out) -Compress)
"@
            @($problems | Where-Object { $_ })
        }
        catch { "removing the module's scopes: $($_.Exception.Message)" }
    }
    try {
        $innerDir = Join-Path $Sandbox.StateDir $Inner.TrimStart('/')
        [IO.File]::WriteAllLines((Join-Path $innerDir 'destroy.jsonl'), [string[]] @(foreach ($r in $Run.Results.Values) { "{`"id`":`"$($r.Case.Id)`",`"path`":`"$($r.RuncPath)`"}" }))
        $lines = Invoke-KcInSandbox $Sandbox -TimeoutSeconds 300 -- "$Inner/oracle" sddestroy "$Inner/destroy.jsonl"
        foreach ($o in (ConvertFrom-KcDiffOracleOutput sddestroy $lines 0).Results) { if (-not $o['ok']) { "oracle sddestroy $($o['id']): $($o['error'])" } }
    }
    catch { "oracle sddestroy: $($_.Exception.Message)" }
    # a slice that was never made is not loaded (exit 5): what is really left shows in Get-KcDiffSystemdLeftover
    $slices = [string[]] @($Run.Roots.Values | ForEach-Object { "$_" })
    try { $null = Invoke-KcInSandbox $Sandbox -TimeoutSeconds 120 -IgnoreExitCode -- systemctl stop @slices }
    catch { "stopping $($slices -join ', '): $($_.Exception.Message)" }
    foreach ($h in $Run.Facts.Hierarchies) {
        foreach ($slice in $slices) {
            $left = Remove-KcCgroupTree "$($h.MountPoint)/$($Sandbox.Name)/$slice"
            if ($left) { "could not remove $($left -join ', ')" }
        }
    }
}

function Get-KcDiffSystemdLeftover {
    <# The run's directories still in some hierarchy, and its units systemd still knows. #>
    param($Run, $Sandbox)
    @(Get-ChildItem -Path "/sys/fs/cgroup/*/$($Sandbox.Name)/kcd$($Run.Tag)*" -Directory -ErrorAction Ignore | ForEach-Object FullName)
    try { @(Invoke-KcInSandbox $Sandbox -- systemctl list-units --all --plain --no-legend --no-pager "kcd$($Run.Tag)*" | Where-Object { $_ } | ForEach-Object { "unit: $_" }) }
    catch { "listing the run's units: $($_.Exception.Message)" }
}

# --- reporting --------------------------------------------------------------------------------------------------

function Get-KcDiffSignature {
    <# What divergent cases have in common: the outcome and the message with its numbers and paths taken out. #>
    param($Result)
    $norm = { param([string] $s) (($s -replace '/[\w./-]*kata_c\d+', '<cgroup>') -replace '\d+', 'N') }
    switch ($Result.Kind) {
        'ModuleOnlyFails' { "runc succeeds; the module fails: $($Result.Module.ErrorId): $(& $norm $Result.Module.Message)" }
        'RuncOnlyFails' { "the module succeeds; runc fails ($($Result.Runc.Stage)): $(& $norm $Result.Runc.Error)" }
        # a case can differ in both: its device differences are named too, never hidden behind its files
        'FilesDiffer' {
            "both succeed; files differ: $((@($Result.FileDiffs.File) | Sort-Object) -join ', ')" +
            $(if ($Result.DeviceDiffs) { "; device access differs: $((@($Result.DeviceDiffs.Node) | Sort-Object) -join ', ')" }) +
            $(if ($Result.PropertyDiffs) { "; unit properties differ: $((@($Result.PropertyDiffs.Property) | Sort-Object) -join ', ')" })
        }
        'DevicesDiffer' {
            "both succeed; device access differs: $((@($Result.DeviceDiffs.Node) | Sort-Object) -join ', ')" +
            $(if ($Result.PropertyDiffs) { "; unit properties differ: $((@($Result.PropertyDiffs.Property) | Sort-Object) -join ', ')" })
        }
        'PropertiesDiffer' { "both succeed; unit properties differ: $((@($Result.PropertyDiffs.Property) | Sort-Object) -join ', ')" }
        default { $Result.Kind }
    }
}

function Format-KcDiffResult {
    <# One case in full: what it set, what each side did, and every difference. #>
    param($Run, $Result)
    "  case $($Result.Case.Id) [$($Result.Case.Category); $($Result.Case.Note)]: linux.resources = $($Result.Json)"
    "    runc:   $(if (-not $Result.Runc) { 'not run' } elseif ($Result.Runc.Ok) { 'ok' } else { "fails ($($Result.Runc.Stage)): $($Result.Runc.Error)" })"
    "    module: $(if (-not $Result.Module) { 'not run' } elseif ($Result.Module.Ok) { 'ok' } else { "fails: $($Result.Module.ErrorId): $($Result.Module.Message)" })"
    if ($Result.Module -and $Result.Module.Warnings) { foreach ($w in $Result.Module.Warnings) { "            warning: $w" } }
    if ($Result.RuncAccess) {
        $short = @(foreach ($k in $Result.RuncAccess.Keys | Sort-Object) { if ($Result.RuncAccess[$k] -cne 'rwm') { "$k '$($Result.RuncAccess[$k])'" } })
        "    device access where not rwm (runc's cgroup): $(if ($short) { $short -join ', ' } else { 'none' })"
    }
    foreach ($d in $Result.FileDiffs) { "    $($d.File): runc '$($d.Runc)', module '$($d.Module)'" }
    foreach ($d in $Result.DeviceDiffs) { "    device $($d.Node): runc '$($d.Runc)', module '$($d.Module)'" }
    foreach ($d in $Result.PropertyDiffs) { "    unit property $($d.Property): runc '$($d.Runc -replace "`n", ' | ')', module '$($d.Module -replace "`n", ' | ')'" }
    "    re-run: ./tests/Differential/Invoke-Differential.ps1 -Seed $($Run.Seed) -Case $($Result.Case.Index)$(if ($Run.Driver -eq 'Systemd') { ' -Systemd' })"
}

function Format-KcDiffReport {
    <#
    The divergences of a run (all of them, or those of -Category), grouped by kind and signature: each group with
    its count, its case ids and one case in full, then the random seed and how to re-run.
    #>
    param($Run, [string] $Category, [switch] $IncludeAllowed)
    $bad = @($Run.Results.Values | Where-Object {
            ($_.Status -eq 'Diverge' -or ($IncludeAllowed -and $_.Status -eq 'Allowed')) -and (-not $Category -or $_.Case.Category -eq $Category)
        })
    if (-not $bad) { return }
    "$($bad.Count) case(s) diverge from runc $($Run.RuncVersion) (seed $($Run.Seed), host $($Run.Facts.Mode)):"
    foreach ($kind in $bad | Group-Object Kind | Sort-Object Name) {
        "== $($kind.Name) ($($kind.Count))"
        foreach ($g in $kind.Group | Group-Object { Get-KcDiffSignature $_ } | Sort-Object Count -Descending) {
            $ids = @($g.Group | ForEach-Object { $_.Case.Id })
            "- $($g.Count) x $($g.Name)"
            "  cases: $(($ids | Select-Object -First 20) -join ' ')$(if ($ids.Count -gt 20) { " … (+$($ids.Count - 20))" })"
            Format-KcDiffResult $Run $g.Group[0]
        }
    }
    "seed $($Run.Seed): re-run all with ./tests/Differential/Invoke-Differential.ps1 -Seed $($Run.Seed) -Count $($Run.Count)$(if ($Run.Sample -gt 0 -and $Run.Sample -lt $Run.Count) { " -Sample $($Run.Sample)" })$(if ($Run.Driver -eq 'Systemd') { ' -Systemd' })"
}

function Format-KcDiffSummary {
    param($Run)
    $all = @($Run.Results.Values)
    $by = $all | Group-Object Kind | ForEach-Object { "$($_.Name) $($_.Count)" }
    $st = $all | Group-Object Status | ForEach-Object { "$($_.Name) $($_.Count)" }
    $steps = @(foreach ($k in $Run.Timings.Keys) { "$($k.ToLowerInvariant()) $([int] $Run.Timings[$k].TotalSeconds) s" })
    $what = if ($Run.Driver -eq 'Systemd') { 'differential (systemd driver against runc''s systemd manager)' } else { 'differential' }
    "${what}: $($all.Count) cases, seed $($Run.Seed), runc $($Run.RuncVersion), $($Run.Facts.Mode) host, $([int] $Run.Elapsed.TotalSeconds) s ($($steps -join ', '))"
    "  outcomes: $($by -join ', ')"
    "  verdicts: $($st -join ', ')"
}

Export-ModuleMember -Function Build-KcDiffOracle, Get-KcDiffOraclePath, Get-KcDiffHost, Get-KcDiffDivergence, Get-KcDiffSkipFile, Get-KcDiffAsSetFile, Compare-KcDiffFile,
    Invoke-KcDifferential, Invoke-KcDiffSystemd, Format-KcDiffReport, Format-KcDiffResult, Format-KcDiffSummary, Get-KcDiffLeftover, Get-KcDiffSignature,
    Get-KcDiffCategory, New-KcDiffCase, ConvertTo-KcDiffJson, Get-KcDiffEdgeCase, Get-KcDiffProbeNode
