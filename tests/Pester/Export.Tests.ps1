# Export-KataCgroup on a v1/hybrid host: a cgroup exported and created again from the export on another path has
# the same files in every hierarchy (ExportRoundTrip.psm1 compares them with the differential suite's rules), for
# defaults, for every value this host takes, and for device rules changed after the create. What the host lacks
# (swap accounting, a block device to throttle) comes from its preflight.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:NotV1 = Get-KcMissingCgroupMode Legacy, Hybrid
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot 'ExportRoundTrip.psm1') -Force
    Import-Module (Get-KcModulePath) -Force
}

AfterAll { Clear-KcTestState }

Describe "Export-KataCgroup round trip on v1$(if ($NotV1) { " (skipped: $NotV1)" })" -Skip:([bool] $NotV1) {
    BeforeEach { $Root = New-KcTestRoot }
    AfterEach { Clear-KcTestState }

    It 'a cgroup with the defaults comes out the same' {
        $r = Invoke-KcExportRoundTrip "$Root/pod1/a" "$Root/pod2/b" @{}
        $r.Files.Count | Should -BeGreaterThan 20 -Because 'every hierarchy''s files are compared'
        $r.Diffs | Should -BeNullOrEmpty
        $r.Warnings | Should -BeNullOrEmpty
    }

    It 'every value this host takes comes out the same' {
        $p = @{ MemoryLimit = 192MB; MemoryReservation = 64MB; MemorySwappiness = 30; DisableOomKiller = $true
                CpuShares = 512; CpuQuota = 25000; CpuPeriod = 50000; PidsLimit = 77; Cpus = '0'; Mems = '0'
                Device = 'c 4:64 rw', 'b 7:* r' }
        if (Test-KcCapability SwapAccounting) { $p.MemorySwap = 256MB }
        $r = Invoke-KcExportRoundTrip "$Root/pod1/a" "$Root/pod2/b" $p
        $r.Diffs | Should -BeNullOrEmpty
        $config = $r.Json | ConvertFrom-Json
        $config.linux.cgroupsPath | Should -Be "$Root/pod1/a"
        $config.linux.resources.memory.limit | Should -Be 192MB
        $config.linux.resources.memory.swappiness | Should -Be 30
        $config.linux.resources.memory.disableOOMKiller | Should -BeTrue
        $config.linux.resources.cpu.quota | Should -Be 25000
        $config.linux.resources.pids.limit | Should -Be 77
        $r.Files["$(Get-KcControllerMount memory)/memory.limit_in_bytes"] | Should -Be "$(192MB)`n" -Because 'the values really were set'
    }

    It 'block IO throttles come out the same' {
        Skip-KcUnlessCapability Controller:blkio
        $dev = Get-KcBlockDevice
        $json = "{`"blockIO`":{`"throttleReadBpsDevice`":[{`"major`":$($dev.Split(':')[0]),`"minor`":$($dev.Split(':')[1]),`"rate`":1048576}],`"throttleWriteIOPSDevice`":[{`"major`":$($dev.Split(':')[0]),`"minor`":$($dev.Split(':')[1]),`"rate`":300}]}}"
        $r = Invoke-KcExportRoundTrip "$Root/pod1/a" "$Root/pod2/b" @{ Resources = $json }
        $r.Diffs | Should -BeNullOrEmpty
        ($r.Json | ConvertFrom-Json).linux.resources.blockIO.throttleReadBpsDevice[0].rate | Should -Be 1048576
    }

    It 'device rules changed after the create are exported as they are, and a revoked hypervisor device is warned about' {
        Skip-KcUnlessCapability DeviceControl
        $cg = New-KataCgroup -Path "$Root/pod1/a" -WarningAction SilentlyContinue
        $null = $cg | Add-KataCgroupDevice -Type c -Major 4 -Minor 65 -Access rw
        $null = $cg | Remove-KataCgroupDevice -Type b -Major 253 -Minor '*'
        $export = New-KcCopyFromExport $cg.Path "$Root/pod2/b"
        ($export.Warnings -join "`n") | Should -Match "does not allow 'b 253:\* rwm'" -Because 'New-KataCgroup adds the device-mapper rule back'
        $rules = ($export.Json | ConvertFrom-Json).linux.resources.devices
        $rules[0].allow | Should -BeFalse -Because 'the default comes first: deny all'
        @($rules | Where-Object { $_.type -eq 'c' -and $_.major -eq 4 -and $_.minor -eq 65 }).access | Should -Be 'rw'
        $diffs = Compare-KcCgroupFile $cg.CgroupPath $export.Copy.CgroupPath
        $diffs.File | Should -Be "$(Get-KcControllerMount devices)/devices.list" -Because 'only the revoked rule differs, as warned'
        $diffs[0].Module | Should -Match 'b 253:\* rwm'
    }

    It 'a cgroup that does not exist is CgroupNotFound; the bare form is the linux.resources object' {
        { Export-KataCgroup -Path "$Root/nope" -ErrorAction Stop } | Should -Throw -ErrorId 'CgroupNotFound,KataCgroups.PowerShell.Commands.ExportKataCgroupCommand'
        $cg = New-KataCgroup -Path "$Root/pod1/a" -PidsLimit 9 -WarningAction SilentlyContinue
        $bare = $cg | Export-KataCgroup | ConvertFrom-Json
        $bare.pids.limit | Should -Be 9
        $bare.PSObject.Properties.Name | Should -Not -Contain 'linux'
    }
}
