# Test-KataCgroupHost on the host it runs on (the host tier: v1/hybrid; the guest tiers: cgroup v2, and hybrid with
# BFQ). Its answers are checked against the kernel's own files, read here independently of the module, so a check
# that reports what the host does not have (or misses what it has) fails; and it changes nothing.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-KcModulePath) -Force
    $script:Checks = @(Test-KataCgroupHost)
    function Check([string] $Name) { $Checks | Where-Object Check -EQ $Name }
    $script:Hierarchies = @(Get-KcHierarchy)
    $script:Unified = $Hierarchies | Where-Object IsUnified | Select-Object -First 1
    $script:IsV2 = [bool] ($Unified -and $Unified.MountPoint -eq '/sys/fs/cgroup')
}

AfterAll { Remove-KcRootless }

Describe 'Test-KataCgroupHost' {
    It 'writes one KataCgroupHostCheck per check, each with a status, a value and a reason, names unique' {
        $Checks.Count | Should -BeGreaterThan 20
        foreach ($c in $Checks) {
            $c.GetType().FullName | Should -Be 'KataCgroups.PowerShell.KataCgroupHostCheck'
            $c.Status | Should -BeIn 'Pass', 'Warn', 'Fail'
            $c.Value | Should -Not -BeNullOrEmpty -Because "$($c.Check) says what it saw"
            $c.Reason | Should -Not -BeNullOrEmpty -Because "$($c.Check) says why"
            $c.ComputerName | Should -Be ([Environment]::MachineName)
        }
        @($Checks.Check | Select-Object -Unique).Count | Should -Be $Checks.Count
        $Checks[0].Check | Should -Be 'CgroupMode'
        $Checks[-1].Check | Should -Be 'Rootless'
    }

    It 'CgroupMode and Kernel are what the kernel says' {
        (Check CgroupMode).Value | Should -Be $(if ($IsV2) { 'Unified' } elseif ($Unified) { 'Hybrid' } else { 'Legacy' })
        (Check Kernel).Value | Should -Be ([System.IO.File]::ReadAllText('/proc/sys/kernel/osrelease').Trim())
    }

    It 'every controller check passes exactly when mountinfo (v1) or cgroup.controllers (v2) has it, and names the mount' {
        $controllerChecks = @($Checks | Where-Object Check -Like 'Controller:*')
        $controllerChecks | Should -Not -BeNullOrEmpty
        $available = if ($IsV2) { [System.IO.File]::ReadAllText('/sys/fs/cgroup/cgroup.controllers').Trim() -split ' ' }
        foreach ($c in $controllerChecks) {
            $name = $c.Check.Substring('Controller:'.Length)
            if ($IsV2) {
                ($c.Status -eq 'Pass') | Should -Be ($name -in $available) -Because "$name in cgroup.controllers"
            }
            else {
                $h = $Hierarchies | Where-Object { $name -in $_.Controllers } | Select-Object -First 1
                ($c.Status -eq 'Pass') | Should -Be ([bool] $h) -Because "$name in mountinfo"
                if ($h) { $c.Value | Should -Be $h.MountPoint } else { $c.Value | Should -Be 'none' }
            }
            if ($c.Status -ne 'Pass') { $c.Reason | Should -Match ':' -Because 'a missing controller says why and what is lost' }
        }
        # The controllers a sandbox cannot do without fail rather than warn when missing.
        foreach ($c in $controllerChecks | Where-Object { $_.Check -in 'Controller:memory', 'Controller:cpu', 'Controller:cpuset' -and $_.Status -ne 'Pass' }) {
            $c.Status | Should -Be 'Fail'
        }
    }

    It 'SwapAccounting, Psi and the device nodes agree with the files' {
        $swap = Check SwapAccounting
        if ($IsV2) { if ($swap.Status -eq 'Pass') { $swap.Value | Should -Be 'memory.swap.max' } }
        else {
            $has = Test-Path ((Get-KcControllerMount memory) + '/memory.memsw.limit_in_bytes')
            ($swap.Status -eq 'Pass') | Should -Be $has
        }
        $psi = Check Psi
        $psiReadable = try { [void][System.IO.File]::ReadAllText('/proc/pressure/cpu'); $true } catch { $false }
        ($psi.Status -eq 'Pass') | Should -Be ($psiReadable -and [bool] $Unified)
        foreach ($node in '/dev/kvm', '/dev/vhost-net', '/dev/vfio/vfio', '/dev/vhost-vsock') {
            $c = Check "Device:$node"
            $number = Get-KcDeviceNumber $node
            if ($number) { $c.Status | Should -Be 'Pass'; $c.Value | Should -Be "c $number" }
            else { $c.Status | Should -Be 'Warn'; $c.Value | Should -Be 'none' }
        }
    }

    It 'device-mapper: the major /proc/devices gives it, against the b 253:* rule' {
        $dm = Check Device:device-mapper
        $line = (Get-Content /proc/devices) -match '^\s*\d+ device-mapper$' | Select-Object -First 1
        if (-not $line) { $dm.Value | Should -Be 'none'; $dm.Status | Should -Be 'Warn' }
        else {
            $major = [int] ($line.Trim() -split ' ')[0]
            $dm.Value | Should -Be "b ${major}:*"
            $dm.Status | Should -Be $(if ($major -eq 253) { 'Pass' } else { 'Warn' })
        }
    }

    It 'DeviceControl: the v1 devices controller, or a device eBPF program that loads on v2 (and is not left loaded)' {
        $c = Check DeviceControl
        if ($IsV2) {
            $c.Value | Should -Be 'eBPF'
            $c.Status | Should -Be 'Pass'
            # the probe loaded a program and closed it: no cgroup_device program beyond those loaded before the suite
            @(Get-KcBpfDeviceProgramId | Where-Object { $_ -notin $global:KcTestState.BpfDeviceProgramsAtStart }) |
                Should -BeNullOrEmpty
        }
        else {
            ($c.Status -eq 'Pass') | Should -Be ([bool] ($Hierarchies | Where-Object { 'devices' -in $_.Controllers }))
        }
    }

    It '-Check takes names and wildcards; an unknown plain name is HostCheckNotFound and the others still come' {
        @(Test-KataCgroupHost -Check 'controller:*').Check | Should -Be @($Checks | Where-Object Check -Like 'Controller:*').Check
        $out = @(Test-KataCgroupHost -Check BlockIoWeight, NoSuchCheck -ErrorVariable e -ErrorAction SilentlyContinue)
        $out.Check | Should -Be 'BlockIoWeight'
        $e.Count | Should -Be 1
        $e[0].FullyQualifiedErrorId | Should -Be 'HostCheckNotFound,KataCgroups.PowerShell.Commands.TestKataCgroupHostCommand'
        $e[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $e[0].Exception.Message | Should -Match 'BlockIoWeight'
    }

    It '-Quiet is one bool: true exactly when no selected check is Fail' {
        $q = @(Test-KataCgroupHost -Quiet)
        $q.Count | Should -Be 1
        $q[0] | Should -BeOfType [bool]
        $q[0] | Should -Be (-not ($Checks | Where-Object Status -EQ 'Fail'))
        Test-KataCgroupHost -Check Kernel -Quiet | Should -BeTrue
    }

    It 'prints with its table view (Check, Status, Value, Reason), and survives a JSON round trip' {
        $text = Test-KataCgroupHost -Check CgroupMode, Kernel | Out-String -Width 250
        $text | Should -Match 'Check\s+Status\s+Value\s+Reason'
        $text | Should -Not -Match 'ComputerName'
        $back = Test-KataCgroupHost -Check Kernel | ConvertTo-Json | ConvertFrom-Json
        $back.Value | Should -Be (Check Kernel).Value
    }

    It 'changes nothing: no cgroup directory, file or device program appears' {
        $before = foreach ($h in $Hierarchies) { [System.IO.Directory]::GetFileSystemEntries($h.MountPoint) }
        $null = Test-KataCgroupHost
        $after = foreach ($h in $Hierarchies) { [System.IO.Directory]::GetFileSystemEntries($h.MountPoint) }
        # other work on the machine may add or remove its own cgroups: compare only entries that are not directories
        # of others (the probe makes no directory at all, so its own would show among new entries of any name)
        @(Compare-Object @($before) @($after) | Where-Object SideIndicator -EQ '=>' | Where-Object { $_.InputObject -notmatch '/kctest-|/kcunit-|/kc-' }) |
            Should -BeNullOrEmpty
    }

    It 'rootless: reports Rootless as Warn with the reason, and everything else still answers' {
        $child = Invoke-KcRootless -Script @'
$c = @(Test-KataCgroupHost)
'KCRESULT:' + (@($c | Select-Object Check, Status, Value, Reason) | ConvertTo-Json -Compress -Depth 3)
'@
        $line = ($child.StdOut -split "`n") | Where-Object { $_.StartsWith('KCRESULT:') } | Select-Object -First 1
        $line | Should -Not -BeNullOrEmpty -Because "the child printed: $($child.StdOut) $($child.StdErr)"
        $r = $line.Substring('KCRESULT:'.Length) | ConvertFrom-Json
        $rootless = $r | Where-Object Check -EQ 'Rootless'
        $rootless.Status | Should -Be 'Warn'
        $rootless.Reason | Should -Match 'rootless'
        ($r | Where-Object Check -EQ 'CgroupMode').Value | Should -Be (Check CgroupMode).Value
        if ($IsV2) { ($r | Where-Object Check -EQ 'DeviceControl').Value | Should -Be 'unknown' }
    }
}
