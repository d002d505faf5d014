using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Runtime.CompilerServices;

namespace KataCgroups.PowerShell.Internal;

/// <summary>Forwards engine reports to the cmdlet's streams. Engine calls happen on the pipeline thread.</summary>
internal sealed class CmdletLog : ICgroupLog
{
    private readonly PSCmdlet _cmdlet;

    public CmdletLog(PSCmdlet cmdlet)
    {
        _cmdlet = cmdlet;
        // -Verbose (or -Verbose:$false) decides; else $VerbosePreference. Asked once per command: the engine reports
        // every write, mkdir, rmdir and pid move, and a runbook loop should not format them only to drop them.
        VerboseEnabled = cmdlet.MyInvocation.BoundParameters.TryGetValue("Verbose", out var v)
            ? LanguagePrimitives.IsTrue(v)
            : cmdlet.GetVariableValue("VerbosePreference") is not ActionPreference p
              || (p != ActionPreference.SilentlyContinue && p != ActionPreference.Ignore);
    }

    public bool VerboseEnabled { get; }

    public void Verbose(string message)
    {
        if (VerboseEnabled) _cmdlet.WriteVerbose(message);
    }

    public void Warning(string message) => _cmdlet.WriteWarning(message);

    // What each runspace has been told already: a host that lacks /dev/vhost-net lacks it on every New-KataCgroup,
    // and a runbook creating fifty sandboxes needs the warning once, not fifty times.
    private static readonly ConditionalWeakTable<Runspace, HashSet<string>> Noticed = new();

    /// <summary>A warning the first time in this runspace; a verbose line every time.</summary>
    public void HostNotice(string message)
    {
        Verbose(message);
        bool first = true;
        if (Runspace.DefaultRunspace is { } runspace)
        {
            var seen = Noticed.GetValue(runspace, static _ => new HashSet<string>(StringComparer.Ordinal));
            lock (seen) first = seen.Add(message);
        }
        if (first) Warning(message);
    }

    public void Debug(string message) => _cmdlet.WriteDebug(message);

    // One progress bar per activity name, so nested work (a job wait inside a removal) gets its own line.
    private readonly Dictionary<string, int> _activityIds = new(StringComparer.Ordinal);

    public void Progress(string activity, string status, int percent, bool completed)
    {
        if (!_activityIds.TryGetValue(activity, out var id))
        {
            if (completed) return;   // nothing was shown: nothing to complete
            id = _activityIds[activity] = 0x4b43 + _activityIds.Count;
        }
        var record = new ProgressRecord(id, activity, string.IsNullOrEmpty(status) ? activity : status)
        {
            PercentComplete = Math.Clamp(percent, -1, 100),
            RecordType = completed ? ProgressRecordType.Completed : ProgressRecordType.Processing,
        };
        _cmdlet.WriteProgress(record);
        if (completed) _activityIds.Remove(activity);
    }

    /// <summary>Completes every bar still shown (a command that ended early, or was stopped).</summary>
    public void CompleteAll()
    {
        foreach (var activity in _activityIds.Keys.ToList()) Progress(activity, "", -1, completed: true);
    }
}
