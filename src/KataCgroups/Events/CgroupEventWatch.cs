using KataCgroups.Errors;

namespace KataCgroups.Events;

/// <summary>What one step of a <see cref="CgroupEventWatch"/> reports.</summary>
public enum CgroupEventWatchKind
{
    /// <summary>An event of a kind waited for; it counts towards the number asked for.</summary>
    Event,
    /// <summary>An event of a kind not waited for: observed, neither counted nor to be shown as output.</summary>
    Ignored,
    /// <summary>The cgroup was removed while waiting; its source is no longer watched.</summary>
    Removed,
    /// <summary>The time allowed ran out before enough events were seen; the watch ends.</summary>
    TimedOut,
}

/// <summary>One step of a <see cref="CgroupEventWatch"/>: the source it concerns (none for a timeout), the event, or why it ended.</summary>
/// <param name="Kind">What happened.</param>
/// <param name="Source">The cgroup's source (null for <see cref="CgroupEventWatchKind.TimedOut"/>).</param>
/// <param name="Event">The event (<see cref="CgroupEventWatchKind.Event"/> and <see cref="CgroupEventWatchKind.Ignored"/>).</param>
/// <param name="Error">The error to report (<see cref="CgroupEventWatchKind.Removed"/>: CgroupNotFound).</param>
/// <param name="Message">What to say (<see cref="CgroupEventWatchKind.TimedOut"/>: how many events were seen of how many).</param>
/// <param name="Waiting">The sources still watched when the time ran out (<see cref="CgroupEventWatchKind.TimedOut"/>).</param>
public readonly record struct CgroupEventWatchStep(CgroupEventWatchKind Kind, CgroupEventSource? Source, CgroupEvent? Event = null,
    CgroupException? Error = null, string? Message = null, IReadOnlyList<CgroupEventSource>? Waiting = null);

/// <summary>
/// Waits on armed event sources until <c>count</c> events of the wanted kinds were seen, the time allowed passed,
/// every cgroup was removed, or the caller cancels; each step is handed to the caller as it happens, so a cmdlet
/// writes its output from its own thread. The first look is immediate (something may have happened since the sources
/// were armed); after that the sources are polled together and looked at again at least every second, because v1's
/// <c>memory.failcnt</c> has no notification.
/// </summary>
public sealed class CgroupEventWatch
{
    /// <summary>Never wait less than this between looks at the counters.</summary>
    internal static readonly TimeSpan Rescan = TimeSpan.FromSeconds(1);

    private readonly IReadOnlyList<CgroupEventSource> _sources;
    private readonly IReadOnlySet<CgroupEventKind> _wanted;
    private readonly long _count;
    private readonly int? _timeoutSeconds;

    /// <summary>
    /// A watch over <paramref name="sources"/> (armed, owned by the caller) for <paramref name="count"/> events of the
    /// <paramref name="wanted"/> kinds, for at most <paramref name="timeoutSeconds"/> from the start of <see cref="Run"/>.
    /// </summary>
    public CgroupEventWatch(IReadOnlyList<CgroupEventSource> sources, IReadOnlySet<CgroupEventKind> wanted, long count, int? timeoutSeconds)
    {
        _sources = sources;
        _wanted = wanted;
        _count = count;
        _timeoutSeconds = timeoutSeconds;
    }

    /// <summary>The steps, as they happen; ends when the watch is over (a cancellation ends it quietly).</summary>
    public IEnumerable<CgroupEventWatchStep> Run(CancellationToken cancel)
    {
        if (_sources.Count == 0) yield break;
        var active = new List<CgroupEventSource>(_sources);
        var deadline = _timeoutSeconds is { } t ? DateTime.UtcNow.AddSeconds(t) : (DateTime?)null;
        long seen = 0;
        using var waiter = new CgroupEventWaiter();
        bool[] ready = new bool[active.Count];
        while (true)
        {
            for (int i = active.Count - 1; i >= 0; i--)
            {
                var source = active[i];
                foreach (var e in source.Collect(ready[i]))
                {
                    bool wanted = _wanted.Contains(e.Kind);
                    if (wanted) seen += e.Count;
                    yield return new(wanted ? CgroupEventWatchKind.Event : CgroupEventWatchKind.Ignored, source, e);
                }
                if (!source.Exists)
                {
                    yield return new(CgroupEventWatchKind.Removed, source, Error: new CgroupException(ErrorIds.CgroupNotFound, CgroupErrorKind.NotFound,
                        $"cgroup {source.Target.CgroupPath} was removed while waiting for its events", source.Target.RequestedPath));
                    active.RemoveAt(i);
                }
            }
            if (seen >= _count || active.Count == 0) yield break;
            var left = deadline is { } d ? d - DateTime.UtcNow : Timeout.InfiniteTimeSpan;
            if (deadline is not null && left <= TimeSpan.Zero)
            {
                yield return new(CgroupEventWatchKind.TimedOut, null, Waiting: active, Message:
                    $"{seen} of {_count} event(s) seen in {_timeoutSeconds} s (waited for {string.Join(", ", _wanted)} in {string.Join(", ", active.Select(s => s.Target.CgroupPath))})");
                yield break;
            }
            var slice = left == Timeout.InfiniteTimeSpan || left > Rescan ? Rescan : left < TimeSpan.Zero ? TimeSpan.Zero : left;
            bool[]? next;
            try
            {
                // The caller's thread blocks here once per wake-up; cancelling ends the poll at once.
                next = waiter.WaitAsync(active, slice, cancel).GetAwaiter().GetResult();
            }
            catch (OperationCanceledException)
            {
                next = null;
            }
            if (next is null) yield break;
            ready = next;
        }
    }
}
