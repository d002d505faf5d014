<#
PowerShell front end of tests/Systemd/sandbox.sh for Pester: a real systemd 252 (the host's) as pid 1 of its own
namespaces, confined to /<name> in every cgroup hierarchy. Design and safeguards: the header of sandbox.sh. Needs
root on a cgroup v1/hybrid Linux host.

  $sb = Start-KcSystemdSandbox                    # StateDir, Pid, Name, BusAddress (+ UnsharePid, HelperPid, ConsoleLog)
  Invoke-KcInSandbox $sb systemctl is-system-running
  Stop-KcSystemdSandbox $sb

From the host, talk to the sandbox's systemd over its system bus, $sb.BusAddress
(unix:path=<StateDir>/run/dbus/system_bus_socket); systemd refuses its private socket to clients outside its pid
namespace. PIDs in D-Bus calls (StartTransientUnit PIDs=) are read in the sandbox's pid namespace: start workloads
with Invoke-KcInSandbox.

Nothing here sets global state: every function runs sandbox.sh as a child process and passes its settings to that
child only.
#>
Set-StrictMode -Version Latest

$script:SandboxScript = Join-Path $PSScriptRoot 'sandbox.sh'
# Default parent of state dirs: not /tmp (the host check reports kc-systemd-* names there as the sandbox's own
# leaks), short enough for unix socket paths (<state>/run/dbus/system_bus_socket).
$script:DefaultStateRoot = '/run/kc-systemd-sandbox'

function Invoke-KcSandboxScript {
    <#
    Runs `bash sandbox.sh <Arguments>` with stdin closed; returns ExitCode, Output (stdout) and Error (stderr).
    Environment entries are set for the child only. On timeout the child and its descendants are killed (by pid).
    #>
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)] [string[]] $Arguments,
        [hashtable] $Environment = @{},
        [double] $TimeoutSeconds = 0
    )
    $psi = [System.Diagnostics.ProcessStartInfo]::new('/bin/bash')
    $psi.ArgumentList.Add($script:SandboxScript)
    foreach ($a in $Arguments) { $psi.ArgumentList.Add($a) }
    $psi.UseShellExecute = $false
    $psi.RedirectStandardInput = $true
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardError = $true
    foreach ($k in $Environment.Keys) {
        if ($null -eq $Environment[$k]) { [void]$psi.Environment.Remove($k) } else { $psi.Environment[$k] = [string]$Environment[$k] }
    }
    $p = [System.Diagnostics.Process]::Start($psi)
    try {
        $p.StandardInput.Close()
        $out = $p.StandardOutput.ReadToEndAsync()
        $err = $p.StandardError.ReadToEndAsync()
        if ($TimeoutSeconds -gt 0) {
            if (-not $p.WaitForExit([int][Math]::Ceiling($TimeoutSeconds * 1000))) {
                try { $p.Kill($true) } catch { }
                $p.WaitForExit()
                # What it printed up to then says where it stopped (a pwsh script's -Debug lines, a systemctl error).
                $said = ($out.GetAwaiter().GetResult() + $err.GetAwaiter().GetResult()).TrimEnd()
                throw "sandbox.sh $($Arguments[0..1] -join ' ') ... did not finish within $TimeoutSeconds s (killed); it printed:`n$said"
            }
        }
        $p.WaitForExit()
        [pscustomobject]@{
            ExitCode = $p.ExitCode
            Output   = $out.GetAwaiter().GetResult()
            Error    = $err.GetAwaiter().GetResult()
        }
    }
    finally {
        $p.Dispose()
    }
}

function Get-KcStateDir {
    param([object] $Sandbox)
    if ($Sandbox -is [string]) { return $Sandbox }
    if ($null -ne $Sandbox -and $Sandbox.PSObject.Properties['StateDir']) { return [string]$Sandbox.StateDir }
    throw 'pass a sandbox object from Start-KcSystemdSandbox, or its state directory'
}

function Remove-KcEmptyStateRoot {
    param([string] $StateDir)
    $parent = Split-Path -Parent $StateDir
    if ($parent -eq $script:DefaultStateRoot -and [System.IO.Directory]::Exists($parent) -and
        -not [System.IO.Directory]::EnumerateFileSystemEntries($parent).GetEnumerator().MoveNext()) {
        try { [System.IO.Directory]::Delete($parent) } catch { }
    }
}

function Start-KcSystemdSandbox {
    <#
    .SYNOPSIS
    Starts a sandboxed systemd and returns StateDir, Pid (systemd, host pid), Name (the cgroup /<name>), BusAddress,
    UnsharePid, HelperPid and ConsoleLog. A failed start is cleaned up (sandbox.sh stop) before this throws.
    .PARAMETER StateDir
    An absent or empty directory for the sandbox's state; default /run/kc-systemd-sandbox/<random>.
    .PARAMETER TimeoutSeconds
    Readiness timeout (KC_SANDBOX_TIMEOUT of sandbox.sh).
    .PARAMETER Environment
    Extra environment for sandbox.sh only (for example KC_SANDBOX_FAIL_AT to test the cleanup).
    #>
    [CmdletBinding()]
    param(
        [string] $StateDir,
        [double] $TimeoutSeconds = 30,
        [hashtable] $Environment = @{}
    )
    if (-not $StateDir) {
        $StateDir = Join-Path $script:DefaultStateRoot ([System.Guid]::NewGuid().ToString('N').Substring(0, 12))
    }
    $childEnv = @{} + $Environment
    $childEnv["KC_SANDBOX_TIMEOUT"] = $TimeoutSeconds.ToString([System.Globalization.CultureInfo]::InvariantCulture)
    $r = $null
    try {
        $r = Invoke-KcSandboxScript -Arguments 'start', $StateDir -Environment $childEnv -TimeoutSeconds ($TimeoutSeconds + 30)
        if ($r.ExitCode -ne 0) { throw "sandbox.sh start failed (exit $($r.ExitCode)):`n$($r.Error.TrimEnd())" }
        $bus = @($r.Output.Split("`n", [System.StringSplitOptions]::RemoveEmptyEntries))[-1].Trim()
        $expected = "unix:path=$StateDir/run/dbus/system_bus_socket"
        if ($bus -ne $expected) { throw "sandbox.sh start printed '$bus', expected '$expected'" }
        $read = { param($f) [System.IO.File]::ReadAllText((Join-Path $StateDir $f)).Trim() }
        [pscustomobject]@{
            PSTypeName = 'KcSystemdSandbox'
            StateDir   = $StateDir
            Pid        = [int](& $read 'pid')
            Name       = & $read 'name'
            BusAddress = $bus
            UnsharePid = [int](& $read 'unshare.pid')
            HelperPid  = [int](& $read 'helper.pid')
            ConsoleLog = Join-Path $StateDir 'console.log'
        }
    }
    catch {
        $why = $_
        # sandbox.sh cleans up a start that fails by itself; this covers a start that was killed or misreported
        if ([System.IO.Directory]::Exists($StateDir)) {
            try {
                $s = Invoke-KcSandboxScript -Arguments 'stop', $StateDir -TimeoutSeconds 60
                if ($s.ExitCode -ne 0) { Write-Warning "cleanup of $StateDir failed:`n$($s.Error.TrimEnd())" }
            }
            catch { Write-Warning "cleanup of $StateDir failed: $_" }
        }
        Remove-KcEmptyStateRoot $StateDir
        throw $why
    }
}

function Stop-KcSystemdSandbox {
    <#
    .SYNOPSIS
    Powers the sandbox off (SIGKILL after a timeout), kills by pid whatever is left in /<name>, removes /<name> in
    every hierarchy, verifies that none is left and removes the state dir. Throws when something was left; a
    sandbox that is already gone is not an error.
    #>
    [CmdletBinding()]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipeline)] [object] $Sandbox,
        [double] $TimeoutSeconds = 10
    )
    process {
        $dir = Get-KcStateDir $Sandbox
        if (-not [System.IO.Directory]::Exists($dir)) { return }
        $childEnv = @{ KC_SANDBOX_STOP_TIMEOUT = $TimeoutSeconds.ToString([System.Globalization.CultureInfo]::InvariantCulture) }
        $r = Invoke-KcSandboxScript -Arguments 'stop', $dir -Environment $childEnv -TimeoutSeconds ($TimeoutSeconds + 60)
        if ($r.ExitCode -ne 0) {
            # once more: processes that were still exiting may have kept a cgroup busy
            Start-Sleep -Milliseconds 500
            $r2 = Invoke-KcSandboxScript -Arguments 'stop', $dir -Environment $childEnv -TimeoutSeconds ($TimeoutSeconds + 60)
            if ($r2.ExitCode -ne 0) {
                throw "sandbox.sh stop failed (exit $($r2.ExitCode)):`n$($r.Error.TrimEnd())`n$($r2.Error.TrimEnd())"
            }
        }
        Remove-KcEmptyStateRoot $dir
    }
}

function Invoke-KcInSandbox {
    <#
    .SYNOPSIS
    Runs a command in the sandbox's pid, mount and cgroup namespaces, in its root cgroup (sandbox.sh exec) and
    returns its standard output as lines. Throws on a non-zero exit (unless -IgnoreExitCode) or on timeout (the
    command's processes on the host side are then killed by pid; what it left inside dies with the sandbox).
    .EXAMPLE
    Invoke-KcInSandbox $sb systemctl is-system-running
    .EXAMPLE
    Invoke-KcInSandbox $sb -- sh -c 'sleep 300 </dev/null >/dev/null 2>&1 & echo $!'   # prints its pid in the sandbox
    Put `--` before a command with dash arguments, or PowerShell takes them for parameters of this function.
    A background process must not keep stdout/stderr open, or this waits for it.
    #>
    [CmdletBinding()]
    param(
        [Parameter(Mandatory, Position = 0)] [object] $Sandbox,
        [Parameter(Mandatory, Position = 1, ValueFromRemainingArguments)] [string[]] $Command,
        [double] $TimeoutSeconds = 60,
        [switch] $IgnoreExitCode
    )
    $dir = Get-KcStateDir $Sandbox
    $r = Invoke-KcSandboxScript -Arguments (@('exec', $dir, '--') + $Command) -TimeoutSeconds $TimeoutSeconds
    if ($r.ExitCode -ne 0 -and -not $IgnoreExitCode) {
        throw "in sandbox: '$($Command -join ' ')' exited with $($r.ExitCode):`n$($r.Error.TrimEnd())"
    }
    if ($r.Error) { Write-Verbose $r.Error.TrimEnd() }
    $text = $r.Output.TrimEnd("`n")
    if ($text.Length -eq 0) { return }
    $text.Split("`n")
}

function Copy-KcModuleToSandbox {
    <#
    Copies the built module into the sandbox and returns the path a pwsh inside sees it at. The sandbox sees the host
    root read-only (a checkout under /tmp not at all: it has its own /tmp); its /run is the state dir's run/.
    #>
    param([Parameter(Mandatory)] [object] $Sandbox, [Parameter(Mandatory)] [string] $ModuleManifest)
    Copy-Item -LiteralPath (Split-Path $ModuleManifest) -Destination (Join-Path (Get-KcStateDir $Sandbox) 'run/kc-module') -Recurse
    '/run/kc-module/' + (Split-Path $ModuleManifest -Leaf)
}

function Invoke-KcSandboxPwsh {
    <#
    Runs $Script in a fresh pwsh inside the sandbox (its PID namespace: pids mean what systemd thinks they mean) with
    the module at $ModulePath imported, errors stopping the script. The script's last output line 'KCRESULT:<json>'
    comes back as an object; a script that reports nothing throws with everything it printed.
    #>
    param(
        [Parameter(Mandatory)] [object] $Sandbox,
        [Parameter(Mandatory)] [string] $ModulePath,
        [Parameter(Mandatory)] [string] $Script,
        [double] $TimeoutSeconds = 120
    )
    $prelude = "`$ErrorActionPreference = 'Stop'; `$ProgressPreference = 'SilentlyContinue'; trap { 'KCERROR: ' + `$_.FullyQualifiedErrorId + ': ' + `$_.Exception.Message; exit 1 }; Import-Module '$ModulePath'`n"
    $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($prelude + $Script))
    $exe = [Environment]::ProcessPath
    $pwshArgs = @(if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' })
    $lines = Invoke-KcInSandbox $Sandbox -TimeoutSeconds $TimeoutSeconds -IgnoreExitCode -- env HOME=/tmp DOTNET_CLI_HOME=/tmp XDG_CACHE_HOME=/tmp `
        NO_COLOR=1 TERM=dumb DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1 POWERSHELL_TELEMETRY_OPTOUT=1 `
        $exe @pwshArgs -NoProfile -NonInteractive -EncodedCommand $encoded
    $result = @($lines | Where-Object { $_ -like 'KCRESULT:*' }) | Select-Object -Last 1
    if (-not $result) { throw "the sandbox pwsh reported nothing (a script error goes to its stderr; run with -Verbose):`n$($lines -join "`n")" }
    $result.Substring(9) | ConvertFrom-Json
}

function Get-KcSandboxScopeFile {
    <# A cgroupfs file of a scope in the sandbox's kctest.slice, read on the host (its tree is /<name> in every hierarchy). #>
    param([Parameter(Mandatory)] [object] $Sandbox, [string] $Controller, [string] $Scope, [string] $File)
    [IO.File]::ReadAllText("/sys/fs/cgroup/$Controller/$($Sandbox.Name)/kctest.slice/$Scope/$File").Trim()
}

function Test-KcSandboxScope {
    <# True while a scope of the sandbox's kctest.slice has a directory in any hierarchy (seen from the host). #>
    param([Parameter(Mandatory)] [object] $Sandbox, [string] $Scope)
    @(Get-ChildItem -Directory "/sys/fs/cgroup/*/$($Sandbox.Name)/kctest.slice/$Scope" -ErrorAction Ignore).Count -gt 0
}

Export-ModuleMember -Function Start-KcSystemdSandbox, Stop-KcSystemdSandbox, Invoke-KcInSandbox, Copy-KcModuleToSandbox,
    Invoke-KcSandboxPwsh, Get-KcSandboxScopeFile, Test-KcSandboxScope
