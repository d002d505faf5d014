<#
.SYNOPSIS
    A private, throw-away OpenSSH server on loopback for the PowerShell remoting tests.

.DESCRIPTION
    The remoting tests run Invoke-Command -HostName against a real sshd with the `powershell` subsystem, as users
    fan out to their hosts. The sshd must leave this machine as it found it, so everything about it is private
    and tracked:

      * State. One directory per run, /run/kc-sshd-<random> (mode 0700, tmpfs, never /tmp): the host key and
        the client key (ed25519, made by ssh-keygen, no passphrase), authorized_keys, known_hosts, sshd_config,
        the pid file, sshd's log and the subsystem wrapper. Stop-KcSshd removes it; a leftover one is what
        Find-KcSshdLeftover (and so zz.Leaks.Tests.ps1) reports.
      * Server. `sshd -D -f <state>/sshd_config -E <state>/sshd.log`, started as a child of this pwsh (so its
        PID is known), listening on 127.0.0.1 only, on a free high port. Key authentication only: no password,
        keyboard-interactive or PAM (UsePAM no), PermitRootLogin prohibit-password, StrictModes no (the keys
        live under /run, not ~/.ssh), no forwarding, no ~/.ssh/rc. The host's own sshd service and
        /etc/ssh/sshd_config are never used. sshd insists on its privilege-separation directory /run/sshd
        (a compiled-in path); when it is missing it is created and removed again by the run that made it.
      * Subsystem. sshd runs the subsystem command through the user's shell, and under `dotnet pwsh` (the
        tool manifest) PowerShell is `dotnet <PSHOME>/pwsh.dll`, not an executable, so the `Subsystem
        powershell` line points at a generated wrapper that execs the same dotnet and pwsh.dll as this
        session with `-sshs -NoLogo -NoProfile`. The wrapper also sets TMPDIR to <state>/tmp (the remote
        .NET runtime's IPC sockets stay out of /tmp) and KC_SSHD_STATE=<state>, a tag by which a leftover
        remote pwsh can be found.
      * Client. New-KcSshSessionParameters returns the splat for Invoke-Command/New-PSSession -HostName:
        -Port, -UserName root, -KeyFilePath and -Options for ssh(1): StrictHostKeyChecking=yes against a
        known_hosts in the state directory that already holds the generated host key (for 127.0.0.1 and
        localhost), so ~/.ssh/known_hosts is neither read nor written; BatchMode (never a prompt),
        IdentitiesOnly (no agent keys), AddressFamily=inet (localhost reaches the 127.0.0.1 listener).
      * Stop. Stop-KcSshd records the listener's descendants (the per-connection sshd processes and the remote
        pwsh), kills the listener and then each descendant by PID (checking the start time, so a reused PID is
        never hit), waits until they are gone, removes the state directory and throws when anything is left.

.EXAMPLE
    $sshd = Start-KcSshd
    try {
        $ssh = New-KcSshSessionParameters $sshd
        Invoke-Command -HostName 127.0.0.1, localhost @ssh -ScriptBlock { $PID }
    }
    finally { Stop-KcSshd $sshd }
#>
Set-StrictMode -Version Latest

$script:StatePrefix = '/run/kc-sshd-'
$script:PrivsepDir = '/run/sshd'

function Get-KcSshdCommand {
    <# Absolute paths of sshd, ssh and ssh-keygen, or $null when one of them is not installed. #>
    $sshd = Get-Command sshd -CommandType Application -ErrorAction Ignore | Select-Object -First 1
    if (-not $sshd) {
        # /usr/sbin is not on every root PATH
        $sshd = Get-Command /usr/sbin/sshd -CommandType Application -ErrorAction Ignore | Select-Object -First 1
    }
    $ssh = Get-Command ssh -CommandType Application -ErrorAction Ignore | Select-Object -First 1
    $keygen = Get-Command ssh-keygen -CommandType Application -ErrorAction Ignore | Select-Object -First 1
    if (-not ($sshd -and $ssh -and $keygen)) { return $null }
    [pscustomobject]@{ Sshd = $sshd.Source; Ssh = $ssh.Source; KeyGen = $keygen.Source }
}

function Test-KcSshdAvailable {
    <# True when sshd, ssh and ssh-keygen are installed (openssh-server, openssh-client) and this is root. #>
    [bool] (Get-KcSshdCommand) -and [System.Environment]::IsPrivilegedProcess
}

function Get-KcSshProcessInfo {
    <# @{ Id; ParentId; StartTime } of a live process from /proc/<pid>/stat; nothing when it is gone. #>
    param([Parameter(Mandatory)] [int] $Id)
    try { $stat = [System.IO.File]::ReadAllText("/proc/$Id/stat") } catch { return }
    # the command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'
    $f = $stat.Substring($stat.LastIndexOf(')') + 2).Split(' ')
    [pscustomobject]@{ Id = $Id; ParentId = [int] $f[1]; StartTime = [long] $f[19] }
}

function Get-KcSshDescendant {
    <# Every live descendant of process $Id (children, grandchildren, …) with its start time. #>
    param([Parameter(Mandatory)] [int] $Id)
    $all = foreach ($d in [System.IO.Directory]::GetDirectories('/proc')) {
        $name = [System.IO.Path]::GetFileName($d)
        if ($name -match '^\d+$') { Get-KcSshProcessInfo ([int] $name) }
    }
    $children = @{}
    foreach ($p in $all) {
        if (-not $children.ContainsKey($p.ParentId)) { $children[$p.ParentId] = [System.Collections.Generic.List[object]]::new() }
        $children[$p.ParentId].Add($p)
    }
    $queue = [System.Collections.Generic.Queue[int]]::new()
    $queue.Enqueue($Id)
    while ($queue.Count) {
        $parent = $queue.Dequeue()
        if (-not $children.ContainsKey($parent)) { continue }
        foreach ($c in $children[$parent]) { $c; $queue.Enqueue($c.Id) }
    }
}

function Test-KcSshProcessAlive {
    <# True while the process with this pid and start time exists (a zombie counts: it is not reaped yet). #>
    param([Parameter(Mandatory)] $Info)
    $now = Get-KcSshProcessInfo $Info.Id
    $null -ne $now -and $now.StartTime -eq $Info.StartTime
}

function Get-KcFreeLoopbackPort {
    <# A TCP port on 127.0.0.1 that nothing listens on now (the kernel picks it from the ephemeral range). #>
    $l = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
    $l.Start()
    try { $l.LocalEndpoint.Port } finally { $l.Stop() }
}

function Invoke-KcSshNative {
    param([string] $File, [string[]] $Arguments)
    $out = & $File @Arguments 2>&1
    if ($LASTEXITCODE -ne 0) { throw "$File $($Arguments -join ' ') failed with exit code $LASTEXITCODE`: $out" }
}

function ConvertTo-KcShellWord([string] $Text) { "'" + $Text.Replace("'", "'\''") + "'" }

function Wait-KcSshdReady {
    <#
    Waits until sshd answers on its port with an SSH-2.0 banner. Returns $true when ready, $false when the process
    exited (a port taken between choosing and binding it, or a bad config: the log says which).
    #>
    param([System.Diagnostics.Process] $Process, [int] $Port, [int] $TimeoutSeconds)
    $deadline = [datetime]::UtcNow.AddSeconds($TimeoutSeconds)
    while ([datetime]::UtcNow -lt $deadline) {
        if ($Process.HasExited) { return $false }
        $client = [System.Net.Sockets.TcpClient]::new()
        try {
            $client.Connect([System.Net.IPAddress]::Loopback, $Port)
            $client.ReceiveTimeout = 2000
            $reader = [System.IO.StreamReader]::new($client.GetStream())
            if ($reader.ReadLine() -like 'SSH-2.0-*') { return $true }
        }
        catch { }
        finally { $client.Dispose() }
        Start-Sleep -Milliseconds 100
    }
    throw "sshd (pid $($Process.Id)) did not answer on 127.0.0.1:$Port within $TimeoutSeconds s"
}

function Start-KcSshd {
    <#
    .SYNOPSIS
        Starts a private sshd on 127.0.0.1 with the powershell subsystem and key-only root login.
    .DESCRIPTION
        Makes /run/kc-sshd-<random>, generates the keys, known_hosts, sshd_config and subsystem wrapper in it,
        starts `sshd -D` on a free port and waits for its banner. A port that another process takes in the
        meantime is retried with a new one. On any failure everything it made is removed before it throws.
        Returns the handle Stop-KcSshd and New-KcSshSessionParameters take.
    #>
    [CmdletBinding()]
    param([int] $TimeoutSeconds = 20)

    $cmd = Get-KcSshdCommand
    if (-not $cmd) { throw 'sshd, ssh or ssh-keygen is not installed (apt-get install openssh-server openssh-client)' }
    if (-not [System.Environment]::IsPrivilegedProcess) { throw 'the test sshd logs in as root and must be started by root' }

    $state = $script:StatePrefix + [guid]::NewGuid().ToString('n').Substring(0, 12)
    $sshd = [pscustomobject]@{
        PSTypeName     = 'KcSshd'
        StateDirectory = $state
        Port           = 0
        Process        = $null
        StartTime      = $null
        UserName       = 'root'
        KeyFilePath    = "$state/client_ed25519"
        KnownHostsFile = "$state/known_hosts"
        ConfigFile     = "$state/sshd_config"
        LogFile        = "$state/sshd.log"
        Subsystem      = "$state/pwsh-subsystem.sh"
        CreatedPrivsep = $false
    }
    try {
        $null = [System.IO.Directory]::CreateDirectory($state, [System.IO.UnixFileMode] 'UserRead, UserWrite, UserExecute')
        $null = [System.IO.Directory]::CreateDirectory("$state/tmp", [System.IO.UnixFileMode] 'UserRead, UserWrite, UserExecute')
        if (-not [System.IO.Directory]::Exists($script:PrivsepDir)) {
            # sshd refuses to start without it ("Missing privilege separation directory"); root-owned, 0755
            $null = [System.IO.Directory]::CreateDirectory($script:PrivsepDir,
                [System.IO.UnixFileMode] 'UserRead, UserWrite, UserExecute, GroupRead, GroupExecute, OtherRead, OtherExecute')
            $sshd.CreatedPrivsep = $true
        }

        Invoke-KcSshNative $cmd.KeyGen @('-q', '-t', 'ed25519', '-N', '', '-C', 'kc-sshd-host', '-f', "$state/ssh_host_ed25519_key")
        Invoke-KcSshNative $cmd.KeyGen @('-q', '-t', 'ed25519', '-N', '', '-C', 'kc-sshd-client', '-f', $sshd.KeyFilePath)
        Copy-Item -LiteralPath "$($sshd.KeyFilePath).pub" -Destination "$state/authorized_keys"
        $hostKey = ([System.IO.File]::ReadAllText("$state/ssh_host_ed25519_key.pub").Trim() -split ' ')[0..1] -join ' '

        # The wrapper sshd runs as the powershell subsystem: this session's own PowerShell in server mode.
        $exe = [System.Environment]::ProcessPath
        $pwshCommand = if ([System.IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') {
            "exec $(ConvertTo-KcShellWord $exe) $(ConvertTo-KcShellWord (Join-Path $PSHOME 'pwsh.dll'))"
        }
        else { "exec $(ConvertTo-KcShellWord $exe)" }
        $wrapper = @(
            '#!/bin/sh'
            '# Generated by tests/Remoting/SshRemoting.psm1: the powershell subsystem of a test sshd.'
            "KC_SSHD_STATE=$(ConvertTo-KcShellWord $state); export KC_SSHD_STATE"
            "TMPDIR=$(ConvertTo-KcShellWord "$state/tmp"); export TMPDIR"
            'DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 POWERSHELL_TELEMETRY_OPTOUT=1 NO_COLOR=1'
            'export DOTNET_CLI_TELEMETRY_OPTOUT DOTNET_NOLOGO POWERSHELL_TELEMETRY_OPTOUT NO_COLOR'
            $(if ($env:DOTNET_ROOT) { "DOTNET_ROOT=$(ConvertTo-KcShellWord $env:DOTNET_ROOT); export DOTNET_ROOT" })
            "$pwshCommand -sshs -NoLogo -NoProfile"
        ) -join "`n"
        [System.IO.File]::WriteAllText($sshd.Subsystem, $wrapper + "`n")
        [System.IO.File]::SetUnixFileMode($sshd.Subsystem, [System.IO.UnixFileMode] 'UserRead, UserWrite, UserExecute')

        for ($attempt = 1; ; $attempt++) {
            $sshd.Port = Get-KcFreeLoopbackPort
            # known_hosts already holds the host key: the client checks it strictly and never writes ~/.ssh
            [System.IO.File]::WriteAllLines($sshd.KnownHostsFile, [string[]] @(
                    "[127.0.0.1]:$($sshd.Port) $hostKey", "[localhost]:$($sshd.Port) $hostKey"))
            [System.IO.File]::WriteAllLines($sshd.ConfigFile, [string[]] @(
                    '# Generated by tests/Remoting/SshRemoting.psm1: a private sshd for the remoting tests.'
                    "Port $($sshd.Port)"
                    'ListenAddress 127.0.0.1'
                    'AddressFamily inet'
                    "HostKey $state/ssh_host_ed25519_key"
                    "PidFile $state/sshd.pid"
                    "AuthorizedKeysFile $state/authorized_keys"
                    'AuthenticationMethods publickey'
                    'PubkeyAuthentication yes'
                    'PasswordAuthentication no'
                    'KbdInteractiveAuthentication no'
                    'HostbasedAuthentication no'
                    'UsePAM no'
                    'PermitRootLogin prohibit-password'
                    'AllowUsers root'
                    'StrictModes no'
                    'PermitUserEnvironment no'
                    'PermitUserRC no'
                    'AllowAgentForwarding no'
                    'AllowTcpForwarding no'
                    'AllowStreamLocalForwarding no'
                    'X11Forwarding no'
                    'PermitTunnel no'
                    'PrintMotd no'
                    'PrintLastLog no'
                    'UseDNS no'
                    'LogLevel VERBOSE'
                    "Subsystem powershell $($sshd.Subsystem)"
                ))
            # Through sh only to point stdin/stdout/stderr at /dev/null (sshd and every process it forks would
            # otherwise hold this pwsh's output open); `exec` keeps the PID. Absolute path: sshd re-executes itself
            # for every connection.
            $psi = [System.Diagnostics.ProcessStartInfo]::new('/bin/sh')
            foreach ($a in '-c', 'exec "$0" "$@" </dev/null >/dev/null 2>&1', $cmd.Sshd, '-D', '-f', $sshd.ConfigFile, '-E', $sshd.LogFile) {
                $psi.ArgumentList.Add($a)
            }
            $psi.UseShellExecute = $false
            $sshd.Process = [System.Diagnostics.Process]::Start($psi)
            $sshd.StartTime = (Get-KcSshProcessInfo $sshd.Process.Id).StartTime
            if (Wait-KcSshdReady $sshd.Process $sshd.Port $TimeoutSeconds) { break }
            $log = if (Test-Path -LiteralPath $sshd.LogFile) { Get-Content -LiteralPath $sshd.LogFile -Raw } else { '' }
            $sshd.Process.Dispose()
            $sshd.Process = $null
            if ($attempt -ge 3 -or $log -notmatch 'Address already in use') {
                throw "sshd exited at start (attempt $attempt): $log"
            }
        }
        Write-Verbose "sshd pid $($sshd.Process.Id) listens on 127.0.0.1:$($sshd.Port), state in $state"
        $sshd
    }
    catch {
        $err = $_
        try { Stop-KcSshd $sshd } catch { Write-Warning "cleanup after a failed sshd start: $_" }
        throw $err
    }
}

function New-KcSshSessionParameters {
    <#
    .SYNOPSIS
        The -HostName splat (minus -HostName) for Invoke-Command / New-PSSession against a Start-KcSshd server.
    .DESCRIPTION
        -Port, -UserName, -KeyFilePath and -Options. The ssh options check the host key strictly against the
        state directory's known_hosts (never ~/.ssh/known_hosts), never prompt, and offer only the generated key.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param([Parameter(Mandatory, Position = 0)] [psobject] $Sshd)
    @{
        Port        = $Sshd.Port
        UserName    = $Sshd.UserName
        KeyFilePath = $Sshd.KeyFilePath
        Options     = @{
            StrictHostKeyChecking  = 'yes'
            UserKnownHostsFile     = $Sshd.KnownHostsFile
            GlobalKnownHostsFile   = '/dev/null'
            UpdateHostKeys         = 'no'
            BatchMode              = 'yes'
            IdentitiesOnly         = 'yes'
            PasswordAuthentication = 'no'
            AddressFamily          = 'inet'
            LogLevel               = 'ERROR'
        }
    }
}

function Stop-KcSshd {
    <#
    .SYNOPSIS
        Stops a Start-KcSshd server and everything it started, by PID, and removes its state directory.
    .DESCRIPTION
        Safe to call twice and on a half-started handle. Throws listing what could not be stopped or removed.
    #>
    [CmdletBinding()]
    param([Parameter(Mandatory, Position = 0)] [AllowNull()] [psobject] $Sshd)
    if ($null -eq $Sshd) { return }
    $problems = [System.Collections.Generic.List[string]]::new()
    $tracked = [System.Collections.Generic.List[object]]::new()
    $state = $Sshd.StateDirectory
    # every step runs even when an earlier one failed: the state directory goes in any case
    try {
        if ($Sshd.Process) {
            $listener = [pscustomobject]@{ Id = $Sshd.Process.Id; StartTime = $Sshd.StartTime }
            try {
                if (Test-KcSshProcessAlive $listener) {
                    # recorded before the listener dies: afterwards its children belong to PID 1
                    foreach ($d in Get-KcSshDescendant $listener.Id) { $tracked.Add($d) }
                }
            }
            catch { $problems.Add("listing the processes of sshd pid $($listener.Id): $_") }
            try {
                if (-not $Sshd.Process.HasExited) { $Sshd.Process.Kill() }
                if (-not $Sshd.Process.WaitForExit(10000)) { $problems.Add("sshd pid $($listener.Id) did not exit") }
            }
            catch [System.InvalidOperationException] { }   # already exited and reaped
            $Sshd.Process.Dispose()
            $Sshd.Process = $null
        }
        foreach ($t in $tracked) {
            if (Test-KcSshProcessAlive $t) {
                try { [System.Diagnostics.Process]::GetProcessById($t.Id).Kill() } catch { }
            }
        }
        # The local ssh clients (children of this pwsh, not of sshd) exit on their own once the connection drops.
        $deadline = [datetime]::UtcNow.AddSeconds(10)
        do {
            $left = @(@($tracked | Where-Object { Test-KcSshProcessAlive $_ } | ForEach-Object Id) +
                @(Find-KcSshdTaggedProcess | Where-Object State -EQ $state | ForEach-Object Id) | Sort-Object -Unique)
            if (-not $left) { break }
            Start-Sleep -Milliseconds 100
        } while ([datetime]::UtcNow -lt $deadline)
        if ($left) { $problems.Add("processes of the test sshd $state still running: $($left -join ', ')") }
    }
    catch { $problems.Add("$_") }
    if ($state -and $state.StartsWith($script:StatePrefix) -and [System.IO.Directory]::Exists($state)) {
        try { Remove-Item -LiteralPath $state -Recurse -Force -ErrorAction Stop } catch { $problems.Add("could not remove $state`: $_") }
    }
    if ($Sshd.CreatedPrivsep -and [System.IO.Directory]::Exists($script:PrivsepDir) -and
        -not [System.IO.Directory]::GetFileSystemEntries($script:PrivsepDir).Count -and
        -not @([System.IO.Directory]::GetDirectories('/run', 'kc-sshd-*')).Count) {
        # only the run that made /run/sshd removes it, and only when no other test sshd still needs it
        try { [System.IO.Directory]::Delete($script:PrivsepDir) } catch { $problems.Add("could not remove $script:PrivsepDir`: $_") }
    }
    if ($problems.Count) { throw "stopping the test sshd failed: $($problems -join '; ')" }
}

function Find-KcSshdTaggedProcess {
    <#
    Processes that belong to a test sshd, even from a crashed run: any whose command line names a file in a
    state directory (the listener: its process title keeps `-f /run/kc-sshd-…/sshd_config`; the ssh clients:
    `-i /run/kc-sshd-…/client_ed25519`) and the remote pwsh (KC_SSHD_STATE in its environment).
    #>
    foreach ($d in [System.IO.Directory]::GetDirectories('/proc')) {
        $name = [System.IO.Path]::GetFileName($d)
        if ($name -notmatch '^\d+$' -or [int] $name -eq $PID) { continue }
        $state = $null
        try {
            $cmd = [System.IO.File]::ReadAllText("$d/cmdline")
            if ($cmd -match '(/run/kc-sshd-[0-9a-f]+)/') { $state = $Matches[1] }
            else {
                $envText = [System.IO.File]::ReadAllText("$d/environ")
                if ($envText -match "(?:^|\x00)KC_SSHD_STATE=(/run/kc-sshd-[0-9a-f]+)(?:\x00|$)") { $state = $Matches[1] }
            }
        }
        catch { continue }
        if ($state) { [pscustomobject]@{ Id = [int] $name; State = $state } }
    }
}

function Find-KcSshdLeftover {
    <# Everything a test sshd left behind: state directories /run/kc-sshd-* and processes tagged as above. #>
    foreach ($dir in [System.IO.Directory]::GetDirectories('/run', 'kc-sshd-*')) { "directory $dir" }
    foreach ($p in Find-KcSshdTaggedProcess) { "process $($p.Id) ($($p.State))" }
}

Export-ModuleMember -Function Test-KcSshdAvailable, Start-KcSshd, Stop-KcSshd, New-KcSshSessionParameters,
    Find-KcSshdTaggedProcess, Find-KcSshdLeftover
