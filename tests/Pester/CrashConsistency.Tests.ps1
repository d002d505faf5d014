# Crash consistency on this host's real cgroupfs: a child pwsh is SIGKILLed at a chosen point of New-KataCgroup or
# Remove-KataCgroup (the engine's KATACGROUPS_TEST_CRASH_AT hook, inert unless set: src/KataCgroups/Drivers/CreateMark.cs),
# or a half-removed cgroup is made by hand; then Get, New, Add, Set and Remove must each tell the cgroup is unfinished.
# Processes left in one hierarchy only are counted and moved. Every case removes what it made (Clear-KcTestState).

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:ModulePath = Get-KcModulePath
    Import-Module $ModulePath -Force
    function Invoke-KcCrashedChild([string] $At, [string] $Command) {
        $child = Start-KcChildPwsh $Command -Environment @{ KATACGROUPS_TEST_CRASH_AT = $At } -TempDirectory "$TestDrive"
        if (-not $child.WaitForExit(60000)) { $child.Kill(); throw "the child pwsh (crash point $At) did not end within 60 s" }
        $child.ExitCode
    }
}

Describe 'A create killed half-way' {
    BeforeEach { $Root = New-KcTestRoot }
    AfterEach { Clear-KcTestState }

    It 'killed at <At>: listed Unfinished; New says CgroupUnfinished, Add refuses, New -Force completes it' -ForEach @(
        @{ At = 'create:marked' }, @{ At = 'create:dirs' }, @{ At = 'create:written' }, @{ At = 'create:moved' }
    ) {
        $sleep = Start-KcSleep
        $path = "$Root/pod/sb"
        $code = Invoke-KcCrashedChild $At "New-KataCgroup -Path '$path' -PidsLimit 24 -MemoryLimit 64MB -ProcessId $($sleep.Id) -WarningAction SilentlyContinue"
        $code | Should -Be 137 -Because "the engine kills the child at $At"

        $got = Get-KataCgroup -Path $path
        $got.State | Should -Be 'Unfinished'
        $listed = @(Get-KataCgroup -Root $Root)
        $listed.CgroupPath | Should -Be @("$Root/pod/kata_sb")
        $listed[0].State | Should -Be 'Unfinished'
        if ($At -eq 'create:dirs') {
            # the case that motivated the mark: every directory there, and the devices leaf still allows everything
            $got.MissingIn | Should -BeNullOrEmpty
            Get-KcCgroupFile devices $got.CgroupPath devices.list | Should -Be 'a *:* rwm'
        }

        { New-KataCgroup -Path $path -PidsLimit 24 -ErrorAction Stop -WarningAction SilentlyContinue } |
            Should -Throw -ErrorId 'CgroupUnfinished,KataCgroups.PowerShell.Commands.NewKataCgroupCommand'
        $other = Start-KcSleep
        { Add-KataCgroupProcess -Path $path -Id $other.Id -ErrorAction Stop } |
            Should -Throw -ErrorId 'CgroupUnfinished,KataCgroups.PowerShell.Commands.AddKataCgroupProcessCommand'
        foreach ($line in Get-KcProcessCgroup $other.Id) { $line.Path | Should -Not -BeLike '*kata_sb*' }

        $done = New-KataCgroup -Path $path -PidsLimit 24 -MemoryLimit 64MB -ProcessId $sleep.Id -Force -WarningVariable w -WarningAction SilentlyContinue
        ($w -join "`n") | Should -Match 'completing cgroup'
        $done.State | Should -Be 'Complete'
        $done.MissingIn | Should -BeNullOrEmpty
        $done.PidsLimit | Should -Be 24
        $done.MemoryLimit | Should -Be 64MB
        $done.Pids | Should -Be @($sleep.Id)
        Get-KcCgroupFile devices $done.CgroupPath devices.list | Should -Not -Match '^a \*:\* rwm$'
        (Get-KataCgroup -Path $path).State | Should -Be 'Complete'
        { New-KataCgroup -Path $path -Force -ErrorAction Stop -WarningAction SilentlyContinue } |
            Should -Throw -ErrorId 'CgroupAlreadyExists,KataCgroups.PowerShell.Commands.NewKataCgroupCommand'

        Get-KataCgroup -Root $Root | Remove-KataCgroup
        Get-KcExistingDirectory "$Root/pod/kata_sb" | Should -BeNullOrEmpty
        $sleep.HasExited | Should -BeFalse -Because 'Remove moves the process out, it does not kill it'
    }

    It 'Add -Force moves a process into an unfinished cgroup with a warning; Set and Suspend warn' {
        $path = "$Root/sb"
        Invoke-KcCrashedChild 'create:written' "New-KataCgroup -Path '$path' -PidsLimit 24 -WarningAction SilentlyContinue" | Should -Be 137
        $sleep = Start-KcSleep
        $out = Add-KataCgroupProcess -Path $path -Id $sleep.Id -Force -PassThru -WarningVariable w -WarningAction SilentlyContinue
        ($w -join "`n") | Should -Match 'unfinished'
        $out.Pids | Should -Be @($sleep.Id)

        Set-KataCgroupResource -Path $path -PidsLimit 30 -WarningVariable w2 -WarningAction SilentlyContinue
        ($w2 -join "`n") | Should -Match 'unfinished.*trusted\.katacgroups\.creating'
        Get-KcCgroupFile pids (Get-KataCgroup -Path $path).CgroupPath pids.max | Should -Be '30'
        if (Test-KcCapability Freezer) {
            Suspend-KataCgroup -Path $path -WarningVariable w3 -WarningAction SilentlyContinue
            ($w3 -join "`n") | Should -Match 'unfinished'
            Resume-KataCgroup -Path $path -WarningAction SilentlyContinue
        }
        Remove-KataCgroup -Path $path
        Get-KcExistingDirectory "$Root/kata_sb" | Should -BeNullOrEmpty
    }
}

Describe 'A removal killed half-way, or finished by hand' {
    BeforeEach { $Root = New-KcTestRoot }
    AfterEach { Clear-KcTestState }

    It 'the cpuset directory removed by hand (the one the listing used to walk): Get -Root still lists it, Unfinished, and Remove finishes' {
        if (-not (Get-KcHierarchy | Where-Object { 'cpuset' -in $_.Controllers })) { Set-ItResult -Skipped -Because 'no v1 cpuset hierarchy on this host'; return }
        $cg = New-KataCgroup -Path "$Root/d/a" -PidsLimit 16 -WarningAction SilentlyContinue
        $firstName = 'cpuset'
        [IO.Directory]::Delete((Get-KcControllerMount cpuset) + $cg.CgroupPath)
        (Get-KataCgroup -Path "$Root/d/a").MissingIn | Should -Be @('cpuset')

        $listed = @(Get-KataCgroup -Root "$Root/d")
        $listed.CgroupPath | Should -Be @($cg.CgroupPath)
        $listed[0].State | Should -Be 'Unfinished'
        $listed[0].MissingIn | Should -Contain $firstName
        Set-KataCgroupResource -Path "$Root/d/a" -PidsLimit 20 -WarningVariable w -WarningAction SilentlyContinue
        ($w -join "`n") | Should -Match "missing in: .*$([regex]::Escape($firstName))"

        $listed | Remove-KataCgroup
        Get-KcExistingDirectory $cg.CgroupPath | Should -BeNullOrEmpty
    }

    It 'killed after its first rmdir: the rest is listed, Unfinished, and removable' {
        $sleep = Start-KcSleep
        $cg = New-KataCgroup -Path "$Root/d/b" -ProcessId $sleep.Id -WarningAction SilentlyContinue
        Invoke-KcCrashedChild 'remove:partial' "Remove-KataCgroup -Path '$Root/d/b'" | Should -Be 137
        $listed = @(Get-KataCgroup -Root "$Root/d")
        $listed.CgroupPath | Should -Be @($cg.CgroupPath)
        $listed[0].State | Should -Be 'Unfinished'
        $listed[0].MissingIn | Should -Not -BeNullOrEmpty
        $listed | Remove-KataCgroup
        Get-KcExistingDirectory $cg.CgroupPath | Should -BeNullOrEmpty
        $sleep.HasExited | Should -BeFalse
    }
}

Describe 'A Remove -Kill killed between its freeze and its thaw' {
    BeforeEach { $Root = New-KcTestRoot }
    AfterEach { Clear-KcTestState }

    It 'left FROZEN with its process in it: Get says why (State Unfinished, StateReason), New -Force refuses, Set warns, and Remove (-Kill: <Kill>) finishes' -ForEach @(
        @{ Kill = $false }, @{ Kill = $true }
    ) {
        Skip-KcUnlessCapability Freezer
        $sleep = Start-KcSleep
        $cg = New-KataCgroup -Path "$Root/d/f" -ProcessId $sleep.Id -WarningAction SilentlyContinue
        Invoke-KcCrashedChild 'remove:frozen' "Remove-KataCgroup -Path '$Root/d/f' -Kill" | Should -Be 137

        $got = Get-KataCgroup -Path "$Root/d/f"
        $got.FreezerState | Should -Be 'FROZEN'
        $got.Pids | Should -Be @($sleep.Id)
        $got.State | Should -Be 'Unfinished'
        $got.StateReason | Should -Match 'Remove-KataCgroup -Kill did not finish.*frozen.*Remove-KataCgroup finishes'
        ($got | Format-List | Out-String) | Should -Match 'StateReason'
        (@(Get-KataCgroup -Root $Root) | Where-Object CgroupPath -EQ $cg.CgroupPath).State | Should -Be 'Unfinished'
        { New-KataCgroup -Path "$Root/d/f" -Force -ErrorAction Stop -WarningAction SilentlyContinue } |
            Should -Throw -ErrorId 'CgroupUnfinished,KataCgroups.PowerShell.Commands.NewKataCgroupCommand'
        Set-KataCgroupResource -Path "$Root/d/f" -PidsLimit 20 -WarningVariable w -WarningAction SilentlyContinue
        ($w -join "`n") | Should -Match 'unfinished.*trusted\.katacgroups\.killing'

        $out = Remove-KataCgroup -Path "$Root/d/f" -Kill:$Kill -PassThru
        Get-KcExistingDirectory $cg.CgroupPath | Should -BeNullOrEmpty
        if ($Kill) {
            $out.KilledProcesses | Should -Be 1
            $sleep.WaitForExit(10000) | Should -BeTrue -Because 'the finished -Kill ends it'
        }
        else {
            $out.MovedProcesses | Should -Be 1
            # moved out of the frozen cgroup into a thawed parent, the process is thawed (legacy_freezer.c freezer_attach)
            $state = [System.IO.File]::ReadAllText((Get-KcControllerMount freezer) + "$Root/d/freezer.state").Trim()
            $state | Should -Be 'THAWED'
            $sleep.HasExited | Should -BeFalse
            (Get-KcProcessCgroup $sleep.Id | Where-Object Controllers -EQ 'freezer').Path | Should -Be "$Root/d"
        }
    }
}

Describe 'Processes in one hierarchy only' {
    BeforeEach { $Root = New-KcTestRoot }
    AfterEach { Clear-KcTestState }

    It 'a process only in the <Name> leaf is in Pids, counted by Remove -WhatIf, and moved out by Remove' -ForEach @(
        @{ Name = 'unified' }, @{ Name = 'memory' }
    ) {
        $mount = Get-KcHierarchy | Where-Object { if ($Name -eq 'unified') { $_.IsUnified } else { $Name -in $_.Controllers } } | Select-Object -First 1
        if (-not $mount) { Set-ItResult -Skipped -Because "no $Name hierarchy on this host"; return }
        $cg = New-KataCgroup -Path "$Root/p/c" -WarningAction SilentlyContinue
        $sleep = Start-KcSleep
        [IO.File]::WriteAllText($mount.MountPoint + $cg.CgroupPath + '/cgroup.procs', "$($sleep.Id)")

        (Get-KataCgroup -Path "$Root/p/c").Pids | Should -Be @($sleep.Id)
        (Get-KataCgroup -Root $Root).Pids | Should -Be @($sleep.Id)
        $text = Invoke-KcWithTranscript { Remove-KataCgroup -Path "$Root/p/c" -WhatIf }
        $text | Should -Match 'move 1 process\(es\)'

        Remove-KataCgroup -Path "$Root/p/c"
        $sleep.HasExited | Should -BeFalse
        Get-KcExistingDirectory $cg.CgroupPath | Should -BeNullOrEmpty
    }

    It 'listing 40 cgroups (where the pids come from one pass over /proc): a process only in one unified leaf is in its Pids' {
        $unified = Get-KcHierarchy | Where-Object IsUnified | Select-Object -First 1
        if (-not $unified) { Set-ItResult -Skipped -Because 'no cgroup2 hierarchy on this host'; return }
        $cgs = foreach ($i in 1..40) { New-KataCgroup -Path "$Root/many/c$i" -WarningAction SilentlyContinue }
        $sleep = Start-KcSleep
        [IO.File]::WriteAllText($unified.MountPoint + $cgs[16].CgroupPath + '/cgroup.procs', "$($sleep.Id)")
        $listed = @(Get-KataCgroup -Root "$Root/many")
        $listed.Count | Should -Be 40
        ($listed | Where-Object CgroupPath -EQ $cgs[16].CgroupPath).Pids | Should -Be @($sleep.Id)
        @($listed | Where-Object { $_.Pids.Count -gt 0 }).Count | Should -Be 1
        Get-KataCgroup -Root "$Root/many" | Remove-KataCgroup
        $sleep.HasExited | Should -BeFalse
        Get-KcExistingDirectory "$Root/many" | Where-Object { [IO.Directory]::GetDirectories($_).Count } | Should -BeNullOrEmpty
    }
}
