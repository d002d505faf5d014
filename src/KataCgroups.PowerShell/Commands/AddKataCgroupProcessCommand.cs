using System.Management.Automation;
using KataCgroups.Errors;
using KataCgroups.Paths;
using KataCgroups.PowerShell.Completion;
using KataCgroups.PowerShell.Internal;

namespace KataCgroups.PowerShell.Commands;

/// <summary>
/// Moves processes into a Kata cgroup, in every hierarchy. <c>-Id</c> binds by property name, so
/// <c>Get-Process qemu* | Add-KataCgroupProcess -Path …</c> works. A process that does not exist (or exits
/// during the move) is reported as a non-terminating error; the others are still moved.
/// </summary>
[Cmdlet(VerbsCommon.Add, "KataCgroupProcess", SupportsShouldProcess = true)]
[OutputType(typeof(KataCgroup))]
public sealed class AddKataCgroupProcessCommand : KataCgroupCommandBase
{
    /// <summary>The cgroup, as given to New-KataCgroup; a wildcard must match exactly one existing Kata cgroup.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [AllowEmptyString]
    [ArgumentCompleter(typeof(CgroupPathCompleter))]
    public string Path { get; set; } = "";

    /// <summary>Process ids (a Process object's Id binds here; piped integers are taken as ids too).</summary>
    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [Alias("Pid", "ProcessId")]
    [ArgumentCompleter(typeof(HostValueCompleter))]
    public int[] Id { get; set; } = Array.Empty<int>();

    /// <summary>
    /// Move the processes even into an unfinished cgroup (Get-KataCgroup shows State Unfinished: its limits or device
    /// rules may be missing), with a warning, instead of failing with CgroupUnfinished.
    /// </summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Emit each cgroup once, after all processes were added.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>A piped object: a Process (its Id binds to -Id by property name) or a pid.</summary>
    [Parameter(ValueFromPipeline = true, DontShow = true)]
    public PSObject? InputObject { get; set; }

    private bool _pathOnCommandLine;

    /// <inheritdoc/>
    protected override void BeginProcessing() => _pathOnCommandLine = MyInvocation.BoundParameters.ContainsKey(nameof(Path));

    private readonly List<CgroupTarget> _touched = new();

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        // A Process has a Path property too (its executable), which would bind to -Path by name and name a
        // cgroup such as /usr/bin/kata_qemu. Processes must be piped with -Path given.
        if (!_pathOnCommandLine && InputObject?.BaseObject is System.Diagnostics.Process proc)
        {
            WriteError(ErrorRecords.Invalid(ErrorIds.CgroupPathRequired,
                $"process {proc.Id} was piped without -Path: give the cgroup, e.g. Get-Process qemu* | Add-KataCgroupProcess -Path /kubepods/pod1/sandbox1",
                proc.Id));
            return;
        }
        var ids = Id.Length > 0 ? Id
            : InputObject?.BaseObject is int or long or uint ? new[] { Convert.ToInt32(InputObject.BaseObject, System.Globalization.CultureInfo.InvariantCulture) }
            : null;
        if (ids is null)
        {
            ThrowTerminatingError(ErrorRecords.Invalid(ErrorIds.ProcessIdRequired,
                "no process id: give -Id, or pipe processes or process ids", InputObject));
            return;
        }
        CgroupTarget target;
        try
        {
            target = SingleTarget(Path, literal: false);   // a wildcard must match exactly one cgroup
            foreach (var pid in ids) CgroupManager.ValidatePid(pid);
        }
        catch (CgroupException e)
        {
            WriteEngineError(e, Path);
            return;
        }
        var pids = string.Join(", ", ids);
        if (!ShouldProcess($"Move process(es) {pids} into cgroup {target.CgroupPath} (write each pid to cgroup.procs in every hierarchy)",
                $"Move process(es) {pids} into cgroup {target.CgroupPath}?", "Add-KataCgroupProcess"))
            return;
        try
        {
            var outcome = Manager.AddProcesses(target, ids, Log, Force.IsPresent);
            if (outcome.Skipped)
            {
                WriteSkipped($"moving process(es) {pids} into cgroup {target.CgroupPath}", outcome.SkippedReason);
                return;
            }
            foreach (var o in outcome.Value!)
            {
                if (o.Added) continue;
                var id = o.Vanished ? ErrorIds.ProcessNotFound : ErrorIds.ProcessMoveFailed;
                var category = o.Vanished ? ErrorCategory.ObjectNotFound : ErrorCategory.WriteError;
                WriteError(new ErrorRecord(new InvalidOperationException(o.Error), id, category, o.Pid));
            }
            if (!_touched.Contains(target)) _touched.Add(target);
        }
        catch (CgroupException e)
        {
            WriteEngineError(e, Path);
        }
    }

    /// <inheritdoc/>
    protected override void EndProcessing()
    {
        base.EndProcessing();
        if (!PassThru) return;
        foreach (var target in _touched)
        {
            try { WriteObject(Snapshots.ToOutput(Manager.Read(target))); }
            catch (CgroupException e) { WriteEngineError(e, target.RequestedPath); }
        }
    }
}
