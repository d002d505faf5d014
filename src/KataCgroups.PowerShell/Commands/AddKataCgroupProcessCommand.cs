using KataCgroups.Model;
using System.Management.Automation;
using KataCgroups.Errors;
using KataCgroups.Paths;
using KataCgroups.PowerShell.Completion;
using KataCgroups.PowerShell.Internal;

namespace KataCgroups.PowerShell.Commands;

/// <summary>
/// Moves processes into a Kata cgroup, in every hierarchy. <c>-Id</c> binds by property name, so
/// <c>Get-Process qemu* | Add-KataCgroupProcess -Path …</c> works. A process that does not exist (or exits
/// during the move) is reported as a non-terminating error; the others are still moved. <c>-ThreadId</c> moves single
/// threads instead (Kata's AddThread): v1 <c>tasks</c>; on cgroup v2 a domain cgroup takes the whole process, said in a
/// warning; a systemd scope refuses (ThreadPlacementUnsupported).
/// </summary>
[Cmdlet(VerbsCommon.Add, "KataCgroupProcess", SupportsShouldProcess = true, DefaultParameterSetName = ProcessSet)]
[OutputType(typeof(KataCgroup))]
public sealed class AddKataCgroupProcessCommand : KataCgroupCommandBase
{
    private const string ProcessSet = "Process";
    private const string ThreadSet = "Thread";

    /// <summary>The cgroup, as given to New-KataCgroup; a wildcard must match exactly one existing Kata cgroup.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [AllowEmptyString]
    [ArgumentCompleter(typeof(CgroupPathCompleter))]
    public string Path { get; set; } = "";

    /// <summary>Process ids (a Process object's Id binds here; piped integers are taken as ids too).</summary>
    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true, ParameterSetName = ProcessSet)]
    [Alias("Pid", "ProcessId")]
    [ArgumentCompleter(typeof(HostValueCompleter))]
    public int[] Id { get; set; } = Array.Empty<int>();

    /// <summary>
    /// Thread ids (as in /proc/&lt;pid&gt;/task) to move alone, without the rest of their process: each is written to
    /// <c>tasks</c> in every v1 hierarchy (the cgroup2 tree of a hybrid host keeps threads with their process). On cgroup
    /// v2 a thread can sit apart from its process only in a threaded cgroup (<c>cgroup.threads</c>); in a domain
    /// cgroup the thread id moves its whole process, as Kata does on v2, with a warning.
    /// </summary>
    [Parameter(Mandatory = true, ParameterSetName = ThreadSet)]
    [Alias("Tid")]
    public int[] ThreadId { get; set; } = Array.Empty<int>();

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
    [Parameter(ValueFromPipeline = true, DontShow = true, ParameterSetName = ProcessSet)]
    public PSObject? InputObject { get; set; }

    private bool _pathOnCommandLine;

    /// <inheritdoc/>
    protected override void BeginProcessing() => _pathOnCommandLine = MyInvocation.BoundParameters.ContainsKey(nameof(Path));

    private readonly List<CgroupTarget> _touched = new();

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        if (ParameterSetName == ThreadSet)
        {
            Place(ThreadId, threads: true);
            return;
        }
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
        Place(ids, threads: false);
    }

    /// <summary>Moves processes (or, with <paramref name="threads"/>, single threads) and reports each one that did not move.</summary>
    private void Place(int[] ids, bool threads)
    {
        CgroupTarget target;
        try
        {
            target = SingleTarget(Path, literal: false);   // a wildcard must match exactly one cgroup
            foreach (var id in ids) CgroupManager.ValidatePid(id);
        }
        catch (CgroupException e)
        {
            WriteEngineError(e, Path);
            return;
        }
        var what = (threads ? "thread(s) " : "process(es) ") + string.Join(", ", ids);
        var how = threads
            ? "write each thread id to tasks in every v1 hierarchy; cgroup.threads, or on a domain cgroup its whole process, on v2"
            : "write each pid to cgroup.procs in every hierarchy";
        if (!ShouldProcess($"Move {what} into cgroup {target.CgroupPath} ({how})", $"Move {what} into cgroup {target.CgroupPath}?", "Add-KataCgroupProcess"))
            return;
        try
        {
            string? skipped;
            List<(int Id, bool Added, bool Vanished, string? Error, string? ErrorId)> results;
            var whole = new List<ThreadOutcome>();
            if (threads)
            {
                var outcome = Manager.AddThreads(target, ids, Log, Force.IsPresent);
                skipped = outcome.SkippedReason;
                results = (outcome.Value ?? Array.Empty<ThreadOutcome>()).Select(o => (o.ThreadId, o.Added, o.Vanished, o.Error, (string?)null)).ToList();
                whole.AddRange((outcome.Value ?? Array.Empty<ThreadOutcome>()).Where(o => o.Placement == ThreadPlacement.WholeProcess));
            }
            else
            {
                var outcome = Manager.AddProcesses(target, ids, Log, Force.IsPresent);
                skipped = outcome.SkippedReason;
                results = (outcome.Value ?? Array.Empty<ProcessOutcome>()).Select(o => (o.Pid, o.Added, o.Vanished, o.Error, o.ErrorId)).ToList();
            }
            if (skipped is not null)
            {
                WriteSkipped($"moving {what} into cgroup {target.CgroupPath}", skipped);
                return;
            }
            foreach (var (id, added, vanished, error, errorId) in results)
            {
                if (added) continue;
                WriteError(new ErrorRecord(new InvalidOperationException(error), errorId ?? (vanished ? ErrorIds.ProcessNotFound : ErrorIds.ProcessMoveFailed),
                    vanished || errorId == ErrorIds.CgroupNotFound ? ErrorCategory.ObjectNotFound : ErrorCategory.WriteError, id));
            }
            if (whole.Count > 0)
                WriteWarning($"cgroup v2 keeps every thread of a process in one domain cgroup: thread(s) {string.Join(", ", whole.Select(o => o.ThreadId))} " +
                    $"moved their whole process(es) {string.Join(", ", whole.Select(o => o.ProcessId).Distinct())} into {target.CgroupPath}, as Kata's AddThread does on v2");
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
