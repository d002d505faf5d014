# The path conventions on a pure cgroup v2 host (the qemu guest; skipped elsewhere, naming the host's mode): a bare
# Get-KataCgroup walks the one unified tree from its root, wildcards match there, and Remove-KataCgroup
# -RemoveEmptyParent removes the parents a create made (with the controllers it enabled for their children) up to
# the first one with a sibling, never the root no create made.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot '../TestHelpers.psm1') -Force
    $script:NotV2 = Get-KcMissingCgroupMode Unified
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../TestHelpers.psm1') -Force
    Import-Module (Get-KcModulePath) -Force
    $Mount = Get-KcControllerMount unified
}

Describe "path conventions on cgroup v2$(if ($NotV2) { " (skipped: $NotV2)" })" -Skip:([bool] $NotV2) {
    BeforeEach {
        $Root = New-KcTestRoot
        $null = [IO.Directory]::CreateDirectory("$Mount$Root")   # there before: no create made it
    }
    AfterEach { Clear-KcTestState }

    It 'a bare Get-KataCgroup finds a sandbox outside /vc, and a wildcard matches it' {
        $null = New-KataCgroup -Path "$Root/pod1/sb1" -WarningAction SilentlyContinue
        @(Get-KataCgroup).CgroupPath | Should -Contain "$Root/pod1/kata_sb1"
        @(Get-KataCgroup -Path "$Root/pod*/sb?").CgroupPath | Should -Be @("$Root/pod1/kata_sb1")
    }

    It '-RemoveEmptyParent removes the parents the create made, stops at a sibling, and keeps the root' {
        # A pids limit: the create enables the controller in the parents it makes, which must not stop their removal.
        $null = New-KataCgroup -Path "$Root/a/b/sb1" -PidsLimit 10 -WarningAction SilentlyContinue
        $null = New-KataCgroup -Path "$Root/a/sb2" -PidsLimit 10 -WarningAction SilentlyContinue
        $first = Remove-KataCgroup -Path "$Root/a/b/sb1" -RemoveEmptyParent
        @($first.RemovedParents) | Should -Be @("$Mount$Root/a/b")   # a still has sb2
        [IO.Directory]::Exists("$Mount$Root/a") | Should -BeTrue
        $second = Remove-KataCgroup -Path "$Root/a/sb2" -RemoveEmptyParent
        @($second.RemovedParents) | Should -Be @("$Mount$Root/a")
        [IO.Directory]::Exists("$Mount$Root") | Should -BeTrue
    }
}
