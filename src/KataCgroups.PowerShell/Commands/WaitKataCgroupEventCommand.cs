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
    /// <summary>Never wait less than this between looks at the counters: v1's memory.failcnt has no notification.</summary>
    private static readonly TimeSpan Rescan = TimeSpan.FromSeconds(1);

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
    private CgroupEventWaiter? _waiter;

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
        var active = new List<CgroupEventSource>(_sources);
        var deadline = Timeout is { } t ? DateTime.UtcNow.AddSeconds(t) : (DateTime?)null;
        long seen = 0;
        _waiter = new CgroupEventWaiter();
        WriteVerbose($"waiting for {Count} event(s) of kind {string.Join(", ", wanted)} in {active.Count} cgroup(s){(deadline is null ? "" : $" for at most {Timeout} s")}");
        // The first pass looks right away: something may have happened since registration.
        bool[] ready = active.Select(_ => false).ToArray();
        while (true)
        {
            for (int i = active.Count - 1; i >= 0; i--)
            {
                var source = active[i];
                foreach (var e in source.Collect(ready[i]))
                {
                    if (!wanted.Contains(e.Kind)) { WriteDebug($"{source.Target.CgroupPath}: {e.Kind} x{e.Count} (not waited for)"); continue; }
                    WriteObject(ToOutput(source, e));
                    seen += e.Count;
                }

                if (!source.Exists)
                {
                    WriteError(ErrorRecords.From(new CgroupException(ErrorIds.CgroupNotFound, CgroupErrorKind.NotFound,
                        $"cgroup {source.Target.CgroupPath} was removed while waiting for its events", _given[source]), _given[source]));
                    active.RemoveAt(i);
                }
            }
            if (seen >= Count || active.Count == 0) return;
            var left = deadline is { } d ? d - DateTime.UtcNow : System.Threading.Timeout.InfiniteTimeSpan;
            if (deadline is not null && left <= TimeSpan.Zero)
            {
                WriteError(new ErrorRecord(new TimeoutException(
                        $"{seen} of {Count} event(s) seen in {Timeout} s (waited for {string.Join(", ", wanted)} in {string.Join(", ", active.Select(s => s.Target.CgroupPath))})"),
                    ErrorIds.CgroupEventTimeout, ErrorCategory.OperationTimeout, string.Join(",", active.Select(s => _given[s]))));
                return;
            }
            var slice = left == System.Threading.Timeout.InfiniteTimeSpan || left > Rescan ? Rescan : left < TimeSpan.Zero ? TimeSpan.Zero : left;
            try
            {
                // The pipeline thread blocks here once per wake-up; Ctrl+C (StopProcessing) cancels the poll at once.
                ready = _waiter.WaitAsync(active, slice, _stop.Token).GetAwaiter().GetResult();
            }
            catch (OperationCanceledException)
            {
                return;
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
        _waiter?.Dispose();
        _waiter = null;
    }

    /// <summary>Releases the watches when the pipeline ends early (an error upstream, or Ctrl+C before EndProcessing).</summary>
    public void Dispose()
    {
        Release();
        _stop.Dispose();
    }
}
