# Runs last (file names sort before "zz."): the whole suite must leave the host as it found it. Fails when any
# test root, cgroup or process the suite made is still there.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1')
    Import-Module (Join-Path $PSScriptRoot '../Remoting/SshRemoting.psm1')
}

Describe 'Nothing the suite made is left behind' {
    It 'no kctest-* cgroup directory is left in any hierarchy (/sys/fs/cgroup/*/kctest-*, /sys/fs/cgroup/*/vc/kctest-*)' {
        $left = @(
            foreach ($h in Get-KcHierarchy) {
                foreach ($base in $h.MountPoint, "$($h.MountPoint)/vc") {
                    if ([System.IO.Directory]::Exists($base)) {
                        [System.IO.Directory]::GetDirectories($base, 'kctest-*')
                    }
                }
            }
        )
        $left | Should -BeNullOrEmpty -Because "the suite must remove every cgroup it made; left: $($left -join ', ')"
    }

    It 'the same holds for a plain glob of /sys/fs/cgroup (its top level on cgroup v2, each hierarchy on v1)' {
        # Independent of mountinfo parsing: where /sys/fs/cgroup is the cgroup2 tree itself test roots sit right
        # beneath it; on v1 and hybrid hosts one level down, in each hierarchy's directory.
        @(Get-ChildItem -Path '/sys/fs/cgroup/kctest-*', '/sys/fs/cgroup/*/kctest-*' -Directory -ErrorAction SilentlyContinue) | Should -BeNullOrEmpty
    }

    It 'no /vc base the suite created is left' {
        @($global:KcTestState.CreatedVc) | Should -BeNullOrEmpty
    }

    It 'every test root handed out was cleaned up' {
        @($global:KcTestState.Roots) | Should -BeNullOrEmpty
    }

    It 'no process the suite started is still running (same pid, same start time; zombies count)' {
        @($global:KcTestState.Processes.Keys) | Should -BeNullOrEmpty -Because 'every started process is killed and reaped by PID'
        @(Get-KcLeakedProcess) | Should -BeNullOrEmpty
    }

    It 'no tagged sleep process is running at all (also from an earlier, crashed run)' {
        @(Find-KcTaggedProcess) | Should -BeNullOrEmpty
    }

    It 'no cgroup device eBPF program the suite loaded is still loaded' {
        # A program is freed once its last cgroup is gone (asynchronously, after an RCU grace period): allow 5 s.
        $start = @($global:KcTestState.BpfDeviceProgramsAtStart)
        $deadline = [DateTime]::UtcNow.AddSeconds(5)
        do {
            $left = @(Get-KcBpfDeviceProgramId | Where-Object { $start -notcontains $_ })
            if ($left.Count -eq 0) { break }
            Start-Sleep -Milliseconds 200
        } while ([DateTime]::UtcNow -lt $deadline)
        $left | Should -BeNullOrEmpty -Because 'every device program the suite attached must go with its cgroup'
    }
    It 'no systemd unit the suite started is left (where the host has systemd, as in the v2 guest)' {
        Skip-KcUnlessCapability Systemd
        # Active or failed ones: a stopped slice may stay loaded but inactive until systemd collects it.
        @(systemctl list-units --all --plain --no-legend 'kata-*' 'kctest*' 'kcbench*' 2>$null |
            Where-Object { $_ -match '\S' -and $_ -notmatch '\sinactive\s' }) | Should -BeNullOrEmpty
    }
    It 'no temp directory the suite made (rootless copy of pwsh and the module) is left' {
        @($global:KcTestState.AllTempDirs | Where-Object { Test-Path -LiteralPath $_ }) | Should -BeNullOrEmpty
    }

    It 'no test sshd is left: no /run/kc-sshd-* state directory, no sshd, ssh client or remote pwsh of one' {
        # Remoting.Tests.ps1 starts its sshd with all its state in /run/kc-sshd-<random> (SshRemoting.psm1)
        @(Find-KcSshdLeftover) | Should -BeNullOrEmpty
    }
}
