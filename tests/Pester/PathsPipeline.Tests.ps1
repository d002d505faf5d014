# PowerShell's path conventions on the real host: -Path takes strings from the pipeline and arrays, each path with its
# own error; wildcards match the Kata cgroups that exist (-LiteralPath does not expand); a bare Get-KataCgroup finds
# every Kata cgroup on the host and says where it looked; Remove-KataCgroup -RemoveEmptyParent removes the parents a
# create made, in every hierarchy (the unified one included), up to the first one with a sibling or a process.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-KcModulePath) -Force

    # The root exists before the test's creates, in every hierarchy, as a host's own parent would: no create made it.
    function New-KcMadeRoot {
        $root = New-KcTestRoot
        foreach ($h in Get-KcHierarchy) { $null = [System.IO.Directory]::CreateDirectory($h.MountPoint + $root) }
        $root
    }

    function New-Quiet([string] $Path) { New-KataCgroup -Path $Path -WarningAction SilentlyContinue }
}

Describe '-Path takes strings from the pipeline and arrays, each with its own error' {
    BeforeEach {
        $Root = New-KcTestRoot
        $null = New-Quiet "$Root/pod1/sb1"
        $null = New-Quiet "$Root/pod2/sb1"
    }
    AfterEach { Clear-KcTestState }

    It 'a piped string binds -Path of Get-KataCgroup' {
        $out = @("$Root/pod1/sb1" | Get-KataCgroup)
        $out.Count | Should -Be 1
        $out[0].CgroupPath | Should -BeExactly "$Root/pod1/kata_sb1"
    }

    It 'piped strings bind -Path of Get-KataCgroupPath, Get-KataCgroupStat, Suspend-KataCgroup and Resume-KataCgroup' {
        @("$Root/pod1/sb1" | Get-KataCgroupPath -Controller memory).Directory | Should -BeExactly ((Get-KcControllerMount memory) + "$Root/pod1/kata_sb1")
        @("$Root/pod1/sb1", "$Root/pod2/sb1" | Get-KataCgroupStat).Count | Should -Be 2
        Skip-KcUnlessCapability Freezer
        "$Root/pod1/sb1", "$Root/pod2/sb1" | Suspend-KataCgroup
        @(Get-KataCgroup -Path "$Root/pod1/sb1", "$Root/pod2/sb1").FreezerState | Should -Be @('FROZEN', 'FROZEN')
        "$Root/pod1/sb1", "$Root/pod2/sb1" | Resume-KataCgroup
        @(Get-KataCgroup -Path "$Root/pod1/sb1", "$Root/pod2/sb1").FreezerState | Should -Be @('THAWED', 'THAWED')
    }

    It 'Remove-KataCgroup -Path a, missing, b removes a and b and gives one CgroupNotFound for the missing one' {
        Remove-KataCgroup -Path "$Root/pod1/sb1", "$Root/nope", "$Root/pod2/sb1" -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'CgroupNotFound,*'
        $errs[0].TargetObject | Should -BeExactly "$Root/nope"
        Get-KcExistingDirectory "$Root/pod1/kata_sb1" | Should -BeNullOrEmpty
        Get-KcExistingDirectory "$Root/pod2/kata_sb1" | Should -BeNullOrEmpty
    }

    It 'piped strings and an array on Set-KataCgroupResource change each cgroup' {
        Set-KataCgroupResource -Path "$Root/pod1/sb1", "$Root/pod2/sb1" -PidsLimit 77
        Skip-KcUnlessCapability Controller:pids
        foreach ($p in "$Root/pod1/kata_sb1", "$Root/pod2/kata_sb1") { Get-KcCgroupFile pids $p 'pids.max' | Should -Be '77' }
    }

    It 'cgroup objects piped between cmdlets still bind by property name' {
        $listed = @(Get-KataCgroup -Root $Root)
        $listed.Count | Should -Be 2
        $listed | Get-KataCgroupPath -Controller memory | ForEach-Object Exists | Should -Be @($true, $true)
        $listed | Remove-KataCgroup
        @(Get-KataCgroup -Root $Root) | Should -BeNullOrEmpty
    }
}

Describe 'Wildcards in -Path match the Kata cgroups that exist; -LiteralPath does not expand' {
    BeforeEach {
        $Root = New-KcTestRoot
        $null = New-Quiet "$Root/pod1/sb1"
        $null = New-Quiet "$Root/pod2/sb1"
        $null = New-Quiet "$Root/pod2/sb2"
    }
    AfterEach { Clear-KcTestState }

    It 'Get-KataCgroup -Path <root>/pod*/sb1 returns the two matches and not pod2/sb2' {
        @(Get-KataCgroup -Path "$Root/pod*/sb1").CgroupPath | Should -Be @("$Root/pod1/kata_sb1", "$Root/pod2/kata_sb1")
        @(Get-KataCgroup -Path "$Root/pod[2]/*").CgroupPath | Should -Be @("$Root/pod2/kata_sb1", "$Root/pod2/kata_sb2")
    }

    It 'a wildcard that matches nothing is no error; a literal path that names nothing is CgroupNotFound (as Get-ChildItem)' {
        @(Get-KataCgroup -Path "$Root/zz*/sb1" -ErrorVariable errs) | Should -BeNullOrEmpty
        $errs.Count | Should -Be 0
        { Get-KataCgroup -Path "$Root/zz/sb1" -ErrorAction Stop } | Should -Throw -ErrorId 'CgroupNotFound,KataCgroups.PowerShell.Commands.GetKataCgroupCommand'
    }

    It 'Remove-KataCgroup asks once per match: -Verbose shows the ShouldProcess text of each, and both go' {
        $lines = @(Remove-KataCgroup -Path "$Root/pod*/sb1" -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -and $_.Message -like 'Remove cgroup *' })
        $lines.Count | Should -Be 2
        @(Get-KataCgroup -Root $Root).CgroupPath | Should -Be @("$Root/pod2/kata_sb2")
    }

    It 'Remove-KataCgroup -WhatIf with a wildcard shows each match and removes nothing' {
        $text = Invoke-KcWithTranscript { Remove-KataCgroup -Path "$Root/pod*/sb*" -WhatIf }
        ([regex]::Matches($text, 'What if: Remove cgroup ')).Count | Should -Be 3
        @(Get-KataCgroup -Root $Root).Count | Should -Be 3
    }

    It 'New-KataCgroup refuses a wildcard, and takes an escaped one literally; -LiteralPath and a piped object name only that cgroup' {
        { New-KataCgroup -Path "$Root/pod*/sb9" -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidCgroupPath,KataCgroups.PowerShell.Commands.NewKataCgroupCommand'
        Get-KcExistingDirectory "$Root/pod*/kata_sb9" | Should -BeNullOrEmpty
        $made = New-Quiet "$Root/pod1/sb``[1``]"
        $made.CgroupPath | Should -BeExactly "$Root/pod1/kata_sb[1]"
        $made.Path | Should -BeExactly "$Root/pod1/sb``[1``]"   # written so that -Path names only it
        (Get-KataCgroup -LiteralPath "$Root/pod1/sb[1]").CgroupPath | Should -BeExactly "$Root/pod1/kata_sb[1]"
        @(Get-KataCgroup -Path "$Root/pod1/sb[1]").CgroupPath | Should -Be @("$Root/pod1/kata_sb1")   # unescaped: a set
        $made | Remove-KataCgroup
        Get-KcExistingDirectory "$Root/pod1/kata_sb[1]" | Should -BeNullOrEmpty
        Get-KcExistingDirectory "$Root/pod1/kata_sb1" | Should -Not -BeNullOrEmpty
    }

    It 'Add-KataCgroupProcess takes a wildcard that matches one cgroup, and refuses one that matches several' {
        $sleep = Start-KcSleep
        { Add-KataCgroupProcess -Path "$Root/pod*/sb1" -Id $sleep.Id -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidCgroupPath,KataCgroups.PowerShell.Commands.AddKataCgroupProcessCommand'
        { Add-KataCgroupProcess -Path "$Root/pod9/s*" -Id $sleep.Id -ErrorAction Stop } | Should -Throw -ErrorId 'CgroupNotFound,KataCgroups.PowerShell.Commands.AddKataCgroupProcessCommand'
        Add-KataCgroupProcess -Path "$Root/pod1/s*" -Id $sleep.Id
        (Get-KataCgroup -Path "$Root/pod1/sb1").Pids | Should -Contain $sleep.Id
    }
}

Describe 'A bare Get-KataCgroup finds every Kata cgroup on the host' {
    BeforeEach { $Root = New-KcTestRoot }
    AfterEach { Clear-KcTestState }

    It 'finds a sandbox outside /vc (the README''s /kubepods/pod1/sandbox1 shape) and says where it looked' {
        $null = New-Quiet "$Root/pod1/sandbox1"
        $records = @(Get-KataCgroup -Verbose 4>&1)
        @($records | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }).CgroupPath | Should -Contain "$Root/pod1/kata_sandbox1"
        $searched = @($records | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -and $_.Message -like 'searched for Kata cgroups*' } | ForEach-Object Message)
        $searched.Count | Should -Be 1
        $searched[0] | Should -BeLike '* at or below / in *'
        foreach ($h in Get-KcHierarchy) { $searched[0] | Should -BeLike "*$($h.MountPoint)*" }
    }

    It '-Root narrows the search to that root' {
        $null = New-Quiet "$Root/pod1/sandbox1"
        Register-KcVcBase
        $null = New-Quiet "$($Root.TrimStart('/'))/sandbox2"   # relative: /vc<root>/kata_sandbox2
        @(Get-KataCgroup -Root $Root).CgroupPath | Should -Be @("$Root/pod1/kata_sandbox1")
        @(Get-KataCgroup -Root "/vc$Root").CgroupPath | Should -Be @("/vc$Root/kata_sandbox2")
        @(Get-KataCgroup).CgroupPath | Should -Contain "/vc$Root/kata_sandbox2"
    }

    It 'the Tree view shows each parent with its children' {
        $null = New-Quiet "$Root/pod1/sb1"
        $null = New-Quiet "$Root/pod1/sb2"
        $null = New-Quiet "$Root/pod2/sb1"
        $text = Get-KataCgroup -Root $Root | Format-Table -View Tree | Out-String -Width 200
        $text | Should -Match ([regex]::Escape("Parent: $Root/pod1") + '\s+(\S.*\s+)+?└─ kata_sb1.*\s+└─ kata_sb2')
        $text | Should -Match ([regex]::Escape("Parent: $Root/pod2") + '\s+(\S.*\s+)+?└─ kata_sb1')
    }
}

Describe 'Remove-KataCgroup -RemoveEmptyParent' {
    BeforeEach { $Root = New-KcMadeRoot }
    AfterEach { Clear-KcTestState }

    It 'removes the parents the create made, bottom-up in every hierarchy (unified too), and never the root it did not make' {
        $null = New-Quiet "$Root/a/b/sandbox"
        $out = Remove-KataCgroup -Path "$Root/a/b/sandbox" -RemoveEmptyParent
        $hierarchies = @(Get-KcHierarchy)
        $removed = @($out.RemovedParents)
        foreach ($h in $hierarchies) {
            # bottom-up: a/b before a, in each hierarchy
            $removed.IndexOf("$($h.MountPoint)$Root/a/b") | Should -BeGreaterOrEqual 0
            $removed.IndexOf("$($h.MountPoint)$Root/a") | Should -BeGreaterThan $removed.IndexOf("$($h.MountPoint)$Root/a/b")
        }
        $removed.Count | Should -Be (2 * $hierarchies.Count)
        Get-KcExistingDirectory "$Root/a" | Should -BeNullOrEmpty
        @(Get-KcExistingDirectory $Root).Count | Should -Be $hierarchies.Count
    }

    It 'stops at a parent with another child (a sibling sandbox), in every hierarchy' {
        $null = New-Quiet "$Root/p/sb1"
        $null = New-Quiet "$Root/p/sb2"
        $out = Remove-KataCgroup -Path "$Root/p/sb1" -RemoveEmptyParent -Verbose 4>&1
        $removal = @($out | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] })
        $removal.Count | Should -Be 1
        $removal[0].RemovedParents | Should -BeNullOrEmpty
        @($out | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -and $_.Message -like 'kept parent *: it has 1 other child cgroup(s)*' }).Count | Should -Be @(Get-KcHierarchy).Count
        @(Get-KcExistingDirectory "$Root/p/kata_sb2").Count | Should -Be @(Get-KcHierarchy).Count
    }

    It 'stops at a parent that holds a process, only in that hierarchy' {
        $null = New-Quiet "$Root/q/x/sandbox"
        $sleep = Start-KcSleep
        $memory = Get-KcControllerMount memory
        [System.IO.File]::WriteAllText("$memory$Root/q/cgroup.procs", "$($sleep.Id)")
        $out = Remove-KataCgroup -Path "$Root/q/x/sandbox" -RemoveEmptyParent
        $out.RemovedParents | Should -Contain "$memory$Root/q/x"
        $out.RemovedParents | Should -Not -Contain "$memory$Root/q"
        @(Get-KcExistingDirectory "$Root/q") | Should -Be @("$memory$Root/q")
        (Get-KcProcessCgroup $sleep.Id | Where-Object Controllers -Match '(^|,)memory(,|$)').Path | Should -BeExactly "$Root/q"
    }

    It '-WhatIf names each parent that would go and removes nothing' {
        $null = New-Quiet "$Root/w/sandbox"
        $text = Invoke-KcWithTranscript { Remove-KataCgroup -Path "$Root/w/sandbox" -RemoveEmptyParent -WhatIf }
        foreach ($h in Get-KcHierarchy) { $text | Should -BeLike "*Remove empty parent cgroup directory*$($h.MountPoint)$Root/w*" }
        @(Get-KcExistingDirectory "$Root/w/kata_sandbox").Count | Should -Be @(Get-KcHierarchy).Count
    }
}
