using KataCgroups.Stats;

namespace KataCgroups.PowerShell.Internal;

/// <summary>Engine statistics → the flat <see cref="KataCgroupStat"/> the cmdlet emits.</summary>
internal static class StatsOutput
{
    public static KataCgroupStat ToOutput(CgroupStats s, int sample, CgroupStatsRates? rates)
    {
        bool io = s.IoSource is not null;
        var o = new KataCgroupStat
        {
            Path = KataCgroups.Paths.CgroupWildcard.EscapeLiteral(s.Target.RequestedPath),   // a -Path value that names only this cgroup
            CgroupPath = s.Target.CgroupPath,
            Driver = s.Driver.ToString(),
            Mode = s.Mode.ToString(),
            Timestamp = s.Timestamp.ToLocalTime(),
            Sample = sample,
            IntervalSeconds = rates?.IntervalSeconds,
            MemoryUsageBytes = s.MemoryUsageBytes,
            MemoryLimitBytes = s.MemoryLimitBytes,
            MemoryPeakBytes = s.MemoryPeakBytes,
            MemoryAnonBytes = s.MemoryAnonBytes,
            MemoryFileBytes = s.MemoryFileBytes,
            SwapUsageBytes = s.SwapUsageBytes,
            MemoryFailCount = s.MemoryFailCount,
            MemoryLowEvents = s.MemoryLowEvents,
            MemoryHighEvents = s.MemoryHighEvents,
            MemoryMaxEvents = s.MemoryMaxEvents,
            MemoryOomEvents = s.MemoryOomEvents,
            OomKillCount = s.OomKillCount,
            CpuUsageUsec = s.CpuUsageUsec,
            CpuUserUsec = s.CpuUserUsec,
            CpuSystemUsec = s.CpuSystemUsec,
            CpuPeriods = s.CpuPeriods,
            CpuThrottledPeriods = s.CpuThrottledPeriods,
            CpuThrottledUsec = s.CpuThrottledUsec,
            CpuPercent = rates?.CpuPercent is { } p ? Math.Round(p, 2) : null,
            PidsCurrent = s.PidsCurrent,
            PidsLimit = s.PidsLimit,
            IoReadBytes = io ? s.IoDevices.Sum(d => d.ReadBytes) : null,
            IoWriteBytes = io ? s.IoDevices.Sum(d => d.WriteBytes) : null,
            IoReadOps = io ? s.IoDevices.Sum(d => d.ReadOps) : null,
            IoWriteOps = io ? s.IoDevices.Sum(d => d.WriteOps) : null,
            IoReadBytesPerSecond = Round(rates?.IoReadBytesPerSecond),
            IoWriteBytesPerSecond = Round(rates?.IoWriteBytesPerSecond),
            IoReadOpsPerSecond = Round(rates?.IoReadOpsPerSecond),
            IoWriteOpsPerSecond = Round(rates?.IoWriteOpsPerSecond),
            IoSource = s.IoSource,
            IoDevices = s.IoDevices.Select(d => new KataCgroupIoStat
            {
                Device = d.Device, Major = d.Major, Minor = d.Minor, ReadBytes = d.ReadBytes, WriteBytes = d.WriteBytes,
                ReadOps = d.ReadOps, WriteOps = d.WriteOps, DiscardBytes = d.DiscardBytes, DiscardOps = d.DiscardOps,
            }).ToArray(),
            Hugetlb = s.Hugetlb.Select(h => new KataCgroupHugetlbStat
            {
                PageSize = h.PageSize, UsageBytes = h.UsageBytes, MaxUsageBytes = h.MaxUsageBytes, LimitBytes = h.LimitBytes, FailCount = h.FailCount,
            }).ToArray(),
        };
        if (s.CpuPressure is { } cpu)
        {
            (o.CpuPressureSomeAvg10, o.CpuPressureSomeAvg60, o.CpuPressureSomeAvg300, o.CpuPressureSomeTotalUsec) = Split(cpu.Some);
            (o.CpuPressureFullAvg10, o.CpuPressureFullAvg60, o.CpuPressureFullAvg300, o.CpuPressureFullTotalUsec) = Split(cpu.Full);
        }
        if (s.MemoryPressure is { } mem)
        {
            (o.MemoryPressureSomeAvg10, o.MemoryPressureSomeAvg60, o.MemoryPressureSomeAvg300, o.MemoryPressureSomeTotalUsec) = Split(mem.Some);
            (o.MemoryPressureFullAvg10, o.MemoryPressureFullAvg60, o.MemoryPressureFullAvg300, o.MemoryPressureFullTotalUsec) = Split(mem.Full);
        }
        if (s.IoPressure is { } ioP)
        {
            (o.IoPressureSomeAvg10, o.IoPressureSomeAvg60, o.IoPressureSomeAvg300, o.IoPressureSomeTotalUsec) = Split(ioP.Some);
            (o.IoPressureFullAvg10, o.IoPressureFullAvg60, o.IoPressureFullAvg300, o.IoPressureFullTotalUsec) = Split(ioP.Full);
        }
        return o;
    }

    private static double? Round(double? v) => v is { } d ? Math.Round(d, 1) : null;

    private static (double?, double?, double?, long?) Split(PressureLine? l) =>
        l is null ? (null, null, null, null) : (l.Avg10, l.Avg60, l.Avg300, l.TotalUsec);
}
