using System.Management.Automation;
using System.Management.Automation.Runspaces;
using KataCgroups.PowerShell.Commands;

namespace KataCgroups.Tests.Support;

/// <summary>
/// An in-process runspace with the KataCgroups cmdlets added from the assembly (every public non-abstract
/// Cmdlet in KataCgroups.PowerShell.Commands), and a host that records -WhatIf output.
/// These run against the real host (CgroupManager.Default): tests may only use -WhatIf, inputs that fail
/// validation, or read-only cmdlets.
/// </summary>
internal sealed class PowerShellSession : IDisposable
{
    public static readonly IReadOnlyList<Type> CommandTypes = typeof(NewKataCgroupCommand).Assembly.GetTypes()
        .Where(t => t.Namespace == typeof(NewKataCgroupCommand).Namespace && t.IsPublic && !t.IsAbstract && typeof(Cmdlet).IsAssignableFrom(t))
        .OrderBy(t => t.Name, StringComparer.Ordinal)
        .ToList();

    private readonly Runspace _runspace;

    public PowerShellSession()
    {
        var iss = InitialSessionState.CreateDefault2();
        foreach (var type in CommandTypes)
        {
            var attribute = (CmdletAttribute)Attribute.GetCustomAttribute(type, typeof(CmdletAttribute))!;
            iss.Commands.Add(new SessionStateCmdletEntry($"{attribute.VerbName}-{attribute.NounName}", type, null));
        }
        Host = new RecordingHost();
        _runspace = RunspaceFactory.CreateRunspace(Host, iss);
        _runspace.Open();
    }

    public RecordingHost Host { get; }

    /// <summary>Runs a script; returns its output and its non-terminating errors.</summary>
    public (List<PSObject> Output, List<ErrorRecord> Errors, List<WarningRecord> Warnings) Run(string script)
    {
        using var ps = System.Management.Automation.PowerShell.Create();
        ps.Runspace = _runspace;
        ps.AddScript(script);
        var output = ps.Invoke().ToList();
        return (output, ps.Streams.Error.ToList(), ps.Streams.Warning.ToList());
    }

    /// <summary>
    /// Runs one command line inside <c>try/catch</c>: a terminating error (ThrowTerminatingError, a parameter
    /// binding failure) is caught and returned; a non-terminating one is not caught and lands in Errors.
    /// </summary>
    public (ErrorRecord? Terminating, List<ErrorRecord> Errors) RunCatching(string commandLine)
    {
        var (output, errors, _) = Run("try { " + commandLine + " } catch { $_ }");
        var caught = output.Select(o => o.BaseObject).OfType<ErrorRecord>().SingleOrDefault();
        return (caught, errors);
    }

    public void Dispose() => _runspace.Dispose();
}
