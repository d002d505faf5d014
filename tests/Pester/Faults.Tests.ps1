# Fault campaign on this host's real cgroupfs: processes that fork or exit while they are moved, a fork
# storm during Remove, a pwsh killed in the middle of New, eight runspaces racing, and a mount planted inside a
# cgroup. Each case ends with nothing left behind and no process lost.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:ModulePath = Get-KcModulePath
    Import-Module $ModulePath -Force
    $script:Tag = '0.0271828'   # the suite's sleep marker: the leak check finds any such sleep left running

    function Get-KcLeafDirectories([string] $Root) {
        foreach ($h in Get-KcHierarchy) {
            $d = $h.MountPoint + $Root
            if ([IO.Directory]::Exists($d)) { [IO.Directory]::GetDirectories($d) }
        }
    }
    $script:Exe = [Environment]::ProcessPath
    $script:Pre = @(if ([IO.Path]::GetFileNameWithoutExtension($Exe) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' })
}

Describe 'Processes that fork or exit during a move' {
    BeforeEach { $Root = New-KcTestRoot }
    AfterEach { Clear-KcTestState }

    It 'Remove moves a process that keeps forking short-lived children out, and loses it nowhere' {
        $sh = Start-KcShell "while :; do sleep 0.02 $Tag & wait; done"
        $cg = New-KataCgroup -Path "$Root/pod/forker" -ProcessId $sh.Id -WarningAction SilentlyContinue
        Start-Sleep -Milliseconds 300
        $cg | Remove-KataCgroup
        $sh.HasExited | Should -BeFalse -Because 'moving must never kill'
        foreach ($line in Get-KcProcessCgroup $sh.Id) { $line.Path | Should -Not -BeLike "*$Root/pod/kata_forker*" }
        Get-KcLeafDirectories "$Root/pod" | Should -BeNullOrEmpty
    }

    It 'a pids-limited fork storm is killed with -Kill, and the cgroup is removed' {
        # v1 has no cgroup.kill: only a freezer stops a storm from forking between the reading of cgroup.procs and
        # the signals (the preflight's CgroupKill is 'SIGKILL' without one, and a fork can outlive the kill).
        Skip-KcUnlessCapability CgroupKill
        # The storm waits half a second so it forks only once it is inside the cgroup (pids.max 40 stops it there).
        $sh = Start-KcShell "sleep 0.5; while :; do sleep 300 $Tag & done" -HideErrors
        $cg = New-KataCgroup -Path "$Root/pod/storm" -PidsLimit 40 -ProcessId $sh.Id -WarningAction SilentlyContinue
        Start-Sleep -Seconds 2
        [int](Get-KcCgroupFile pids $cg.CgroupPath pids.current) | Should -BeGreaterOrEqual 30 -Because 'the storm ran into its limit'
        $cg | Remove-KataCgroup -Kill
        $sh.WaitForExit(10000) | Should -BeTrue
        Get-KcLeafDirectories "$Root/pod" | Should -BeNullOrEmpty
        @(Find-KcTaggedProcess) | Should -BeNullOrEmpty -Because 'every sleep of the storm was killed'
    }
}

Describe 'A pwsh killed in the middle of New-KataCgroup' {
    BeforeEach { $Root = New-KcTestRoot }
    AfterEach { Clear-KcTestState }

    # Four kill points in CI; forty with KATACGROUPS_LONG=1 (build.ps1 Test -Long).
    It 'leaves nothing that Get-KataCgroup does not list and Remove-KataCgroup cannot clean (<Delay> ms)' -ForEach @(
        $delays = if ($env:KATACGROUPS_LONG -eq '1') { 0..39 | ForEach-Object { $_ * 13 } } else { 0, 37, 113, 251 }
        foreach ($d in $delays) { @{ Delay = $d } }
    ) {
        $script = "Import-Module '$ModulePath'; 1..400 | ForEach-Object { `$null = New-KataCgroup -Path ('$Root/c' + `$_) -PidsLimit 10 -MemoryLimit 64MB -WarningAction SilentlyContinue }"
        $psi = [System.Diagnostics.ProcessStartInfo]::new($Exe)
        foreach ($a in @($Pre) + @('-NoProfile', '-NonInteractive', '-Command', $script)) { $psi.ArgumentList.Add($a) }
        $psi.UseShellExecute = $false
        $psi.RedirectStandardOutput = $true
        # A SIGKILLed .NET process cannot remove its diagnostics socket: keep it in TestDrive, which Pester removes.
        $psi.Environment['TMPDIR'] = "$TestDrive"
        $child = [System.Diagnostics.Process]::Start($psi)
        Register-KcProcess $child
        # wait until it is creating, then SIGKILL it wherever it is
        $deadline = [DateTime]::UtcNow.AddSeconds(60)
        while (-not (Get-KcLeafDirectories $Root) -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 5 }
        Start-Sleep -Milliseconds $Delay
        $child.Kill()
        $child.WaitForExit(10000) | Should -BeTrue

        $found = @(Get-KataCgroup -Root $Root)
        $found.Count | Should -BeGreaterThan 0
        # every directory the killed process left is a cgroup Get-KataCgroup lists (half-made ones show MissingIn)
        $listed = $found.CgroupPath | ForEach-Object { [IO.Path]::GetFileName($_) }
        foreach ($d in Get-KcLeafDirectories $Root) { $listed | Should -Contain ([IO.Path]::GetFileName($d)) }
        $found | Remove-KataCgroup
        Get-KcLeafDirectories $Root | Should -BeNullOrEmpty
    }
}

Describe 'Eight runspaces at once' {
    BeforeEach { $Root = New-KcTestRoot }
    AfterEach { Clear-KcTestState }

    It 'create, update and remove distinct cgroups without an error' {
        $errors = 1..8 | ForEach-Object -ThrottleLimit 8 -Parallel {
            Import-Module $using:ModulePath
            foreach ($i in 1..5) {
                try {
                    $cg = New-KataCgroup -Path "$($using:Root)/r$_/c$i" -PidsLimit 20 -WarningAction SilentlyContinue -ErrorAction Stop
                    $cg | Set-KataCgroupResource -PidsLimit 30 -MemoryLimit 128MB -ErrorAction Stop
                    $cg | Remove-KataCgroup -ErrorAction Stop
                }
                catch { $_.FullyQualifiedErrorId + ': ' + $_.Exception.Message }
            }
        }
        $errors | Should -BeNullOrEmpty
        foreach ($r in 1..8) { Get-KcLeafDirectories "$Root/r$r" | Should -BeNullOrEmpty }
    }

    It 'racing for one cgroup: exactly one New wins, every Set works, and Remove leaves nothing' {
        $path = "$Root/shared/sb"
        $results = 1..8 | ForEach-Object -ThrottleLimit 8 -Parallel {
            Import-Module $using:ModulePath
            try { $null = New-KataCgroup -Path $using:path -PidsLimit 20 -WarningAction SilentlyContinue -ErrorAction Stop; 'created' }
            catch { $_.FullyQualifiedErrorId.Split(',')[0] }
        }
        @($results | Where-Object { $_ -eq 'created' }).Count | Should -Be 1
        @($results | Where-Object { $_ -ne 'created' }) | Should -Not -Contain $null
        $results | Where-Object { $_ -ne 'created' } | ForEach-Object { $_ | Should -Be 'CgroupAlreadyExists' }
        (Get-KataCgroup -Path $path).MissingIn | Should -BeNullOrEmpty -Because 'the winner made it everywhere'

        $sets = 1..8 | ForEach-Object -ThrottleLimit 8 -Parallel {
            Import-Module $using:ModulePath
            try { Set-KataCgroupResource -Path $using:path -PidsLimit (20 + $_) -ErrorAction Stop; 'ok' } catch { $_.FullyQualifiedErrorId }
        }
        $sets | Should -Be (@('ok') * 8)

        $removes = 1..8 | ForEach-Object -ThrottleLimit 8 -Parallel {
            Import-Module $using:ModulePath
            try { Remove-KataCgroup -Path $using:path -ErrorAction Stop; 'removed' } catch { $_.FullyQualifiedErrorId.Split(',')[0] }
        }
        @($removes | Where-Object { $_ -eq 'removed' }).Count | Should -BeGreaterOrEqual 1
        $removes | Where-Object { $_ -ne 'removed' } | ForEach-Object { $_ | Should -Be 'CgroupNotFound' }
        Get-KcLeafDirectories "$Root/shared" | Should -BeNullOrEmpty
    }
}

Describe 'Get-KataCgroup while another runspace removes the cgroups' {
    BeforeEach { $Root = New-KcTestRoot }
    AfterEach { Clear-KcTestState }

    It 'lists without an error: a cgroup removed under the listing is left out or shown half-gone, never a read error' {
        foreach ($i in 1..120) { $null = New-KataCgroup -Path "$Root/c$i" -PidsLimit 20 -WarningAction SilentlyContinue }
        (Get-KataCgroup -Root $Root).Count | Should -Be 120
        $done = [Collections.Concurrent.ConcurrentDictionary[string, int]]::new()
        $results = 'remove', 'list' | ForEach-Object -ThrottleLimit 2 -Parallel {
            Import-Module $using:ModulePath
            $flag = $using:done
            if ($_ -eq 'remove') {
                try { Get-KataCgroup -Root $using:Root | Remove-KataCgroup -ErrorAction Stop }
                catch { 'remove: ' + $_.FullyQualifiedErrorId + ': ' + $_.Exception.Message }
                finally { $flag['removed'] = 1 }
                return
            }
            # the listing: again and again while the other runspace removes (files vanish between open and read)
            $lists = 0
            while (-not $flag.ContainsKey('removed') -or $lists -lt 2) {
                $errs = $null
                $null = Get-KataCgroup -Root $using:Root -ErrorAction SilentlyContinue -ErrorVariable errs
                foreach ($e in $errs) { 'list: ' + $e.FullyQualifiedErrorId + ': ' + $e.Exception.Message }
                $lists++
            }
            "lists: $lists"
        }
        @($results | Where-Object { $_ -notlike 'lists: *' }) | Should -BeNullOrEmpty
        @($results | Where-Object { $_ -like 'lists: *' }).Count | Should -Be 1
        Get-KcLeafDirectories $Root | Should -BeNullOrEmpty
        Get-KataCgroup -Root $Root | Should -BeNullOrEmpty
    }
}

Describe 'A mount planted inside a cgroup makes Remove fail with an explanation, never a half-truth' {
    BeforeEach { $Root = New-KcTestRoot }
    AfterEach { Clear-KcTestState }

    It 'Remove-KataCgroup explains what holds the cgroup; once it is gone, Remove works' {
        $cg = New-KataCgroup -Path "$Root/pod/held" -WarningAction SilentlyContinue
        $child = (Get-KataCgroupPath -Path $cg.Path | Where-Object Controller -EQ 'memory').Directory + '/holder'
        [IO.Directory]::CreateDirectory($child) | Out-Null   # a child cgroup made by someone else
        $script = @"
`$ProgressPreference = 'SilentlyContinue'
Import-Module '$ModulePath'
mount -t tmpfs kc-holder '$child'
try { Remove-KataCgroup -Path '$($cg.Path)' -ErrorAction Stop; 'KCRESULT:removed' }
catch { 'KCRESULT:' + `$_.FullyQualifiedErrorId.Split(',')[0] + '|' + `$_.Exception.Message }
"@
        $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($script))
        $out = & unshare --mount --propagation private -- $Exe @Pre -NoProfile -NonInteractive -EncodedCommand $encoded
        $line = @($out | Where-Object { $_ -like 'KCRESULT:*' })[-1]
        $id, $message = $line.Substring(9).Split('|', 2)
        $id | Should -BeIn 'CgroupBusy', 'CgroupReadFailed', 'CgroupRemoveFailed'
        $message | Should -Match 'mount|leaves its cgroup hierarchy'
        # outside that namespace nothing holds it: the same Remove now works and removes the foreign child too
        $cg | Remove-KataCgroup
        Get-KcLeafDirectories "$Root/pod" | Should -BeNullOrEmpty
    }
}
