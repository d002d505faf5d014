using System.Management.Automation;
using KataCgroups.Errors;
using KataCgroups.Model;
using KataCgroups.Paths;
using KataCgroups.PowerShell.Internal;

namespace KataCgroups.PowerShell.Commands;

/// <summary>
/// What every KataCgroups cmdlet shares: the host's engine (probed once per session), the log that forwards
/// engine reports to the streams, and the error conventions (STYLE rule 4).
/// </summary>
public abstract class KataCgroupCommandBase : PSCmdlet
{
    private CgroupManager? _manager;
    private CmdletLog? _log;

    /// <summary>
    /// D-Bus address of the systemd to use for systemd-form paths (<c>slice:prefix:name</c>), e.g.
    /// <c>unix:path=/run/dbus/system_bus_socket</c>. Default: systemd's private socket when reachable, else the
    /// system bus (DBUS_SYSTEM_BUS_ADDRESS is honoured).
    /// </summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? SystemdBusAddress { get; set; }

    /// <summary>
    /// Which driver manages the cgroup: <c>Auto</c> (default) picks systemd for <c>slice:prefix:name</c> paths and
    /// cgroupfs for the rest; <c>Systemd</c> requires the systemd form (Kata's systemd cgroup mode); <c>Cgroupfs</c>
    /// refuses it.
    /// </summary>
    [Parameter]
    public KataCgroupDriver Driver { get; set; }

    /// <summary>The engine for this host; a failed host probe ends the command.</summary>
    private protected CgroupManager Manager => _manager ??= Terminating(() => CgroupManager.Default.ForSystemdBus(SystemdBusAddress));

    /// <summary>Engine reports → Verbose/Warning/Debug/Progress.</summary>
    private protected ICgroupLog Log => _log ??= new CmdletLog(this);

    /// <inheritdoc/>
    protected override void EndProcessing() => _log?.CompleteAll();   // a bar is never left behind

    /// <summary>Applies the Kata path rules under the chosen <see cref="Driver"/>.</summary>
    private protected CgroupTarget Resolve(string path) => Manager.Resolve(path, Selection);

    /// <summary>Parameter set of the cmdlets that take <c>-Path</c> (wildcards expanded) or <c>-LiteralPath</c>.</summary>
    private protected const string PathSet = "Path";
    /// <summary>Parameter set of <c>-LiteralPath</c>.</summary>
    private protected const string LiteralPathSet = "LiteralPath";

    /// <summary>
    /// The cgroups some <c>-Path</c> values name (<paramref name="literal"/>: <c>-LiteralPath</c> values), each value in
    /// turn: a value without wildcards names one cgroup whether or not it exists (the action then says it does not), a
    /// value with wildcards every existing Kata cgroup that matches, maybe none — as Get-ChildItem and Remove-Item
    /// take paths (CgroupManager.Expand). A value that is itself wrong is an error record of its own; the others go on.
    /// </summary>
    private protected IEnumerable<(CgroupTarget Target, bool Wildcard)> Targets(IEnumerable<string> paths, bool literal)
    {
        foreach (var path in paths)
        {
            KataCgroups.Paths.PathExpansion expansion;
            try { expansion = literal ? new(path, false, new[] { Resolve(path) }) : Manager.Expand(path, Selection, Log); }
            catch (CgroupException e)
            {
                WriteEngineError(e, path);
                continue;
            }
            foreach (var t in expansion.Targets) yield return (t, expansion.Wildcard);
        }
    }

    /// <summary>
    /// The one cgroup a cmdlet that acts on a single cgroup is given: a wildcard must match exactly one. Throws
    /// CgroupNotFound for none and InvalidCgroupPath for more.
    /// </summary>
    private protected CgroupTarget SingleTarget(string path, bool literal)
    {
        if (literal) return Resolve(path);
        var expansion = Manager.Expand(path, Selection, Log);
        if (!expansion.Wildcard || expansion.Targets.Count == 1) return expansion.Targets[0];
        if (expansion.Targets.Count == 0)
            throw new CgroupException(ErrorIds.CgroupNotFound, CgroupErrorKind.NotFound, $"no Kata cgroup matches '{path}'", path);
        throw new CgroupException(ErrorIds.InvalidCgroupPath, CgroupErrorKind.InvalidArgument,
            $"'{path}' matches {expansion.Targets.Count} cgroups ({string.Join(", ", expansion.Targets.Take(3).Select(t => t.CgroupPath))}{(expansion.Targets.Count > 3 ? ", …" : "")}), and {MyInvocation.MyCommand.Name} acts on one: give a path that names one",
            path);
    }

    /// <summary>The engine's name for <see cref="Driver"/>.</summary>
    private protected KataCgroups.Model.DriverSelection Selection => (KataCgroups.Model.DriverSelection)(int)Driver;

    /// <summary>Runs an engine call whose failure ends the command (invocation-wide input).</summary>
    private protected T Terminating<T>(Func<T> action)
    {
        try { return action(); }
        catch (CgroupException e) { ThrowTerminatingError(ErrorRecords.From(e)); throw; }
    }

    /// <summary>A per-item engine failure: non-terminating, the pipeline goes on.</summary>
    private protected void WriteEngineError(CgroupException e, object? target) => WriteError(ErrorRecords.From(e, target));

    /// <summary>
    /// Whether ShouldProcess will show its text: for -WhatIf, a confirmation prompt (-Confirm, or $ConfirmPreference
    /// at or below this cmdlet's impact) or -Verbose (bound or by preference). Otherwise the text is never read, and
    /// building it — Remove counts the processes and lists the directories that exist — is work a runbook loop pays
    /// on every call for nothing. Asked once per command. A wrong "no" only makes the text shorter.
    /// </summary>
    private protected bool ShouldProcessTextShown => _textShown ??= ComputeTextShown();

    private bool? _textShown;

    private bool ComputeTextShown() => StepsShown || Log.VerboseEnabled;   // -Verbose or $VerbosePreference, decided once by the log

    /// <summary>
    /// Whether ShouldProcess shows its text to someone deciding or previewing: -WhatIf, or a confirmation prompt
    /// (-Confirm, or $ConfirmPreference at or below this cmdlet's impact). A change that lists its steps in the text
    /// lists them only then: under -Verbose alone the engine says each write as it makes it, and the same lines
    /// twice are noise.
    /// </summary>
    private protected bool StepsShown => _stepsShown ??= ComputeStepsShown();

    private bool? _stepsShown;

    /// <summary>-WhatIf, bound or by preference: ShouldProcess answers no without asking.</summary>
    private protected bool WhatIfMode => _whatIf ??= Switch("WhatIf") ?? LanguagePrimitives.IsTrue(GetVariableValue("WhatIfPreference"));

    private bool? _whatIf;

    private bool? Switch(string name) =>
        MyInvocation.BoundParameters.TryGetValue(name, out var v) ? LanguagePrimitives.IsTrue(v) : null;

    private bool ComputeStepsShown()
    {
        if (WhatIfMode) return true;
        var impact = Impacts.GetOrAdd(GetType(), _ => new CommandMetadata(MyInvocation.MyCommand).ConfirmImpact);
        return Switch("Confirm") ?? (GetVariableValue("ConfirmPreference") is ConfirmImpact pref && pref != ConfirmImpact.None && pref <= impact);
    }

    // This cmdlet's ConfirmImpact as PowerShell itself reads it (CommandMetadata, what proxy commands are built from),
    // once per cmdlet type.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<Type, ConfirmImpact> Impacts = new();

    /// <summary>The rootless outcome: say what was skipped and that nothing changed (STYLE rule 7).</summary>
    private protected void WriteSkipped(string action, string? reason) =>
        WriteWarning($"{MyInvocation.MyCommand.Name} skipped {action}: {reason}; nothing was changed.");
}
