# What a user reads at the prompt: tab completion and what a bad value says, one way to show each value in every
# view, and streams that say each thing once. Real cgroups under a test root.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:ModulePath = Get-KcModulePath
    Import-Module $ModulePath -Force

    # Runs a script in a fresh runspace with the module; returns its output and the messages of each stream.
    function Invoke-Isolated([string] $Script) {
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddScript("Import-Module '$ModulePath'`n" + $Script)
            $out = $ps.Invoke()
            [pscustomobject]@{
                Output = $out
                Warnings = @($ps.Streams.Warning.Message)
                Verbose = @($ps.Streams.Verbose.Message)
                Errors = @($ps.Streams.Error)
            }
        }
        finally { $ps.Dispose() }
    }
    function Complete([string] $Line) {
        (TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches
    }
    # The hypervisor nodes this host lacks, from the preflight.
    function Get-MissingNode {
        Get-KcHostCheck | Where-Object { $_.Check -like 'Device:/dev/*' -and $_.Status -ne 'Pass' } | ForEach-Object { $_.Check.Substring('Device:'.Length) }
    }
}

AfterAll { Clear-KcTestState }

Describe 'Completion and validation' {
    BeforeAll {
        $script:Root = New-KcTestRoot
        $script:Cg = New-KataCgroup -Path "$Root/pod1/sandbox1" -WarningAction SilentlyContinue
    }
    AfterAll { Clear-KcTestState }

    It '-Path with an empty word offers the Kata cgroups on the host, as the path that resolves back to each' {
        $m = @(Complete 'Get-KataCgroup -Path ')
        $m.CompletionText | Should -Contain "$Root/pod1/sandbox1" -Because 'a Kata cgroup outside /vc is offered too'
        ($m | Where-Object CompletionText -EQ "$Root/pod1/sandbox1").ToolTip | Should -Be "Kata cgroup $Root/pod1/kata_sandbox1"
        (Get-KataCgroup -Path "$Root/pod1/sandbox1").CgroupPath | Should -Be $Cg.CgroupPath
        (@(Complete 'Remove-KataCgroup -Path ').CompletionText) | Should -Contain "$Root/pod1/sandbox1"
    }

    It '-Controller offers the host''s controllers, and an unknown one is ControllerNotFound' {
        $host_ = @(Get-KataCgroupPath -Path $Cg.Path).Controller | Select-Object -Unique
        $offered = @(Complete "Get-KataCgroupPath -Path $($Cg.Path) -Controller ").CompletionText
        $offered | Sort-Object | Should -Be ($host_ | Sort-Object)
        (Complete "Get-KataCgroupPath -Path $($Cg.Path) -Controller mem").CompletionText | Should -Be 'memory'
        { Get-KataCgroupPath -Path $Cg.Path -Controller memroy -ErrorAction Stop } |
            Should -Throw -ErrorId 'ControllerNotFound,KataCgroups.PowerShell.Commands.GetKataCgroupPathCommand' -ExpectedMessage "*'memroy' is not a controller of this host*memory*"
        @(Get-KataCgroupPath -Path $Cg.Path -Controller Memory).Count | Should -Be 1 -Because 'a known name still matches, whatever its case'
    }

    It '-Access offers the r, w, m combinations' {
        (Complete "Add-KataCgroupDevice -Path x -DevicePath /dev/null -Access ").CompletionText | Should -Be 'rwm', 'rw', 'rm', 'wm', 'r', 'w', 'm'
        (Complete "Remove-KataCgroupDevice -Path x -Type c -Major 1 -Minor 3 -Access r").CompletionText | Should -Be 'rwm', 'rw', 'rm', 'r'
    }

    It 'Add-KataCgroupProcess -Id offers process ids with their names, as Stop-Process -Id does' {
        $sleep = Start-KcSleep
        $m = @(Complete "Add-KataCgroupProcess -Path $($Cg.Path) -Id $($sleep.Id)")
        $hit = $m | Where-Object CompletionText -EQ "$($sleep.Id)"
        $hit | Should -Not -BeNullOrEmpty
        $hit.ListItemText | Should -Be "$($sleep.Id) - sleep"
        $theirs = (TabExpansion2 -inputScript "Stop-Process -Id $($sleep.Id)" -cursorColumn ("Stop-Process -Id $($sleep.Id)").Length).CompletionMatches |
            Where-Object CompletionText -EQ "$($sleep.Id)"
        $hit.ListItemText | Should -Be $theirs.ListItemText
        Stop-KcProcess
    }
}

Describe 'Less noise' {
    BeforeAll { $script:Root = New-KcTestRoot }
    AfterAll { Clear-KcTestState }

    It 'warns about a missing hypervisor device node once per runspace, and says it in -Verbose every time' {
        $missing = @(Get-MissingNode)
        if (-not $missing) { Set-ItResult -Skipped -Because 'host lacks no hypervisor device node (Test-KataCgroupHost Device:/dev/* all pass)'; return }
        $node = [regex]::Escape($missing[0])
        $r = Invoke-Isolated @"
New-KataCgroup -Path '$Root/a' -WhatIf
New-KataCgroup -Path '$Root/b' -WhatIf
New-KataCgroup -Path '$Root/c' -WhatIf -Verbose
"@
        $r.Errors | Should -BeNullOrEmpty
        @($r.Warnings -match $node).Count | Should -Be 1 -Because 'three creates in one runspace warn once'
        @($r.Verbose -match $node).Count | Should -Be 1 -Because 'the -Verbose create says it again'
        # A new runspace is told again.
        $again = Invoke-Isolated "New-KataCgroup -Path '$Root/d' -WhatIf"
        @($again.Warnings -match $node).Count | Should -Be 1
    }

    It '-WhatIf on a v1 host lists no conversion that keeps the number (cpu.shares 1024 → cpu.shares 1024)' {
        Skip-KcBecause (Get-KcMissingCgroupMode Legacy, Hybrid)
        $text = Invoke-KcWithTranscript { New-KataCgroup -Path "$Root/w" -CpuShares 1024 -MemoryLimit 4096 -PidsLimit 10 -WhatIf -WarningAction SilentlyContinue }
        $text | Should -Match 'memory\.limit_in_bytes = 4096' -Because 'the write itself is listed'
        $text | Should -Not -Match '\(from\)' -Because 'no value changed on the way to its v1 file'
    }

    It '-Verbose on a create says each write once' {
        $out = New-KataCgroup -Path "$Root/v" -MemoryLimit 64MB -PidsLimit 10 -CpuShares 512 -Verbose 4>&1 3>&1
        $cg = $out | Where-Object { $_ -is [KataCgroups.PowerShell.KataCgroup] }
        $cg | Should -Not -BeNullOrEmpty
        $verbose = @($out | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message)
        $writes = @($verbose -match '^write ')
        $writes.Count | Should -BeGreaterThan 3
        foreach ($w in $writes) {
            # the write, and nothing else, names this file with this value
            $fileAndValue = $w.Substring('write '.Length)
            @($verbose | Where-Object { $_.Contains($fileAndValue) }).Count | Should -Be 1 -Because "'$fileAndValue' is said once"
        }
        $cg | Remove-KataCgroup
    }

    It 'Add-KataCgroupDevice -Verbose of a rule that is already allowed says so and writes nothing' {
        Skip-KcUnlessCapability DeviceControl
        $cg = New-KataCgroup -Path "$Root/dev" -WarningAction SilentlyContinue
        $before = Get-KcCgroupFile devices $cg.CgroupPath devices.list
        $verbose = @($cg | Add-KataCgroupDevice -Type c -Major 1 -Minor 3 -Verbose 4>&1 | ForEach-Object Message)
        ($verbose -join "`n") | Should -Match "'c 1:3 rwm' is already allowed"
        @($verbose -match '^write ').Count | Should -Be 0 -Because 'nothing changes, so nothing is written'
        @($verbose -match 'devices\.allow').Count | Should -Be 0
        Get-KcCgroupFile devices $cg.CgroupPath devices.list | Should -Be $before
        # -WhatIf says the same
        $whatIf = Invoke-KcWithTranscript { $cg | Add-KataCgroupDevice -Type c -Major 1 -Minor 3 -WhatIf }
        $whatIf | Should -Match 'nothing to write'
        $cg | Remove-KataCgroup
    }
}

Describe 'One way to show each value' {
    BeforeAll {
        $script:Root = New-KcTestRoot
        # A 4 KiB limit, unlimited swap and reservation, a task limit, and one process.
        $script:Cg = New-KataCgroup -Path "$Root/sb" -MemoryLimit 4096 -MemorySwap -1 -MemoryReservation -1 -PidsLimit 10 -WarningAction SilentlyContinue
        $script:Sleep = (Start-KcSleep).Id
        $script:Cg = $Cg | Add-KataCgroupProcess -Id $Sleep -PassThru
        function Get-ListValue([object] $Object, [string] $Name) {
            $line = ($Object | Format-List | Out-String -Width 300) -split "`n" | Where-Object { $_ -match "^$Name\s+:" }
            ($line -replace "^$Name\s+:\s?", '').TrimEnd()
        }
        # The table row of $Object: CgroupPath, State, Pids, MemoryLimit, CpuShares, CpuQuota, PidsLimit.
        function Get-TableRow([object] $Object) {
            @(($Object | Format-Table | Out-String -Width 300) -split "`n" | Where-Object { $_ -match '\S' })[2].Trim()
        }
    }
    AfterAll {
        Stop-KcProcess
        Clear-KcTestState
    }

    It 'a 4096-byte limit is 4 KiB in the table and the list (not 0 MiB)' {
        Get-TableRow $Cg | Should -Match '\s4 KiB\s+1024\s+max\s+10$'
        Get-ListValue $Cg MemoryLimit | Should -Be '4 KiB'
    }

    It 'unlimited is max for every limit in the list view, never -1' {
        foreach ($name in 'MemorySwap', 'MemoryReservation') {
            $Cg.$name | Should -Be -1 -Because "the raw $name is -1 (unlimited)"
            Get-ListValue $Cg $name | Should -Be 'max' -Because "$name is unlimited"
        }
        ($Cg | Format-List | Out-String -Width 300) | Should -Not -Match ':\s+-1\s*$'
    }

    It 'Pids shows the process ids in both views' {
        Get-ListValue $Cg Pids | Should -Be "$Sleep"
        Get-TableRow $Cg | Should -Match "\sComplete\s+$Sleep\s+4 KiB\s"
    }

    It 'a stats sample shows bytes the same way' {
        $stat = Get-KataCgroupStat -Path $Cg.Path
        Get-ListValue $stat MemoryLimitBytes | Should -Be '4 KiB'
        $stat.MemoryLimitBytes | Should -Be 4096 -Because 'the property stays raw'
    }

    It 'keeps the raw numbers on the objects for scripts, and the same display after remoting' {
        $Cg.MemoryLimit | Should -BeOfType [long]
        $Cg.MemoryLimit | Should -Be 4096
        $Cg.PidsLimit | Should -Be 10
        $Cg.Pids | Should -Be @($Sleep)
        $copy = [System.Management.Automation.PSSerializer]::Deserialize([System.Management.Automation.PSSerializer]::Serialize($Cg))
        Get-ListValue $copy MemoryLimit | Should -Be '4 KiB'
        Get-TableRow $copy | Should -Be (Get-TableRow $Cg)
    }
}
