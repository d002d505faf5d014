# Suspend/Resume, Wait-KataCgroupEvent and Remove -Kill of a systemd scope on this v1/hybrid host, against a real
# systemd 252 (tests/Systemd/sandbox.sh). systemd 252 cannot freeze units on cgroup v1 (FreezeUnit answers
# NotSupported), so the module falls back to the scope's v1 freezer directory, which it made at creation. The
# cmdlets run in a pwsh inside systemd's PID namespace; the kernel state is read from the host. The fallback needs
# the host's v1 freezer, the OOM case swap that cannot take the hog past its limit (both from the preflight).

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../TestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot '../../Systemd/SystemdSandbox.psm1') -Force
    Import-Module (Get-KcModulePath) -Force
    $Sb = Start-KcSystemdSandbox
    $ModulePath = Copy-KcModuleToSandbox $Sb (Get-KcModulePath)
    function Invoke-SandboxPwsh([string] $Script) { Invoke-KcSandboxPwsh $Sb $ModulePath $Script }
    function HostFile([string] $Controller, [string] $Scope, [string] $File) { Get-KcSandboxScopeFile $Sb $Controller $Scope $File }
    function ScopeExists([string] $Scope) { Test-KcSandboxScope $Sb $Scope }
}

AfterAll {
    if ($Sb) { Stop-KcSystemdSandbox $Sb }
}

Describe 'systemd driver on v1: freezer fallback, events and kill' {
    It 'Suspend falls back from FreezeUnit to the v1 freezer: the counter stops, and runs again after Resume' {
        Skip-KcUnlessCapability Freezer
        $r = Invoke-SandboxPwsh @"
`$f = '/run/kc-counter'
`$p = [int](sh -c "i=0; while :; do i=```$((i+1)); echo ```$i > `$f; done </dev/null >/dev/null 2>&1 & echo ```$!")
`$cg = New-KataCgroup -Path 'kctest.slice:kata:fz' -ProcessId `$p -WarningAction SilentlyContinue
function Counter { try { [IO.File]::ReadAllText(`$f) } catch { '<none>' } }
`$c0 = Counter; `$c = `$c0; for (`$i = 0; `$i -lt 500 -and (`$c -eq `$c0 -or `$c -eq ''); `$i++) { Start-Sleep -Milliseconds 20; `$c = Counter }
`$runs = `$c -ne `$c0 -and `$c -ne ''
`$v = @(`$cg | Suspend-KataCgroup -PassThru -Verbose 4>&1)
`$verbose = @(`$v | Where-Object { `$_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message)
`$state = (`$v | Where-Object { `$_ -isnot [System.Management.Automation.VerboseRecord] }).FreezerState
`$a = Counter; Start-Sleep -Milliseconds 500; `$stopped = (Counter) -eq `$a
`$frozenFile = [IO.File]::ReadAllText('/sys/fs/cgroup/freezer' + `$cg.CgroupPath + '/freezer.state').Trim()
`$cg | Resume-KataCgroup
# (the counter truncates then writes its file: a read can catch it empty, so wait for a non-empty new value)
`$c = Counter; for (`$i = 0; `$i -lt 500 -and (`$c -eq `$a -or `$c -eq ''); `$i++) { Start-Sleep -Milliseconds 20; `$c = Counter }
`$again = `$c -ne `$a -and `$c -ne ''
Remove-KataCgroup -Path 'kctest.slice:kata:fz' -Kill
'KCRESULT:' + (@{ C0 = `$c0; C1 = (Counter); P = `$p; Runs = `$runs; Verbose = `$verbose; State = `$state; Stopped = `$stopped; FrozenFile = `$frozenFile; Again = `$again; Alive = (Test-Path /proc/`$p) } | ConvertTo-Json -Compress)
"@
        $r.Runs | Should -BeTrue -Because "the counter runs ($($r | ConvertTo-Json -Compress))"
        $r.Verbose | Should -Contain 'D-Bus FreezeUnit kata-fz.scope'
        ($r.Verbose -join "`n") | Should -Match 'systemd cannot freeze kata-fz.scope \(org.freedesktop.DBus.Error.NotSupported\); using the cgroupfs freezer'
        $r.State | Should -Be 'FROZEN'
        $r.FrozenFile | Should -Be 'FROZEN'
        $r.Stopped | Should -BeTrue -Because 'no process of a frozen scope runs'
        $r.Again | Should -BeTrue -Because 'the counter runs again after Resume'
        $r.Alive | Should -BeFalse -Because 'Remove -Kill stopped the scope'
        @(Get-ChildItem -Directory /sys/fs/cgroup/*/$($Sb.Name)/kctest.slice/kata-fz.scope -ErrorAction Ignore).Count | Should -Be 0
    }

    It 'Remove -Kill ends a forking shell and its children; Wait-KataCgroupEvent sees an OOM kill in the scope' {
        Skip-KcBecause (Get-KcMissingSwapConfinement)
        # memory+swap at 16 MB too where the kernel accounts swap (systemd's v1 set has no swap: the module writes it)
        $swap = if (Test-KcCapability SwapAccounting) { '-MemorySwap 16MB' } else { '' }
        $r = Invoke-SandboxPwsh @"
# Gated: the shell forks its children only once it is in the scope.
`$sh = [int](sh -c 'sh -c "while [ ! -e /run/kc-gate-kill ]; do sleep 0.05; done; sleep 300 & sleep 300 & wait" </dev/null >/dev/null 2>&1 & echo `$!')
`$cg = New-KataCgroup -Path 'kctest.slice:kata:kf' -ProcessId `$sh -MemoryLimit 16MB $swap -WarningAction SilentlyContinue
`$null = New-Item -ItemType File -Path /run/kc-gate-kill
for (`$i = 0; `$i -lt 100 -and @((Get-KataCgroup -Path 'kctest.slice:kata:kf').Pids).Count -lt 3; `$i++) { Start-Sleep -Milliseconds 20 }
`$pids = @((Get-KataCgroup -Path 'kctest.slice:kata:kf').Pids)
# An OOM in the scope: the wait is registered (its verbose 'watching' line) before the hog starts.
`$ps = [powershell]::Create()
`$null = `$ps.AddScript("Import-Module '$ModulePath'; Wait-KataCgroupEvent -Path 'kctest.slice:kata:kf' -Event OomKill -Timeout 60 -Verbose")
`$h = `$ps.BeginInvoke()
for (`$i = 0; `$i -lt 600 -and -not (`$ps.Streams.Verbose | Where-Object Message -Like 'watching*'); `$i++) { Start-Sleep -Milliseconds 50 }
# Gated: it joins the scope before it allocates anything.
`$hog = [int](sh -c 'sh -c "while [ ! -e /run/kc-gate ]; do sleep 0.05; done; exec tail /dev/zero" </dev/null >/dev/null 2>&1 & echo `$!')
`$cg | Add-KataCgroupProcess -Id `$hog
`$null = New-Item -ItemType File -Path /run/kc-gate
`$null = `$h.AsyncWaitHandle.WaitOne(60000)
`$events = @(`$ps.EndInvoke(`$h))
`$errors = @(`$ps.Streams.Error | ForEach-Object { "`$_" })
Remove-KataCgroup -Path 'kctest.slice:kata:kf' -Kill
Start-Sleep -Milliseconds 300
`$left = @(`$pids | Where-Object { (Test-Path /proc/`$_) -and -not ((Get-Content /proc/`$_/status -ErrorAction Ignore) -match 'zombie') })
'KCRESULT:' + (@{ Pids = `$pids; Left = `$left; Event = `$events.Event; Driver = `$events.Driver; Errors = `$errors; Unit = (systemctl show kata-kf.scope -p LoadState) } | ConvertTo-Json -Compress)
"@
        @($r.Pids).Count | Should -Be 3 -Because 'the shell and its two sleeps are in the scope'
        @($r.Left).Count | Should -Be 0 -Because 'every process of the scope was killed'
        $r.Errors | Should -BeNullOrEmpty
        $r.Event | Should -Be 'OomKill'
        $r.Driver | Should -Be 'Systemd'
        $r.Unit | Should -Be 'LoadState=not-found'
        @(Get-ChildItem -Directory /sys/fs/cgroup/*/$($Sb.Name)/kctest.slice/kata-kf.scope -ErrorAction Ignore).Count | Should -Be 0
    }
}
