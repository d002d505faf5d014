# The module as a PowerShell user meets it: conventions (verbs, nouns, ShouldProcess, OutputType, manifest), views
# for local and deserialized objects, tab completion, progress and debug streams. Real cgroups under a test root.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:ModulePath = Get-KcModulePath
    Import-Module $ModulePath -Force
    $script:Commands = Get-Command -Module KataCgroups
    $script:Mutating = 'New-KataCgroup', 'Set-KataCgroupResource', 'Add-KataCgroupProcess', 'Remove-KataCgroup', 'Add-KataCgroupDevice', 'Remove-KataCgroupDevice', 'Suspend-KataCgroup', 'Resume-KataCgroup',
        'Move-KataCgroupProcess', 'New-KataSandbox', 'Add-KataSandboxVmm', 'Remove-KataSandbox'

    # Runs a script in a fresh runspace with the module and returns the PowerShell object (streams included).
    function Invoke-Isolated([string] $Script) {
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddScript("Import-Module '$ModulePath'; `$ProgressPreference = 'Continue'`n" + $Script)
            $out = $ps.Invoke()
            [pscustomobject]@{ Output = $out; Progress = @($ps.Streams.Progress); Errors = @($ps.Streams.Error); Debug = @($ps.Streams.Debug) }
        }
        finally { $ps.Dispose() }
    }
    function Complete([string] $Line) {
        (TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches
    }
}

AfterAll { Clear-KcTestState }

Describe 'Conventions' {
    It 'exports exactly the documented cmdlets, every one with an approved verb and a singular KataCgroup noun' {
        $Commands.Name | Sort-Object | Should -Be @('Add-KataCgroupDevice', 'Add-KataCgroupProcess', 'Add-KataSandboxVmm', 'Export-KataCgroup', 'Get-KataCgroup', 'Get-KataCgroupPath', 'Get-KataCgroupStat', 'Get-KataSandbox', 'Move-KataCgroupProcess', 'New-KataCgroup', 'New-KataSandbox', 'Remove-KataCgroup', 'Remove-KataCgroupDevice', 'Remove-KataSandbox', 'Resume-KataCgroup', 'Set-KataCgroupResource', 'Suspend-KataCgroup', 'Test-KataCgroupHost', 'Wait-KataCgroupEvent')
        $approved = (Get-Verb).Verb
        foreach ($c in $Commands) {
            $c.CommandType | Should -Be 'Cmdlet'
            $approved | Should -Contain $c.Verb
            $c.Noun | Should -Match '^Kata(Cgroup(Process|Resource|Path|Device|Stat|Event|Host)?|Sandbox(Vmm)?)$' -Because "$($c.Name) uses a singular KataCgroup or KataSandbox noun"
        }
    }

    It 'every mutating cmdlet supports -WhatIf and -Confirm; the readers do not pretend to' {
        foreach ($c in $Commands) {
            $mutates = $Mutating -contains $c.Name
            $c.Parameters.ContainsKey('WhatIf') | Should -Be $mutates -Because $c.Name
            $c.Parameters.ContainsKey('Confirm') | Should -Be $mutates -Because $c.Name
        }
    }

    It 'declares its output types, and the objects it emits are of those types' {
        foreach ($c in $Commands | Where-Object Name -NE 'Remove-KataCgroup') {
            $c.OutputType.Name | Should -Not -BeNullOrEmpty -Because "$($c.Name) declares [OutputType]"
        }
        $root = New-KcTestRoot
        $new = New-KataCgroup -Path "$root/sb" -PidsLimit 10 -WarningAction SilentlyContinue
        $new.GetType().FullName | Should -BeIn (Get-Command New-KataCgroup).OutputType.Name
        (Get-KataCgroup -Path $new.Path).GetType().FullName | Should -BeIn (Get-Command Get-KataCgroup).OutputType.Name
        ($new | Set-KataCgroupResource -PidsLimit 11 -PassThru).GetType().FullName | Should -BeIn (Get-Command Set-KataCgroupResource).OutputType.Name
        (Get-KataCgroupPath -Path $new.Path | Select-Object -First 1).GetType().FullName | Should -BeIn (Get-Command Get-KataCgroupPath).OutputType.Name
        (Get-KataCgroupStat -Path $new.Path).GetType().FullName | Should -BeIn (Get-Command Get-KataCgroupStat).OutputType.Name
        @($new | Remove-KataCgroup).Count | Should -Be 0 -Because 'Remove-KataCgroup emits nothing'
    }

    It 'has a manifest that passes Test-ModuleManifest with explicit exports, formats and types' {
        $m = Test-ModuleManifest -Path $ModulePath -ErrorAction Stop
        $m.ExportedCmdlets.Keys | Sort-Object | Should -Be ($Commands.Name | Sort-Object)
        $m.ExportedFunctions.Count | Should -Be 0
        $m.ExportedAliases.Count | Should -Be 0
        $data = Import-PowerShellDataFile $ModulePath
        $data.CmdletsToExport | Should -Not -Contain '*'
        $data.FormatsToProcess | Should -Contain 'KataCgroups.Format.ps1xml'
        $data.TypesToProcess | Should -Contain 'KataCgroups.Types.ps1xml'
        $data.CompatiblePSEditions | Should -Be @('Core')
    }

    It 'identity parameters bind from the pipeline by property name' {
        # Get-KataCgroup also lists without one; Test-KataCgroupHost checks the host, not a cgroup.
        # A sandbox is named by its pod cgroup and id (and overhead root), bound from a KataSandbox.
        foreach ($c in $Commands | Where-Object Name -NotIn 'Get-KataCgroup', 'Test-KataCgroupHost') {
            $names = if ($c.Noun -like 'KataSandbox*') { 'PodPath', 'SandboxId', 'OverheadRoot' } else { 'Path' }
            foreach ($n in $names) {
                $c.Parameters[$n].Attributes.Where({ $_ -is [Parameter] }).ValueFromPipelineByPropertyName | Should -Contain $true -Because "$($c.Name) -$n"
            }
        }
    }
}

Describe 'Views' {
    BeforeAll {
        $script:Root = New-KcTestRoot
        $script:Cg = New-KataCgroup -Path "$Root/sb" -MemoryLimit 256MB -PidsLimit 64 -CpuShares 512 -WarningAction SilentlyContinue
    }
    AfterAll { Clear-KcTestState }

    It 'prints a table with the cgroup, its processes and limits in readable units' {
        $text = $Cg | Format-Table | Out-String -Width 200
        $header = ($text -split "`n" | Where-Object { $_ -match '\S' })[0]
        $header | Should -Match '^CgroupPath\s+State\s+Pids\s+Threads\s+MemoryLimit\s+CpuShares\s+CpuQuota\s+PidsLimit'
        $text | Should -Match ([regex]::Escape($Cg.CgroupPath) + '\s+Complete\s+256 MiB\s+512\s+max\s+64')
    }

    It 'prints a full list with Format-List' {
        $text = $Cg | Format-List | Out-String -Width 200
        $text | Should -Match ('Path\s+: ' + [regex]::Escape($Cg.Path))
        $text | Should -Match 'MemoryLimit\s+: 256 MiB'
        $text | Should -Match 'Controllers\s+: \S'
    }

    It 'formats deserialized (remoting) objects with the same views' {
        $copy = [System.Management.Automation.PSSerializer]::Deserialize([System.Management.Automation.PSSerializer]::Serialize($Cg))
        $copy.PSObject.TypeNames[0] | Should -Be 'Deserialized.KataCgroups.PowerShell.KataCgroup'
        ($copy | Format-Table | Out-String -Width 200) | Should -Be ($Cg | Format-Table | Out-String -Width 200)
        ($copy | Format-List | Out-String -Width 200) | Should -Be ($Cg | Format-List | Out-String -Width 200)
        $row = Get-KataCgroupPath -Path $Cg.Path | Select-Object -First 1
        $rowCopy = [System.Management.Automation.PSSerializer]::Deserialize([System.Management.Automation.PSSerializer]::Serialize($row))
        ($rowCopy | Format-Table | Out-String) | Should -Be ($row | Format-Table | Out-String)
    }

    It 'names the default display properties for hosts without the views' {
        $Cg.PSStandardMembers.DefaultDisplayPropertySet.ReferencedPropertyNames | Should -Contain 'CgroupPath'
        $Cg.PSStandardMembers.DefaultDisplayPropertySet.ReferencedPropertyNames | Should -Contain 'MemoryLimit'
    }
}

Describe 'Tab completion' {
    BeforeAll {
        $script:Root = New-KcTestRoot
        $null = New-KataCgroup -Path "$Root/pod1/sandbox1" -WarningAction SilentlyContinue
        $null = New-KataCgroup -Path "$Root/pod1/other" -WarningAction SilentlyContinue
    }
    AfterAll { Clear-KcTestState }

    It '-Path completes existing cgroups, Kata ones first, as the path a user types for them' {
        $m = Complete "Get-KataCgroup -Path $Root/pod1/"
        $m.CompletionText | Should -Contain "$Root/pod1/sandbox1"
        $m.CompletionText | Should -Contain "$Root/pod1/other"
        $m[0].CompletionText | Should -BeIn "$Root/pod1/other", "$Root/pod1/sandbox1"
        $m.CompletionText | Should -Contain "$Root/pod1/kata_sandbox1/" -Because 'plain directories follow, to go on from'
        $m.ToolTip | Should -Contain "Kata cgroup $Root/pod1/kata_sandbox1"
        (Complete "Remove-KataCgroup -Path $Root/pod1/sand").CompletionText | Should -Be "$Root/pod1/sandbox1"
        (Complete "Get-KataCgroup -Path $Root/po").CompletionText | Should -Be "$Root/pod1/"
        # a completed path resolves to the cgroup it was offered for
        (Get-KataCgroup -Path (Complete "Get-KataCgroup -Path $Root/pod1/sand").CompletionText).CgroupPath | Should -Be "$Root/pod1/kata_sandbox1"
    }

    It 'resource parameters complete their values; -Device offers this host''s hypervisor nodes' {
        (Complete 'New-KataCgroup -MemoryLimit m').CompletionText | Should -Be 'max'
        (Complete 'New-KataCgroup -PidsLimit ').CompletionText | Should -Contain 'max'
        (Complete 'Set-KataCgroupResource -Driver ').CompletionText | Should -Be 'Auto', 'Cgroupfs', 'Systemd'
        $online = (Get-Content /sys/devices/system/cpu/online).Trim()
        (Complete 'New-KataCgroup -Cpus ').CompletionText | Should -Contain $online
        # Each hypervisor node the preflight found is offered as its rule (tool tip: the node); a missing one is not.
        $offered = @(Complete 'New-KataCgroup -Device ')
        foreach ($c in Get-KcHostCheck | Where-Object Check -Like 'Device:/dev/*') {
            $node = $c.Check.Substring('Device:'.Length)
            $hit = @($offered | Where-Object ToolTip -EQ $node)
            if ($c.Status -eq 'Pass') { $hit.CompletionText | Should -Be "'$($c.Value) rwm'" -Because "$node is $($c.Value) here" }
            else { $hit | Should -BeNullOrEmpty -Because "$node is not on this host ($($c.Reason))" }
        }
    }

    It 'never throws, whatever is typed' {
        # (A word with a NUL is left out: when a completer offers nothing PowerShell falls back to its own file
        # name completion, which throws on NUL by itself.)
        foreach ($word in "'", '"/x', "/nope/`t", ':::', 'a.slice:b:', ('/' * 300), '$(', '/kctest-nope/../../..') {
            { Complete "Get-KataCgroup -Path $word" } | Should -Not -Throw
            { Complete "New-KataCgroup -Device $word" } | Should -Not -Throw
        }
    }
}

Describe 'Streams' {
    BeforeAll { $script:Root = New-KcTestRoot }
    AfterAll { Clear-KcTestState }

    It 'shows progress while removing many cgroups and moving many processes, and always completes it' {
        $r = Invoke-Isolated @"
`$a = 1..3 | ForEach-Object { New-KataCgroup -Path "$Root/p`$_" -WarningAction SilentlyContinue }
`$pids = 1..20 | ForEach-Object { [int](sh -c 'sleep 300 0.0271828 </dev/null >/dev/null 2>&1 & echo `$!') }
`$null = `$a[0] | Add-KataCgroupProcess -Id `$pids
`$a | Remove-KataCgroup
`$pids | ForEach-Object { Stop-Process -Id `$_ -ErrorAction Ignore }
"@
        $r.Errors | Should -BeNullOrEmpty
        $removing = $r.Progress | Where-Object Activity -EQ 'Removing Kata cgroups'
        @($removing | Where-Object RecordType -EQ 'Processing').Count | Should -Be 3
        $removing[-1].RecordType | Should -Be 'Completed'
        foreach ($activity in 'Adding processes', 'Moving processes') {
            $records = @($r.Progress | Where-Object Activity -EQ $activity)
            $records.Count | Should -BeGreaterThan 1 -Because "20 processes are more than the progress threshold ($activity)"
            $records[-1].RecordType | Should -Be 'Completed'
        }
    }

    It '-Debug shows the errno of a failed write' {
        $r = Invoke-Isolated @"
`$DebugPreference = 'Continue'
`$null = New-KataCgroup -Path '$Root/dbg' -WarningAction SilentlyContinue
Set-KataCgroupResource -Path '$Root/dbg' -Resources '{"cpu":{"realtimeRuntime":999999999}}'
Remove-KataCgroup -Path '$Root/dbg'
"@
        # A realtime runtime above the period is refused by the kernel (EINVAL) where it has realtime group
        # scheduling; a kernel without CONFIG_RT_GROUP_SCHED has no cpu.rt_runtime_us (ENOENT). Either way the write
        # fails, which is what this shows; the file on the cpu root says which errno to expect.
        $errno = if (Test-Path ((Get-KcControllerMount cpu) + '/cpu.rt_runtime_us')) { 'EINVAL' } else { 'ENOENT' }
        ($r.Debug.Message -join "`n") | Should -Match "cpu\.rt_runtime_us = 999999999: $errno"
        $r.Errors.FullyQualifiedErrorId | Should -Contain 'CgroupWriteFailed,KataCgroups.PowerShell.Commands.SetKataCgroupResourceCommand'
    }
}
