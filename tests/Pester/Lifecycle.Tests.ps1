# A sandbox cgroup's life with a real process: create, join (both pipeline shapes), update, read back, list,
# -WhatIf, remove. Process membership is checked in /proc/<pid>/cgroup, cgroup state in /sys/fs/cgroup.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-KcModulePath) -Force

    # Asserts that /proc/<pid>/cgroup puts the process at $CgroupPath in every hierarchy this host mounts:
    # each v1 hierarchy (cpu and cpuacct apart or comounted, cpuset, memory, devices, freezer, blkio, pids,
    # name=systemd… as this host has them) and, where a cgroup2 tree is mounted, the unified 0:: line.
    function Assert-ProcessIn([int] $ProcessId, [string] $CgroupPath) {
        $lines = @(Get-KcProcessCgroup $ProcessId)
        $expected = @(Get-KcExpectedProcessLine)
        $expected | Should -Not -BeNullOrEmpty
        # the preflight's mode, not the mount table these lines come from, says whether a 0:: line belongs
        if ((Get-KcHostCheck CgroupMode).Value -ne 'Legacy') { $expected | Should -Contain '' } else { $expected | Should -Not -Contain '' }
        foreach ($hierarchy in $expected) {
            $line = @($lines | Where-Object Controllers -EQ $hierarchy)
            $line.Count | Should -Be 1 -Because "/proc/$ProcessId/cgroup has one line for hierarchy '$hierarchy'"
            $line[0].Path | Should -BeExactly $CgroupPath -Because "process $ProcessId is in $CgroupPath in hierarchy '$hierarchy'"
        }
    }
}

Describe 'A sandbox cgroup with a real process' {
    BeforeEach {
        $Root = New-KcTestRoot
        $Path = "$Root/pod1/sandbox"
        $Cg = New-KataCgroup -Path $Path -MemoryLimit 256MB -PidsLimit 32 -WarningAction SilentlyContinue
        $Sleep = Start-KcSleep
    }
    AfterEach {
        Clear-KcTestState
    }

    It 'the process joins every hierarchy through $cg | Add-KataCgroupProcess -Id' {
        $Cg | Add-KataCgroupProcess -Id $Sleep.Id
        Assert-ProcessIn $Sleep.Id "$Root/pod1/kata_sandbox"
    }

    It 'the process joins every hierarchy through Get-Process | Add-KataCgroupProcess -Path' {
        Get-Process -Id $Sleep.Id | Add-KataCgroupProcess -Path $Path
        Assert-ProcessIn $Sleep.Id "$Root/pod1/kata_sandbox"
    }

    It 'each cgroup.procs lists the process' {
        $Cg | Add-KataCgroupProcess -Id $Sleep.Id
        foreach ($dir in Get-KcCgroupDirectory $Cg.CgroupPath) {
            (Get-Content "$dir/cgroup.procs") -split "`n" | Should -Contain "$($Sleep.Id)"
        }
    }

    It 'Add-KataCgroupProcess -PassThru emits the cgroup with the process in it' {
        $out = @(Add-KataCgroupProcess -Path $Path -Id $Sleep.Id -PassThru)
        $out.Count | Should -Be 1
        $out[0].CgroupPath | Should -Be $Cg.CgroupPath
        $out[0].Pids | Should -Contain $Sleep.Id
    }

    It 'Remove-KataCgroup moves the process to the parent cgroup in every hierarchy and removes every directory' {
        $Cg | Add-KataCgroupProcess -Id $Sleep.Id
        $Cg | Remove-KataCgroup
        Assert-ProcessIn $Sleep.Id "$Root/pod1"
        $Sleep.HasExited | Should -BeFalse -Because 'Remove-KataCgroup without -Kill moves processes, it does not kill them'
        foreach ($dir in Get-KcCgroupDirectory $Cg.CgroupPath) {
            $dir | Should -Not -Exist
        }
        foreach ($dir in Get-KcCgroupDirectory "$Root/pod1") {
            $dir | Should -Exist -Because 'only the cgroup itself is removed, not its parents'
        }
    }

    It 'Remove-KataCgroup moves a process only where it is in the cgroup: one elsewhere in memory stays there, one only in memory is moved there' {
        # Remove reads the devices hierarchy's cgroup.procs once and, per process, /proc/<pid>/cgroup for the
        # hierarchies it shares with the cgroup; whatever that misses keeps a directory busy and is moved then.
        $Cg | Add-KataCgroupProcess -Id $Sleep.Id
        $memory = Get-KcControllerMount 'memory'
        [IO.Directory]::CreateDirectory("$memory$Root/other") | Out-Null
        [IO.File]::WriteAllText("$memory$Root/other/cgroup.procs", "$($Sleep.Id)")   # in the cgroup everywhere but memory
        $onlyMemory = Start-KcSleep
        [IO.File]::WriteAllText("$memory$($Cg.CgroupPath)/cgroup.procs", "$($onlyMemory.Id)")   # in the cgroup in memory only

        $Cg | Remove-KataCgroup

        $first = @(Get-KcProcessCgroup $Sleep.Id)
        ($first | Where-Object Controllers -EQ 'memory').Path | Should -BeExactly "$Root/other" -Because 'it was not in the cgroup in memory: not touched there'
        ($first | Where-Object Controllers -EQ 'devices').Path | Should -BeExactly "$Root/pod1"
        # the 0:: line is the unified tree the module manages where one is mounted; with none (Legacy) it is the
        # kernel's default hierarchy, which the module never writes to
        if ((Get-KcHostCheck CgroupMode).Value -ne 'Legacy') { ($first | Where-Object Controllers -EQ '').Path | Should -BeExactly "$Root/pod1" }
        else { ($first | Where-Object Controllers -EQ '').Path | Should -Not -BeLike "$Root*" }
        $second = @(Get-KcProcessCgroup $onlyMemory.Id)
        ($second | Where-Object Controllers -EQ 'memory').Path | Should -BeExactly "$Root/pod1"
        ($second | Where-Object Controllers -EQ 'devices').Path | Should -Not -BeLike "$Root*" -Because 'it was never in the cgroup in devices'
        foreach ($dir in Get-KcCgroupDirectory $Cg.CgroupPath) { $dir | Should -Not -Exist }
    }

    It 'Remove-KataCgroup empties and removes child cgroups made inside the cgroup too' {
        # A nested cgroup in every hierarchy (as a VMM might make), with the process in it.
        foreach ($h in Get-KcHierarchy) {
            $inner = $h.MountPoint + $Cg.CgroupPath + '/inner'
            $null = New-Item -ItemType Directory -Path $inner
            if ('cpuset' -in $h.Controllers) {
                # a new v1 cpuset is empty and refuses tasks until cpus/mems are set
                foreach ($f in 'cpuset.cpus', 'cpuset.mems') {
                    Set-Content -LiteralPath "$inner/$f" -Value (Get-Content -LiteralPath ($h.MountPoint + $Cg.CgroupPath + "/$f") -Raw).Trim() -NoNewline
                }
            }
            Set-Content -LiteralPath "$inner/cgroup.procs" -Value "$($Sleep.Id)" -NoNewline
        }
        Assert-ProcessIn $Sleep.Id "$($Cg.CgroupPath)/inner"
        Remove-KataCgroup -Path $Path
        Assert-ProcessIn $Sleep.Id "$Root/pod1"
        foreach ($dir in Get-KcCgroupDirectory $Cg.CgroupPath) {
            "$dir/inner" | Should -Not -Exist
            $dir | Should -Not -Exist
        }
    }

    It 'Remove-KataCgroup -Kill kills the processes and removes every directory' {
        $Cg | Add-KataCgroupProcess -Id $Sleep.Id
        Remove-KataCgroup -Path $Path -Kill
        $Sleep.WaitForExit(5000) | Should -BeTrue
        foreach ($dir in Get-KcCgroupDirectory $Cg.CgroupPath) {
            $dir | Should -Not -Exist
        }
    }

    It 'a half-removed cgroup is reported in MissingIn and Remove-KataCgroup finishes the job' {
        # The unified tree is what a cleanup most often misses on a hybrid host; a host without one (Legacy) loses
        # the pids hierarchy instead, alone or comounted.
        $gone = if ((Get-KcHostCheck CgroupMode).Value -ne 'Legacy') { Get-KcHierarchy | Where-Object IsUnified | Select-Object -First 1 }
        else { Get-KcHierarchy | Where-Object { 'pids' -in $_.Controllers } | Select-Object -First 1 }
        $name = if ($gone.IsUnified) { 'unified' } else { $gone.Controllers -join ',' }
        [System.IO.Directory]::Delete($gone.MountPoint + $Cg.CgroupPath)
        $got = Get-KataCgroup -Path $Path
        $got.MissingIn | Should -Be @($name)
        foreach ($c in $(if ($gone.IsUnified) { 'unified' } else { $gone.Controllers })) { $got.Controllers | Should -Not -Contain $c }
        Remove-KataCgroup -Path $Path
        Get-KcExistingDirectory $Cg.CgroupPath | Should -BeNullOrEmpty
    }

    It 'a failed New-KataCgroup rolls back only what it created: existing parents and siblings stay' {
        # A realtime runtime above the period: the kernel refuses it after the directories were made (EINVAL; ENOENT
        # where a kernel without CONFIG_RT_GROUP_SCHED has no cpu.rt_runtime_us: a failed write all the same).
        { New-KataCgroup -Path "$Root/pod1/new/sb2" -Resources '{"cpu":{"realtimeRuntime":999999999}}' -ErrorAction Stop -WarningAction SilentlyContinue } |
            Should -Throw -ErrorId 'CgroupWriteFailed,KataCgroups.PowerShell.Commands.NewKataCgroupCommand'
        Get-KcExistingDirectory "$Root/pod1/new" | Should -BeNullOrEmpty
        foreach ($dir in Get-KcCgroupDirectory $Cg.CgroupPath) { $dir | Should -Exist }
        Get-KcCgroupFile memory $Cg.CgroupPath memory.limit_in_bytes | Should -BeExactly '268435456'
    }

    It 'Set-KataCgroupResource -MemoryLimit 512MB -PassThru changes memory.limit_in_bytes and leaves the rest' {
        $out = @(Set-KataCgroupResource -Path $Path -MemoryLimit 512MB -PassThru)
        Get-KcCgroupFile memory $Cg.CgroupPath memory.limit_in_bytes | Should -BeExactly '536870912'
        Get-KcCgroupFile pids $Cg.CgroupPath pids.max | Should -BeExactly '32'
        $out.Count | Should -Be 1
        $out[0].MemoryLimit | Should -Be 536870912
        $out[0].PidsLimit | Should -Be 32
    }

    It 'Set-KataCgroupResource binds -Path from the cgroup object and emits nothing without -PassThru' {
        $out = @($Cg | Set-KataCgroupResource -CpuShares 256 -MemoryLimit '1g')
        $out.Count | Should -Be 0
        Get-KcCgroupFile cpu $Cg.CgroupPath cpu.shares | Should -BeExactly '256'
        Get-KcCgroupFile memory $Cg.CgroupPath memory.limit_in_bytes | Should -BeExactly '1073741824'
    }

    It 'Get-KataCgroup -Path re-loads limits and pids from the host' {
        Add-KataCgroupProcess -Path $Path -Id $Sleep.Id
        # change a value behind the module's back: Get-KataCgroup must read the host, not remember
        Set-Content -LiteralPath ((Get-KcControllerMount pids) + $Cg.CgroupPath + '/pids.max') -Value '48' -NoNewline
        $got = Get-KataCgroup -Path $Path
        $got.Path | Should -Be $Path
        $got.CgroupPath | Should -Be "$Root/pod1/kata_sandbox"
        $got.MemoryLimit | Should -Be 268435456
        $got.PidsLimit | Should -Be 48
        $got.Pids | Should -Be @($Sleep.Id)
        $got.PidsCurrent | Should -Be 1
        $got.MissingIn | Should -BeNullOrEmpty
    }

    It 'Get-KataCgroup -Root (the test root) lists the cgroup and only the Kata ones' {
        $null = New-KataCgroup -Path "$Root/pod2/other" -WarningAction SilentlyContinue
        $list = @(Get-KataCgroup -Root $Root)
        $list.CgroupPath | Should -Be @("$Root/pod1/kata_sandbox", "$Root/pod2/kata_other")
        ($list | Where-Object CgroupPath -EQ $Cg.CgroupPath).Path | Should -Be $Path
    }

    It 'Add-KataCgroupProcess takes several Process objects from the pipeline and -PassThru emits the cgroup once' {
        $second = Start-KcSleep
        $out = @(Get-Process -Id $Sleep.Id, $second.Id | Add-KataCgroupProcess -Path $Path -PassThru)
        $out.Count | Should -Be 1
        @($out[0].Pids | Sort-Object) | Should -Be @(@($Sleep.Id, $second.Id) | Sort-Object)
        Assert-ProcessIn $second.Id $Cg.CgroupPath
    }

    It 'a deserialized cgroup object (ConvertTo-Json | ConvertFrom-Json) binds -Path by property name' {
        $copy = $Cg | ConvertTo-Json -Depth 3 | ConvertFrom-Json
        $copy | Set-KataCgroupResource -PidsLimit 40
        Get-KcCgroupFile pids $Cg.CgroupPath pids.max | Should -BeExactly '40'
        $copy | Add-KataCgroupProcess -Id $Sleep.Id
        Assert-ProcessIn $Sleep.Id $Cg.CgroupPath
    }

    It 'Get-KataCgroup -Root | Remove-KataCgroup removes every listed cgroup' {
        $null = New-KataCgroup -Path "$Root/pod2/other" -WarningAction SilentlyContinue
        Get-KataCgroup -Root $Root | Remove-KataCgroup
        @(Get-KataCgroup -Root $Root).Count | Should -Be 0
        Get-KcExistingDirectory "$Root/pod1/kata_sandbox" | Should -BeNullOrEmpty
        Get-KcExistingDirectory "$Root/pod2/kata_other" | Should -BeNullOrEmpty
    }

    It 'Set-KataCgroupResource with no values warns and changes nothing' {
        $before = Get-KcCgroupFile memory $Cg.CgroupPath memory.limit_in_bytes
        $warnings = $null
        Set-KataCgroupResource -Path $Path -WarningVariable warnings -WarningAction SilentlyContinue
        @($warnings | ForEach-Object { "$_" }) -match 'no resource values' | Should -Not -BeNullOrEmpty
        Get-KcCgroupFile memory $Cg.CgroupPath memory.limit_in_bytes | Should -BeExactly $before
    }

    It 'Set-KataCgroupResource writes the quota first when the new period is refused against the old quota' {
        # v1 CFS bandwidth is hierarchical: a child's quota/period may not exceed its parent's. With the parent at
        # 0.5 CPU and the child at 50000/100000, period 50000 alone would make the child 1.0 CPU: EINVAL. runc
        # (fs/cpu.go) then writes the quota first and the period again; so must the module.
        Set-Content -LiteralPath ((Get-KcControllerMount cpu) + "$Root/pod1/cpu.cfs_quota_us") -Value '50000' -NoNewline
        Set-KataCgroupResource -Path $Path -CpuQuota 50000
        Set-KataCgroupResource -Path $Path -CpuPeriod 50000 -CpuQuota 25000
        Get-KcCgroupFile cpu $Cg.CgroupPath cpu.cfs_period_us | Should -BeExactly '50000'
        Get-KcCgroupFile cpu $Cg.CgroupPath cpu.cfs_quota_us | Should -BeExactly '25000'
    }

    It 'Get-KataCgroupPath gives one row per controller, each an existing directory' {
        $rows = @(Get-KataCgroupPath -Path $Path)
        $expected = @(Get-KcHierarchy | ForEach-Object { if ($_.IsUnified) { 'unified' } else { $_.Controllers } })
        @($rows.Controller | Sort-Object) | Should -Be @($expected | Sort-Object)
        foreach ($row in $rows) {
            $mount = Get-KcControllerMount $row.Controller
            $row.Directory | Should -BeExactly ($mount + "$Root/pod1/kata_sandbox")
            $row.CgroupPath | Should -BeExactly "$Root/pod1/kata_sandbox"
            $row.Exists | Should -BeTrue
            $row.Directory | Should -Exist
        }
    }

    It 'Get-KataCgroupPath -Controller filters to that controller' {
        $rows = @(Get-KataCgroupPath -Path $Path -Controller memory)
        $rows.Count | Should -Be 1
        $rows[0].Directory | Should -BeExactly ((Get-KcControllerMount memory) + $Cg.CgroupPath)
    }

    It 'a pid that does not exist is a non-terminating ProcessNotFound error; the other pids are still added' {
        $missing = Get-KcFreePid
        $errors = $null
        Add-KataCgroupProcess -Path $Path -Id $missing, $Sleep.Id -ErrorVariable errors -ErrorAction SilentlyContinue
        @($errors).Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -BeExactly 'ProcessNotFound,KataCgroups.PowerShell.Commands.AddKataCgroupProcessCommand'
        $errors[0].TargetObject | Should -Be $missing
        $errors[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        Assert-ProcessIn $Sleep.Id "$Root/pod1/kata_sandbox"
    }

    It 'a pid that does not exist throws ProcessNotFound with -ErrorAction Stop' {
        { Add-KataCgroupProcess -Path $Path -Id (Get-KcFreePid) -ErrorAction Stop } |
            Should -Throw -ErrorId 'ProcessNotFound,KataCgroups.PowerShell.Commands.AddKataCgroupProcessCommand'
    }
}

Describe '-WhatIf changes nothing and prints the plan' {
    BeforeEach {
        $Root = New-KcTestRoot
    }
    AfterEach {
        Clear-KcTestState
    }

    It 'New-KataCgroup -WhatIf creates nothing and lists every file it would write' {
        $printed = Invoke-KcWithTranscript { New-KataCgroup -Path "$Root/pod1/sb" -MemoryLimit 256MB -PidsLimit 10 -WhatIf -WarningAction SilentlyContinue }
        $memory = Get-KcControllerMount memory
        $pids = Get-KcControllerMount pids
        $devices = Get-KcControllerMount devices
        $printed | Should -Match 'What if:'
        $printed | Should -Match ([regex]::Escape("Create cgroup $Root/pod1/kata_sb"))
        $printed | Should -Match ([regex]::Escape("$memory$Root/pod1/kata_sb/memory.limit_in_bytes = 268435456"))
        $printed | Should -Match ([regex]::Escape("$pids$Root/pod1/kata_sb/pids.max = 10"))
        $printed | Should -Match ([regex]::Escape("$devices$Root/pod1/kata_sb/devices.allow = b 253:* rwm"))
        Get-KcExistingDirectory $Root | Should -BeNullOrEmpty
    }

    It 'Set-KataCgroupResource -WhatIf writes nothing and prints the new value with its file' {
        $cg = New-KataCgroup -Path "$Root/pod1/sb" -MemoryLimit 256MB -WarningAction SilentlyContinue
        $printed = Invoke-KcWithTranscript { Set-KataCgroupResource -Path $cg.Path -MemoryLimit 512MB -WhatIf }
        $printed | Should -Match ([regex]::Escape((Get-KcControllerMount memory) + $cg.CgroupPath + '/memory.limit_in_bytes = 536870912'))
        Get-KcCgroupFile memory $cg.CgroupPath memory.limit_in_bytes | Should -BeExactly '268435456'
    }

    It 'Remove-KataCgroup -WhatIf removes nothing and lists the directories' {
        $cg = New-KataCgroup -Path "$Root/pod1/sb" -WarningAction SilentlyContinue
        $printed = Invoke-KcWithTranscript { $cg | Remove-KataCgroup -WhatIf }
        foreach ($dir in Get-KcCgroupDirectory $cg.CgroupPath) {
            $printed | Should -Match ([regex]::Escape($dir))
            $dir | Should -Exist
        }
    }

    It 'Add-KataCgroupProcess -WhatIf moves nothing' {
        $cg = New-KataCgroup -Path "$Root/pod1/sb" -WarningAction SilentlyContinue
        $sleep = Start-KcSleep
        $before = @(Get-KcProcessCgroup $sleep.Id).Path
        $printed = Invoke-KcWithTranscript { $cg | Add-KataCgroupProcess -Id $sleep.Id -WhatIf }
        $printed | Should -Match "$($sleep.Id)"
        @(Get-KcProcessCgroup $sleep.Id).Path | Should -Be $before
        Get-Content ((Get-KcControllerMount memory) + $cg.CgroupPath + '/cgroup.procs') | Should -BeNullOrEmpty
    }
}
