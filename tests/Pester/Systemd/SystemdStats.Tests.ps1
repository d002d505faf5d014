# Get-KataCgroupStat on a systemd scope, against a real systemd 252 (tests/Systemd/sandbox.sh, confined to its own
# cgroup subtree and namespaces). The cmdlet runs in a pwsh inside the sandbox; the scope's numbers must be the
# ones its cgroupfs files hold, read on the host.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../TestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot '../../Systemd/SystemdSandbox.psm1') -Force
    Import-Module (Get-KcModulePath) -Force
    $Sb = Start-KcSystemdSandbox
    $ModulePath = Copy-KcModuleToSandbox $Sb (Get-KcModulePath)
    function Invoke-SandboxPwsh([string] $Script) { Invoke-KcSandboxPwsh $Sb $ModulePath $Script }
    # Read through the controller's own mount: cpu and cpuacct are one hierarchy on some hosts, two on others.
    function HostFile([string] $Controller, [string] $Scope, [string] $File) { Get-KcSandboxScopeFile $Sb (Split-Path -Leaf (Get-KcControllerMount $Controller)) $Scope $File }
    function ScopeExists([string] $Scope) { Test-KcSandboxScope $Sb $Scope }
}

AfterAll {
    if ($Sb) { Stop-KcSystemdSandbox $Sb }
}

Describe 'Get-KataCgroupStat on a systemd scope' {
    It 'reports the scope''s cgroupfs numbers, with Driver Systemd' {
        # Two sleeps in the scope: while they sleep nothing changes (no CPU, no allocation), so the scope's files
        # read on the host after the sample must hold the same numbers.
        $r = Invoke-SandboxPwsh @"
`$a = [int](sh -c 'sleep 600 </dev/null >/dev/null 2>&1 & echo `$!')
`$b = [int](sh -c 'sleep 600 </dev/null >/dev/null 2>&1 & echo `$!')
`$cg = New-KataCgroup -Path 'kctest.slice:kata:st1' -MemoryLimit 192MB -PidsLimit 32 -CpuQuota 20000 -CpuPeriod 100000 -ProcessId `$a, `$b -WarningAction SilentlyContinue
Start-Sleep -Milliseconds 300
'KCRESULT:' + (`$cg | Get-KataCgroupStat | ConvertTo-Json -Depth 4 -Compress)
"@
        try {
            $r.Driver | Should -Be 'Systemd'
            $r.Path | Should -Be 'kctest.slice:kata:st1'
            $r.CgroupPath | Should -Be '/kctest.slice/kata-st1.scope'
            $r.PidsCurrent | Should -Be 2
            $r.PidsCurrent | Should -Be ([long] (HostFile pids kata-st1.scope pids.current))
            $r.PidsLimit | Should -Be ([long] (HostFile pids kata-st1.scope pids.max))
            $r.PidsLimit | Should -Be 32
            $r.MemoryLimitBytes | Should -Be 192MB
            $r.MemoryLimitBytes | Should -Be ([long] (HostFile memory kata-st1.scope memory.limit_in_bytes))
            $r.MemoryUsageBytes | Should -Be ([long] (HostFile memory kata-st1.scope memory.usage_in_bytes))
            $r.CpuUsageUsec | Should -Be ([long] [Math]::Floor([long] (HostFile cpuacct kata-st1.scope cpuacct.usage) / 1000)) -Because 'cpuacct.usage is ns; the stat truncates to µs'
            $cpuStat = (HostFile cpu kata-st1.scope cpu.stat) -split "`n" | ConvertFrom-StringData -Delimiter ' '
            $r.CpuPeriods | Should -Be ([long] $cpuStat.nr_periods)
            $r.CpuThrottledPeriods | Should -Be ([long] $cpuStat.nr_throttled)
        }
        finally {
            $null = Invoke-SandboxPwsh "Remove-KataCgroup -Path 'kctest.slice:kata:st1' -Kill; 'KCRESULT:{}'"
        }
        ScopeExists kata-st1.scope | Should -BeFalse
    }
}
