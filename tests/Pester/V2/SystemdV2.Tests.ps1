# The systemd driver with the v2 property set, against the guest's own systemd 252 (PID 1 of the pure cgroup v2
# guest that tests/Guest/run-v2-guest.sh boots; this pwsh runs in its PID namespace). Elsewhere: skipped.
# Every step is checked as systemd reports it (systemctl show) and as the kernel holds it (cgroupfs).

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot '../TestHelpers.psm1') -Force
    # '' where the block can run (cgroup v2 and a systemd that answers, from the preflight), else why not: in the
    # block's name, since -Skip shows no reason
    $script:NotV2 = Get-KcMissingCgroupMode Unified
    $script:NoSystemdOnV2 = if ($NotV2) { $NotV2 } else { Get-KcMissingCapability Systemd }
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../TestHelpers.psm1') -Force
    Import-Module (Get-KcModulePath) -Force
    function Show([string] $Unit) {
        $h = @{}
        foreach ($l in (systemctl show $Unit -p MemoryMax -p MemorySwapMax -p CPUWeight -p TasksMax -p IOWeight -p CPUQuotaPerSecUSec -p DevicePolicy -p ActiveState -p LoadState)) {
            $k, $v = $l -split '=', 2; $h[$k] = $v
        }
        $h
    }
    function ScopeFile([string] $Scope, [string] $File) { [IO.File]::ReadAllText("/sys/fs/cgroup/kctest.slice/$Scope/$File").Trim() }
}

Describe "systemd driver (v2 property set)$(if ($NoSystemdOnV2) { " (skipped: $NoSystemdOnV2)" })" -Skip:([bool] $NoSystemdOnV2) {
    AfterEach {
        foreach ($u in 'kata-v2a.scope', 'kata-v2b.scope') { systemctl stop $u 2>$null; systemctl reset-failed $u 2>$null }
        Clear-KcTestState
    }
    AfterAll { systemctl stop kctest.slice 2>$null }

    It 'creates the scope with v2 properties; systemd and cgroupfs agree; Set and Remove follow' {
        $sleep = Start-KcSleep
        # a swap limit where the kernel accounts swap (memory.swap.max); elsewhere none is asked for
        $swap = Test-KcCapability SwapAccounting
        $swapLimit = if ($swap) { @{ MemorySwap = 512MB } } else { @{} }
        $cg = New-KataCgroup -Path 'kctest.slice:kata:v2a' -MemoryLimit 256MB @swapLimit -CpuShares 512 -CpuQuota 50000 -PidsLimit 64 -BlkioWeight 500 -ProcessId $sleep.Id -WarningAction SilentlyContinue
        $cg.Driver | Should -Be 'Systemd'
        $cg.Mode | Should -Be 'Unified'
        $cg.Pids | Should -Contain $sleep.Id
        $s = Show kata-v2a.scope
        $s.ActiveState | Should -Be 'active'
        $s.MemoryMax | Should -Be '268435456'
        if ($swap) { $s.MemorySwapMax | Should -Be '268435456' -Because 'v2 swap is memory+swap minus memory' }
        else { $s.MemorySwapMax | Should -Be 'infinity' -Because "no swap limit was asked for: $(Get-KcMissingCapability SwapAccounting)" }
        $s.CPUWeight | Should -Be '59'
        $s.CPUQuotaPerSecUSec | Should -Be '500ms'
        $s.TasksMax | Should -Be '64'
        $s.IOWeight | Should -Be '4950'
        $s.DevicePolicy | Should -Be 'strict'
        ScopeFile kata-v2a.scope memory.max | Should -Be '268435456'
        if ($swap) { ScopeFile kata-v2a.scope memory.swap.max | Should -Be '268435456' }
        ScopeFile kata-v2a.scope cpu.weight | Should -Be '59'
        ScopeFile kata-v2a.scope cpu.max | Should -Be '50000 100000'
        ScopeFile kata-v2a.scope pids.max | Should -Be '64'
        (Get-KcProcessCgroup $sleep.Id | Where-Object Controllers -EQ '').Path | Should -Be '/kctest.slice/kata-v2a.scope'
        # PID 1 is systemd here: a bare Get-KataCgroup lists the scope (from its Description) next to cgroupfs ones.
        @(Get-KataCgroup | Where-Object Path -EQ 'kctest.slice:kata:v2a').Count | Should -Be 1
        @(Get-KataCgroup -Driver Cgroupfs | Where-Object Path -EQ 'kctest.slice:kata:v2a').Count | Should -Be 0

        $cg | Set-KataCgroupResource -Cpus 0 -Mems 0
        $s2 = systemctl show kata-v2a.scope -p AllowedCPUs -p AllowedMemoryNodes
        $s2 | Should -Contain 'AllowedCPUs=0' -Because 'on v2 cpuset goes through systemd'
        $s2 | Should -Contain 'AllowedMemoryNodes=0'
        ScopeFile kata-v2a.scope cpuset.cpus | Should -Be '0'

        $swapLimit = if ($swap) { @{ MemorySwap = 1GB } } else { @{} }
        $cg | Set-KataCgroupResource -MemoryLimit 512MB @swapLimit -PidsLimit 128
        $s = Show kata-v2a.scope
        $s.MemoryMax | Should -Be '536870912'
        $s.TasksMax | Should -Be '128'
        ScopeFile kata-v2a.scope memory.max | Should -Be '536870912'
        ScopeFile kata-v2a.scope pids.max | Should -Be '128'

        $cg | Remove-KataCgroup
        (Show kata-v2a.scope).LoadState | Should -Be 'not-found'
        Test-Path /sys/fs/cgroup/kctest.slice/kata-v2a.scope | Should -BeFalse
        $sleep.HasExited | Should -BeFalse -Because 'Remove moves the processes out before it stops the scope'
    }

    It 'kills with -Kill, and a pid is attached with AttachProcessesToUnit' {
        $a = Start-KcSleep; $b = Start-KcSleep
        $cg = New-KataCgroup -Path 'kctest.slice:kata:v2b' -ProcessId $a.Id -WarningAction SilentlyContinue
        $cg | Add-KataCgroupProcess -Id $b.Id
        (Get-KcProcessCgroup $b.Id | Where-Object Controllers -EQ '').Path | Should -Be '/kctest.slice/kata-v2b.scope'
        $cg | Remove-KataCgroup -Kill
        $a.WaitForExit(10000) | Should -BeTrue
        $b.WaitForExit(10000) | Should -BeTrue
        (Show kata-v2b.scope).LoadState | Should -Be 'not-found'
    }
}
