using System.Diagnostics;

namespace KataCgroups.Stats;

/// <summary>
/// Per-interval rates between two samples of the same cgroup. CPU percent is of one CPU (a cgroup using two
/// CPUs fully shows 200), like top(1) and the delta formula in docker stats before it multiplies by CPU count.
/// </summary>
/// <param name="IntervalSeconds">Wall time between the samples (monotonic clock).</param>
/// <param name="CpuPercent">Δ CPU usage / Δ wall time × 100.</param>
/// <param name="IoReadBytesPerSecond">Δ bytes read / s over all devices.</param>
/// <param name="IoWriteBytesPerSecond">Δ bytes written / s.</param>
/// <param name="IoReadOpsPerSecond">Δ read requests / s.</param>
/// <param name="IoWriteOpsPerSecond">Δ write requests / s.</param>
public sealed record CgroupStatsRates(double IntervalSeconds, double? CpuPercent, double? IoReadBytesPerSecond,
    double? IoWriteBytesPerSecond, double? IoReadOpsPerSecond, double? IoWriteOpsPerSecond)
{
    /// <summary>
    /// Rates from <paramref name="previous"/> to <paramref name="current"/>; null when they are not two samples of
    /// the same cgroup in time order. A counter that went backwards (the cgroup was removed and made again under
    /// the same name) gives no rate rather than a negative one.
    /// </summary>
    public static CgroupStatsRates? Between(CgroupStats previous, CgroupStats current)
    {
        if (previous.Target.CgroupPath != current.Target.CgroupPath) return null;
        long ticks = current.MonotonicTicks - previous.MonotonicTicks;
        if (ticks <= 0) return null;
        double seconds = (double)ticks / Stopwatch.Frequency;

        double? Rate(long? before, long? after, double scale = 1)
        {
            if (before is null || after is null || after < before) return null;
            return (after.Value - before.Value) * scale / seconds;
        }
        static long? Sum(CgroupStats s, Func<IoDeviceStats, long> f) =>
            s.IoSource is null ? null : s.IoDevices.Sum(f);

        return new CgroupStatsRates(
            seconds,
            // µs of CPU per µs of wall time, in percent: 1e6 µs per s → ×1e-6 ×100.
            Rate(previous.CpuUsageUsec, current.CpuUsageUsec, 100.0 / 1_000_000),
            Rate(Sum(previous, d => d.ReadBytes), Sum(current, d => d.ReadBytes)),
            Rate(Sum(previous, d => d.WriteBytes), Sum(current, d => d.WriteBytes)),
            Rate(Sum(previous, d => d.ReadOps), Sum(current, d => d.ReadOps)),
            Rate(Sum(previous, d => d.WriteOps), Sum(current, d => d.WriteOps)));
    }
}
