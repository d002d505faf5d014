using System.Management.Automation;
using KataCgroups.Errors;
using KataCgroups.Events;
using KataCgroups.PowerShell.Completion;
using KataCgroups.PowerShell.Internal;

namespace KataCgroups.PowerShell.Commands;

/// <summary>
/// Waits for memory events (OOM, OOM kill, memory.high, hard limit) of one or more Kata cgroups and emits one object
/// per event as it is seen. Every cgroup is registered with the kernel as it arrives (ProcessRecord), so nothing that
/// happens after that is missed; the wait itself runs in EndProcessing, until <c>-Count</c> events were seen, the
/// <c>-Timeout</c> passed (a non-terminating <c>CgroupEventTimeout</c> error), every cgroup was removed, or Ctrl+C.
/// Read-only.
/// </summary>
[Cmdlet(VerbsLifecycle.Wait, "KataCgroupEvent", DefaultParameterSetName = PathSet)]
[OutputType(typeof(KataCgroupEvent))]
public sealed class WaitKataCgroupEventCommand : KataCgroupCommandBase, IDisposable
{
    /// <summary>
    /// The cgroup(s), as given to New-KataCgroup (binds from a cgroup object's Path, and piped strings); wildcards
    /// match existing Kata cgroups.
    /// </summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = PathSet)]
    [SupportsWildcards]
    [AllowEmptyString]
    [ArgumentCompleter(typeof(CgroupPathCompleter))]
    public string[] Path { get; set; } = Array.Empty<string>();

    /// <summary>The cgroups, taken exactly as written: no character is a wildcard.</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = LiteralPathSet)]
    [Alias("LP")]
    [AllowEmptyString]
    public string[] LiteralPath { get; set; } = Array.Empty<string>();

    /// <summary>Which events to wait for (default: all). Others are observed but neither emitted nor counted.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public KataCgroupEventType[] Event { get; set; } = Enum.GetValues<KataCgroupEventType>();

    /// <summary>How many events to wait for, over all the cgroups (an event object with Count 2 counts twice). Default 1.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int Count { get; set; } = 1;

    /// <summary>Seconds to wait, from when the last cgroup was registered; default: no limit.</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int? Timeout { get; set; }

    private readonly List<CgroupEventSource> _sources = new();
    private readonly Dictionary<CgroupEventSource, string> _given = new();
    private readonly CancellationTokenSource _stop = new();

    private HashSet<CgroupEventKind> Wanted => Event.Select(e => (CgroupEventKind)(int)e).ToHashSet();

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        bool literal = ParameterSetName == LiteralPathSet;
        foreach (var (target, _) in Targets(literal ? LiteralPath : Path, literal))
        {
            var path = KataCgroups.Paths.CgroupWildcard.EscapeLiteral(target.RequestedPath);
            try
            {
                if (_sources.Any(s => s.Target.CgroupPath == target.CgroupPath && s.Target.Systemd?.UnitName == target.Systemd?.UnitName)) continue;
                var source = Manager.WatchEvents(target, Log);
                _sources.Add(source);
                _given[source] = path;
                // Kinds this host cannot report: a warning when asked for by name (or when nothing asked for can
                // occur), else a verbose note.
                var missing = Wanted.Where(k => !source.Supported.Contains(k)).ToList();
                bool named = MyInvocation.BoundParameters.ContainsKey(nameof(Event)) || missing.Count == Wanted.Count;
                foreach (var k in missing)
                {
                    var text = $"cgroup {target.CgroupPath}: {source.Unsupported(k)}.";
                    if (named) WriteWarning(text); else WriteVerbose(text);
                }
                if (missing.Count > 0 && missing.Count == Wanted.Count)
                    WriteWarning($"cgroup {target.CgroupPath}: none of the requested events ({string.Join(", ", Wanted)}) can occur here.");
            }
            catch (CgroupException e)
            {
                WriteEngineError(e, path);
            }
        }
    }

    /// <inheritdoc/>
    protected override void EndProcessing()
    {
        try { WaitForEvents(); }
        finally
        {
            Release();
            base.EndProcessing();
        }
    }

    private void WaitForEvents()
    {
        if (_sources.Count == 0) return;
        var wanted = Wanted;
        WriteVerbose($"waiting for {Count} event(s) of kind {string.Join(", ", wanted)} in {_sources.Count} cgroup(s){(Timeout is null ? "" : $" for at most {Timeout} s")}");
        // The engine decides when to look and when the wait is over; this thread writes what it reports.
        foreach (var step in new CgroupEventWatch(_sources, wanted, Count, Timeout).Run(_stop.Token))
        {
            switch (step.Kind)
            {
                case CgroupEventWatchKind.Event:
                    WriteObject(ToOutput(step.Source!, step.Event!));
                    break;
                case CgroupEventWatchKind.Ignored:
                    WriteDebug($"{step.Source!.Target.CgroupPath}: {step.Event!.Kind} x{step.Event.Count} (not waited for)");
                    break;
                case CgroupEventWatchKind.Removed:
                    WriteError(ErrorRecords.From(step.Error!, _given[step.Source!]));
                    break;
                case CgroupEventWatchKind.TimedOut:
                    WriteError(new ErrorRecord(new TimeoutException(step.Message), ErrorIds.CgroupEventTimeout, ErrorCategory.OperationTimeout,
                        string.Join(",", step.Waiting!.Select(s => _given[s]))));
                    break;
            }
        }
    }

    private KataCgroupEvent ToOutput(CgroupEventSource source, CgroupEvent e) => new()
    {
        Path = _given[source],
        CgroupPath = source.Target.CgroupPath,
        Event = e.Kind.ToString(),
        Count = e.Count,
        Total = e.Total,
        Timestamp = e.Timestamp,
        Driver = source.Driver.ToString(),
        File = e.File,
    };

    /// <inheritdoc/>
    protected override void StopProcessing() => _stop.Cancel();

    private void Release()
    {
        foreach (var s in _sources) s.Dispose();
        _sources.Clear();
    }

    /// <summary>Releases the watches when the pipeline ends early (an error upstream, or Ctrl+C before EndProcessing).</summary>
    public void Dispose()
    {
        Release();
        _stop.Dispose();
    }
}
