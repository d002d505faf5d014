# Export-KataCgroup on a pure cgroup v2 host (the qemu guest's v2 tier; elsewhere skipped, naming the host's cgroup
# mode): a cgroup exported and created again from the export on another path has the same files
# (../ExportRoundTrip.psm1, the differential suite's rules), with the v2 conversions inverted (cpu.weight back to
# shares, memory.swap.max back to memory+swap) and the device rules from the cgroup's recorded rule set.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot '../TestHelpers.psm1') -Force
    $script:NotV2 = Get-KcMissingCgroupMode Unified
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../TestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot '../ExportRoundTrip.psm1') -Force
    Import-Module (Get-KcModulePath) -Force
}

AfterAll { Clear-KcTestState }

Describe "Export-KataCgroup round trip on v2$(if ($NotV2) { " (skipped: $NotV2)" })" -Skip:([bool] $NotV2) {
    BeforeEach { $Root = New-KcTestRoot }
    AfterEach { Clear-KcTestState }

    It 'a cgroup with the defaults comes out the same' {
        $r = Invoke-KcExportRoundTrip "$Root/pod1/a" "$Root/pod2/b" @{}
        # with no value the plan enables no controller in the leaf: its own cgroup.* files are what there is
        $r.Files.Keys | Should -Contain "$(Get-KcControllerMount unified)/cgroup.type"
        $r.Diffs | Should -BeNullOrEmpty
    }

    It 'every value this host takes comes out the same, the converted ones too' {
        $p = @{ MemoryLimit = 192MB; MemoryReservation = 64MB; CpuShares = 512; CpuQuota = 25000; CpuPeriod = 50000
                PidsLimit = 77; Cpus = '0'; Mems = '0'; Device = 'c 4:64 rw', 'b 7:* r' }
        if (Test-KcCapability SwapAccounting) { $p.MemorySwap = 256MB }
        $r = Invoke-KcExportRoundTrip "$Root/pod1/a" "$Root/pod2/b" $p
        $r.Diffs | Should -BeNullOrEmpty
        $res = ($r.Json | ConvertFrom-Json).linux.resources
        $mount = Get-KcControllerMount unified
        $r.Files["$mount/cpu.weight"] | Should -Be "59`n" -Because 'shares 512 is weight 59'
        # the shares exported are ones that give the same weight (the conversion is not one to one)
        $res.cpu.quota | Should -Be 25000
        $res.memory.limit | Should -Be 192MB
        if ($p.MemorySwap) { $res.memory.swap | Should -Be 256MB -Because 'memory+swap is memory.max plus memory.swap.max' }
        $res.devices[0].allow | Should -BeFalse
        @($res.devices | Where-Object { $_.type -eq 'c' -and $_.major -eq 4 -and $_.minor -eq 64 }).access | Should -Be 'rw'
    }

    It 'the device rule set recorded for the program comes out the same' {
        Skip-KcUnlessCapability DeviceControl
        $cg = New-KataCgroup -Path "$Root/pod1/a" -WarningAction SilentlyContinue
        $null = $cg | Add-KataCgroupDevice -Type c -Major 4 -Minor 65 -Access rw
        $copy = (New-KcCopyFromExport $cg.Path "$Root/pod2/b").Copy
        # the programs differ by id; the rule sets they were built from (the export reads them back) must not
        $rules = { param($c) ($c | Export-KataCgroup | ConvertFrom-Json).devices | ForEach-Object { "$($_.allow) $($_.type) $($_.major):$($_.minor) $($_.access)" } | Sort-Object }
        & $rules $copy | Should -Be (& $rules $cg)
        (& $rules $cg) | Should -Contain 'True c 4:65 rw'
        Compare-KcCgroupFile $cg.CgroupPath $copy.CgroupPath | Should -BeNullOrEmpty
    }
}
