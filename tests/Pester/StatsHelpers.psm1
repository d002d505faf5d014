<#
Workloads for the Get-KataCgroupStat tests (Stats.Tests.ps1 on the host, V2/StatsV2.Tests.ps1 in the v2 guest).
Every process is tracked through TestHelpers' Register-KcProcess, so Clear-KcTestState kills it by pid.
#>
Set-StrictMode -Version Latest
Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1')

function Start-KcStatProcess {
    <# Starts a tracked process; -Stdin keeps its stdin open for the test to write to. #>
    param([Parameter(Mandatory)] [string[]] $Argv, [switch] $Stdin, [switch] $Stdout)
    $psi = [System.Diagnostics.ProcessStartInfo]::new($Argv[0])
    foreach ($a in $Argv[1..($Argv.Count - 1)]) { $psi.ArgumentList.Add($a) }
    $psi.UseShellExecute = $false
    $psi.RedirectStandardInput = [bool] $Stdin
    $psi.RedirectStandardOutput = [bool] $Stdout
    $p = [System.Diagnostics.Process]::Start($psi)
    Register-KcProcess $p
    $p
}

function Start-KcBurner {
    <# A CPU burner: a shell loop that never sleeps. #>
    Start-KcStatProcess @('sh', '-c', 'while :; do :; done')
}

function Start-KcHog {
    <#
    Python waits for a line on stdin, then allocates and touches 48 MiB, says 'ready' on stdout and holds the memory
    until stdin closes: the allocation happens after the test moved it into the cgroup (memory is charged where a
    page is first touched), and the test knows when it is done however slow the machine is.
    /usr/bin/python3, not a PATH shim: the v2 guest runs this machine's root file system with its own HOME.
    #>
    Start-KcStatProcess @('/usr/bin/python3', '-c', 'import sys; sys.stdin.readline(); b = b"a" * (48 << 20); print("ready", flush=True); sys.stdin.read()') -Stdin -Stdout
}

function Wait-KcStat {
    <#
    Polls Get-KataCgroupStat until $Condition holds on a sample, or 60 s pass (a bound for slow machines such as
    the TCG guest, not a measurement); returns the last sample.
    #>
    param([Parameter(Mandatory)] [string] $Path, [Parameter(Mandatory)] [scriptblock] $Condition)
    $deadline = [DateTime]::UtcNow.AddSeconds(60)
    while ($true) {
        $s = Get-KataCgroupStat -Path $Path
        if ((& $Condition $s) -or [DateTime]::UtcNow -gt $deadline) { return $s }
        Start-Sleep -Milliseconds 100
    }
}

Export-ModuleMember -Function Start-KcStatProcess, Start-KcBurner, Start-KcHog, Wait-KcStat
