using System.Globalization;

namespace KataCgroups.Events;

/// <summary>The memory events a wait can report.</summary>
public enum CgroupEventKind
{
    /// <summary>
    /// The cgroup ran out of memory: v2 <c>oom</c> ("the cgroup's memory usage reached the limit and allocation was
    /// about to fail"), v1 the OOM notification of <c>memory.oom_control</c>.
    /// </summary>
    Oom,
    /// <summary>A process in the cgroup (or below) was killed by an OOM killer (v2 <c>oom_kill</c>, v1 <c>oom_kill</c> of memory.oom_control, Linux ≥ 4.13).</summary>
    OomKill,
    /// <summary>Usage went over <c>memory.high</c> and the cgroup was throttled (v2 <c>high</c>; v1 has no memory.high).</summary>
    High,
    /// <summary>Usage reached the hard limit (v2 <c>max</c>; v1 a memory.usage_in_bytes threshold at the limit).</summary>
    Max,
}

/// <summary>One observed event: how many times it happened since the previous observation, and the counter now.</summary>
/// <param name="Kind">The event.</param>
/// <param name="Count">How many times it happened in this step (a counter delta or an eventfd count).</param>
/// <param name="Total">The kernel's counter after the step (null when the kernel keeps none, e.g. v1 OOM notifications).</param>
/// <param name="File">The file the event was read from.</param>
/// <param name="Timestamp">When it was observed.</param>
public sealed record CgroupEvent(CgroupEventKind Kind, long Count, long? Total, string File, DateTimeOffset Timestamp);

/// <summary>
/// Parsing of the kernel's flat-keyed event files and the difference between two readings. Pure: tested without a
/// kernel.
/// </summary>
public static class MemoryEventCounters
{
    /// <summary>v2 <c>memory.events</c> keys, in the order the kernel prints them (cgroup-v2.rst "memory.events").</summary>
    public static readonly IReadOnlyList<(string Key, CgroupEventKind Kind)> V2Keys = new[]
    {
        ("high", CgroupEventKind.High),
        ("max", CgroupEventKind.Max),
        ("oom", CgroupEventKind.Oom),
        ("oom_kill", CgroupEventKind.OomKill),
    };

    /// <summary>
    /// Parses a flat-keyed file (<c>key value</c> per line: memory.events, memory.oom_control). Unknown keys are kept
    /// (newer kernels add some, e.g. <c>oom_group_kill</c>, <c>sock_throttled</c>); lines that are not <c>key number</c>
    /// are skipped.
    /// </summary>
    public static Dictionary<string, long> ParseFlatKeyed(string? text)
    {
        var values = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in (text ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 2 && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var n))
                values[parts[0]] = n;
        }
        return values;
    }

    /// <summary>
    /// v2: the events between two readings of <c>memory.events</c>, one per key that grew, in the kernel's order. A
    /// counter that went down (the file of a different, re-created cgroup) is a new baseline, not an event.
    /// </summary>
    public static List<CgroupEvent> DiffV2(IReadOnlyDictionary<string, long> before, IReadOnlyDictionary<string, long> after, string file, DateTimeOffset now)
    {
        var events = new List<CgroupEvent>();
        foreach (var (key, kind) in V2Keys)
        {
            if (!after.TryGetValue(key, out var a)) continue;
            long b = before.TryGetValue(key, out var v) ? v : 0;
            if (a > b) events.Add(new CgroupEvent(kind, a - b, a, file, now));
        }
        return events;
    }

    /// <summary>The state of v1 <c>memory.oom_control</c>.</summary>
    /// <param name="OomKillDisable">The OOM killer is disabled for the cgroup (tasks wait instead of being killed).</param>
    /// <param name="UnderOom">The cgroup is out of memory right now.</param>
    /// <param name="OomKill">Processes killed by the OOM killer so far (null before Linux 4.13, which has no such line).</param>
    public sealed record OomControl(bool OomKillDisable, bool UnderOom, long? OomKill);

    /// <summary>Parses v1 <c>memory.oom_control</c> (memory.rst §10 "OOM Control").</summary>
    public static OomControl ParseOomControl(string? text)
    {
        var v = ParseFlatKeyed(text);
        return new OomControl(
            v.TryGetValue("oom_kill_disable", out var d) && d != 0,
            v.TryGetValue("under_oom", out var u) && u != 0,
            v.TryGetValue("oom_kill", out var k) ? k : null);
    }

    /// <summary>
    /// v1: how many of <paramref name="crossings"/> signals of a usage threshold were upward. The kernel signals a
    /// threshold eventfd each time usage crosses it, in either direction (memory.rst §9 "Memory thresholds"), so the
    /// crossings alternate, starting from the side usage was on (<paramref name="wasAbove"/>).
    /// </summary>
    public static long UpCrossings(bool wasAbove, long crossings) =>
        crossings <= 0 ? 0 : wasAbove ? crossings / 2 : (crossings + 1) / 2;

    /// <summary>
    /// v1: the events of one step: <paramref name="oomNotifications"/> OOM signals read from the eventfd, the growth of
    /// oom_kill (memory.oom_control), and <paramref name="limitHits"/> upward crossings of the usage threshold at the
    /// limit (v1's "max").
    /// </summary>
    public static List<CgroupEvent> DiffV1(long oomNotifications, OomControl before, OomControl after, long limitHits,
        string oomControlFile, string usageFile, DateTimeOffset now)
    {
        var events = new List<CgroupEvent>();
        if (limitHits > 0)
            events.Add(new CgroupEvent(CgroupEventKind.Max, limitHits, null, usageFile, now));
        if (oomNotifications > 0)
            events.Add(new CgroupEvent(CgroupEventKind.Oom, oomNotifications, null, oomControlFile, now));
        if (after.OomKill is { } ka && before.OomKill is { } kb && ka > kb)
            events.Add(new CgroupEvent(CgroupEventKind.OomKill, ka - kb, ka, oomControlFile, now));
        return events;
    }
}
