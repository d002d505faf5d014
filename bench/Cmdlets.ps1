# Contender (b) of the lifecycle benchmark (bench/README.md): the cmdlets in one pwsh session, written the
# way a user would write the loop. Import-Module and one warm-up cycle are outside the timed loop.
#   pwsh -NoProfile -File Cmdlets.ps1 -ModulePath out/KataCgroups/KataCgroups.psd1 -Root /kcbench-x -Count N -ProcessId P
#   ... -Slice kcbench.slice   the same against systemd (paths kcbench.slice:kata:c<i>), run inside the sandbox
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [string] $Root,
    [string] $Slice,
    [Parameter(Mandatory)] [int] $Count,
    [Parameter(Mandatory)] [int] $ProcessId
)
$ErrorActionPreference = 'Stop'
# The hypervisor devices a host lacks (vhost-net, vfio…) are a warning on every New: a runbook silences it once.
$WarningPreference = 'SilentlyContinue'
$ProgressPreference = 'SilentlyContinue'
$started = [Diagnostics.Stopwatch]::GetTimestamp()
Import-Module $ModulePath

$base = if ($Slice) { "${Slice}:kata:" } else { "$Root/" }

# Warm-up (untimed), checked: the helper joined, the update landed, it was moved out. With KCBENCH_CHECK set, the
# files of KCBENCH_CHECK_LIST are dumped after the update for the harness to compare with the other contenders.
$cg = New-KataCgroup -Path "${base}warm" -MemoryLimit 256MB -CpuShares 512 -CpuQuota 50000 -CpuPeriod 100000 -PidsLimit 128 -ProcessId $ProcessId
if ($cg.Pids -notcontains $ProcessId) { throw "pid $ProcessId did not join $($cg.CgroupPath)" }
$set = $cg | Set-KataCgroupResource -MemoryLimit 512MB -PidsLimit 256 -PassThru
if ($set.MemoryLimit -ne 512MB) { throw "the update did not land: $($set.MemoryLimit)" }
if ($env:KCBENCH_CHECK) {
    Get-Content -LiteralPath $env:KCBENCH_CHECK_LIST | Where-Object { $_ } |
        ForEach-Object { "${_}: " + [IO.File]::ReadAllText($_).TrimEnd("`n") } | Set-Content -LiteralPath $env:KCBENCH_CHECK
}
$set | Remove-KataCgroup

$loopStart = [Diagnostics.Stopwatch]::GetTimestamp()
for ($i = 0; $i -lt $Count; $i++) {
    New-KataCgroup -Path "${base}c$i" -MemoryLimit 256MB -CpuShares 512 -CpuQuota 50000 -CpuPeriod 100000 -PidsLimit 128 -ProcessId $ProcessId |
        Set-KataCgroupResource -MemoryLimit 512MB -PidsLimit 256 -PassThru |
        Remove-KataCgroup
}
$loopEnd = [Diagnostics.Stopwatch]::GetTimestamp()
$loopMs = [Diagnostics.Stopwatch]::GetElapsedTime($loopStart, $loopEnd).TotalMilliseconds
$setupMs = [Diagnostics.Stopwatch]::GetElapsedTime($started, $loopStart).TotalMilliseconds
'KCBENCH ' + (@{
        n            = $Count
        loopMs       = [Math]::Round($loopMs, 3)
        perCgroupMs  = [Math]::Round($loopMs / $Count, 4)
        setupMs      = [Math]::Round($setupMs, 3)
        workingSetMb = [Math]::Round([Environment]::WorkingSet / 1MB, 1)
    } | ConvertTo-Json -Compress)
