using System.Diagnostics;
using KataCgroups.Host;
using KataCgroups.Model;
using KataCgroups.Paths;

namespace KataCgroups.Stats;

/// <summary>
/// One PSI line (Documentation/accounting/psi.rst): the share of wall time in which some (or all) runnable tasks
/// of the cgroup were stalled on the resource, averaged over 10, 60 and 300 seconds (percent), and the total
/// stall time in microseconds since the cgroup was created.
/// </summary>
/// <param name="Avg10">Percent over the last 10 s.</param>
/// <param name="Avg60">Percent over the last 60 s.</param>
/// <param name="Avg300">Percent over the last 300 s.</param>
/// <param name="TotalUsec">Total stall time, µs.</param>
public sealed record PressureLine(double Avg10, double Avg60, double Avg300, long TotalUsec);

/// <summary>
/// A <c>&lt;resource&gt;.pressure</c> file. <see cref="Full"/> is null where the kernel has no "full" line
/// (cpu.pressure before Linux 5.13).
/// </summary>
/// <param name="Some">At least one task stalled.</param>
/// <param name="Full">All non-idle tasks stalled at once.</param>
public sealed record Pressure(PressureLine? Some, PressureLine? Full);

/// <summary>Block IO of one device, summed over the cgroup and its descendants.</summary>
/// <param name="Major">Device major number.</param>
/// <param name="Minor">Device minor number.</param>
/// <param name="ReadBytes">Bytes read.</param>
/// <param name="WriteBytes">Bytes written.</param>
/// <param name="ReadOps">Read requests.</param>
/// <param name="WriteOps">Write requests.</param>
/// <param name="DiscardBytes">Bytes discarded (v2 only).</param>
/// <param name="DiscardOps">Discard requests (v2 only).</param>
public sealed record IoDeviceStats(long Major, long Minor, long ReadBytes, long WriteBytes, long ReadOps, long WriteOps,
    long? DiscardBytes = null, long? DiscardOps = null)
{
    /// <summary>"major:minor", as the kernel names devices in io.stat and blkio files.</summary>
    public string Device => $"{Major}:{Minor}";
}

/// <summary>Huge page usage of one page size.</summary>
/// <param name="PageSize">As in the file names: <c>2MB</c>, <c>1GB</c>, <c>64KB</c>.</param>
/// <param name="UsageBytes">Bytes in use (v1 usage_in_bytes, v2 .current).</param>
/// <param name="MaxUsageBytes">Peak usage (v1 only).</param>
/// <param name="LimitBytes">Limit, -1 when unlimited.</param>
/// <param name="FailCount">Allocations refused by the limit (v1 failcnt, v2 events "max").</param>
public sealed record HugetlbStats(string PageSize, long? UsageBytes, long? MaxUsageBytes, long? LimitBytes, long? FailCount);

/// <summary>
/// What a cgroup uses now, read from its interface files (model: opencontainers/cgroups Stats, with runc's
/// meaning of each key). Every value is null when this host does not offer it. Counters are cumulative since
/// the cgroup was created; <see cref="CgroupStatsRates"/> turns two samples into rates.
/// </summary>
public sealed record CgroupStats
{
    /// <summary>The cgroup.</summary>
    public required CgroupTarget Target { get; init; }
    /// <summary>The driver that manages it.</summary>
    public required DriverKind Driver { get; init; }
    /// <summary>Host cgroup mode.</summary>
    public required CgroupMode Mode { get; init; }
    /// <summary>Wall-clock time of the sample (UTC).</summary>
    public required DateTime Timestamp { get; init; }
    /// <summary>Monotonic time of the sample (<see cref="Stopwatch.GetTimestamp"/>), for rates.</summary>
    public required long MonotonicTicks { get; init; }

    /// <summary>An empty sample stamped now (wall and monotonic clock); drivers fill it in with <c>with</c>.</summary>
    public static CgroupStats Begin(CgroupTarget target, DriverKind driver, CgroupMode mode) => new()
    {
        Target = target,
        Driver = driver,
        Mode = mode,
        Timestamp = DateTime.UtcNow,
        MonotonicTicks = Stopwatch.GetTimestamp(),
    };

    /// <summary>
    /// Memory in use, bytes, with the cgroup's descendants. v1 <c>memory.usage_in_bytes</c> (includes page cache),
    /// v2 <c>memory.current</c>.
    /// </summary>
    public long? MemoryUsageBytes { get; init; }
    /// <summary>Memory limit, bytes; -1 unlimited.</summary>
    public long? MemoryLimitBytes { get; init; }
    /// <summary>Peak usage: v1 <c>memory.max_usage_in_bytes</c>, v2 <c>memory.peak</c> (Linux 5.19+).</summary>
    public long? MemoryPeakBytes { get; init; }
    /// <summary>Anonymous memory: v2 <c>anon</c>; v1 <c>total_rss</c> (runc maps rss to anon).</summary>
    public long? MemoryAnonBytes { get; init; }
    /// <summary>Page cache: v2 <c>file</c>; v1 <c>total_cache</c> (runc maps cache to file).</summary>
    public long? MemoryFileBytes { get; init; }
    /// <summary>Swap in use, bytes, swap alone: v2 <c>memory.swap.current</c>; v1 memsw usage minus memory usage.</summary>
    public long? SwapUsageBytes { get; init; }
    /// <summary>v1 <c>memory.failcnt</c>: times usage hit the limit.</summary>
    public long? MemoryFailCount { get; init; }
    /// <summary>v2 <c>memory.events</c> low: reclaimed while under memory.low.</summary>
    public long? MemoryLowEvents { get; init; }
    /// <summary>v2 <c>memory.events</c> high: throttled above memory.high.</summary>
    public long? MemoryHighEvents { get; init; }
    /// <summary>v2 <c>memory.events</c> max: usage was about to exceed memory.max.</summary>
    public long? MemoryMaxEvents { get; init; }
    /// <summary>v2 <c>memory.events</c> oom: the OOM killer was invoked (or allocations failed).</summary>
    public long? MemoryOomEvents { get; init; }
    /// <summary>Processes killed by the OOM killer: v2 <c>memory.events</c> oom_kill, v1 <c>memory.oom_control</c> oom_kill.</summary>
    public long? OomKillCount { get; init; }
    /// <summary>Every key of memory.stat as the kernel wrote it (bytes or counts).</summary>
    public IReadOnlyDictionary<string, long> MemoryStat { get; init; } = new Dictionary<string, long>();

    /// <summary>CPU time used, µs: v1 <c>cpuacct.usage</c> (ns), v2 cpu.stat usage_usec.</summary>
    public long? CpuUsageUsec { get; init; }
    /// <summary>User CPU time, µs: v1 <c>cpuacct.stat</c> user (USER_HZ ticks), v2 user_usec.</summary>
    public long? CpuUserUsec { get; init; }
    /// <summary>System CPU time, µs: v1 <c>cpuacct.stat</c> system, v2 system_usec.</summary>
    public long? CpuSystemUsec { get; init; }
    /// <summary>CFS enforcement periods elapsed (cpu.stat nr_periods).</summary>
    public long? CpuPeriods { get; init; }
    /// <summary>Periods in which the cgroup was throttled (cpu.stat nr_throttled).</summary>
    public long? CpuThrottledPeriods { get; init; }
    /// <summary>Time throttled, µs: v1 throttled_time (ns), v2 throttled_usec.</summary>
    public long? CpuThrottledUsec { get; init; }

    /// <summary>pids.current.</summary>
    public long? PidsCurrent { get; init; }
    /// <summary>pids.max; -1 unlimited.</summary>
    public long? PidsLimit { get; init; }

    /// <summary>Block IO per device (v1 blkio, v2 io.stat); empty when nothing was done or no controller.</summary>
    public IReadOnlyList<IoDeviceStats> IoDevices { get; init; } = Array.Empty<IoDeviceStats>();
    /// <summary>Where the IO numbers came from (<c>io.stat</c>, <c>blkio.bfq</c>, <c>blkio.throttle</c>, …); null without IO accounting.</summary>
    public string? IoSource { get; init; }

    /// <summary>Huge page usage per page size.</summary>
    public IReadOnlyList<HugetlbStats> Hugetlb { get; init; } = Array.Empty<HugetlbStats>();

    /// <summary>cpu.pressure; null when the kernel has no PSI for this cgroup.</summary>
    public Pressure? CpuPressure { get; init; }
    /// <summary>memory.pressure; null when absent.</summary>
    public Pressure? MemoryPressure { get; init; }
    /// <summary>io.pressure; null when absent.</summary>
    public Pressure? IoPressure { get; init; }
}
