using KataCgroups.Errors;
using KataCgroups.Paths;
using KataCgroups.Stats;

namespace KataCgroups.Drivers.V2;

public sealed partial class CgroupV2Driver
{
    /// <inheritdoc/>
    public CgroupStats Stats(CgroupTarget target)
    {
        var dir = Dir(target);
        if (!Directory.Exists(dir)) throw CgroupErrors.NotFound(target.CgroupPath, target.RequestedPath);
        var sample = CgroupStats.Begin(target, Kind, Host.Mode);

        // cgroup-v2.rst: memory.stat anon/file are what v1 called rss/cache (runc fs2/memory.go); memory.events
        // counts the subtree's events (unless mounted with memory_localevents); cpu.stat's usage/user/system are
        // there even without the cpu controller, nr_periods/nr_throttled/throttled_usec only with it.
        var memStat = StatFiles.Keyed(dir, "memory.stat");
        var events = StatFiles.Keyed(dir, "memory.events");
        var cpuStat = StatFiles.Keyed(dir, "cpu.stat");
        var ioText = StatFiles.Read(dir, "io.stat");

        return sample with
        {
            MemoryUsageBytes = StatFiles.Number(dir, "memory.current"),
            MemoryLimitBytes = StatFiles.Number(dir, "memory.max"),
            // memory.peak since Linux 5.19.
            MemoryPeakBytes = StatFiles.Number(dir, "memory.peak"),
            MemoryAnonBytes = memStat.Get("anon"),
            MemoryFileBytes = memStat.Get("file"),
            // memory.swap.current is swap alone in v2 (no CONFIG_MEMCG_SWAP / swapaccount=0: no file → null).
            SwapUsageBytes = StatFiles.Number(dir, "memory.swap.current"),
            MemoryLowEvents = events.Get("low"),
            MemoryHighEvents = events.Get("high"),
            MemoryMaxEvents = events.Get("max"),
            MemoryOomEvents = events.Get("oom"),
            OomKillCount = events.Get("oom_kill"),
            MemoryStat = memStat,
            CpuUsageUsec = cpuStat.Get("usage_usec"),
            CpuUserUsec = cpuStat.Get("user_usec"),
            CpuSystemUsec = cpuStat.Get("system_usec"),
            CpuPeriods = cpuStat.Get("nr_periods"),
            CpuThrottledPeriods = cpuStat.Get("nr_throttled"),
            CpuThrottledUsec = cpuStat.Get("throttled_usec"),
            PidsCurrent = StatFiles.Number(dir, "pids.current"),
            PidsLimit = StatFiles.Number(dir, "pids.max"),
            IoSource = ioText is null ? null : "io.stat",
            IoDevices = StatParsers.IoStat(ioText),
            // hugetlb.<size>.events "max" counts allocations refused by the limit (runc fs2/hugetlb.go failcnt).
            Hugetlb = StatFiles.HugetlbSizes(dir, "max").Select(size => new HugetlbStats(size,
                StatFiles.Number(dir, $"hugetlb.{size}.current"),
                null,
                StatFiles.Number(dir, $"hugetlb.{size}.max"),
                StatFiles.Keyed(dir, $"hugetlb.{size}.events").Get("max"))).ToList(),
            CpuPressure = StatFiles.Pressure(dir, "cpu.pressure"),
            MemoryPressure = StatFiles.Pressure(dir, "memory.pressure"),
            IoPressure = StatFiles.Pressure(dir, "io.pressure"),
        };
    }
}
