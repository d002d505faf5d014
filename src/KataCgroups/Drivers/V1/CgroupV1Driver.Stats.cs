using System.Collections.Immutable;
using KataCgroups.Errors;
using KataCgroups.Host;
using KataCgroups.Paths;
using KataCgroups.Stats;

namespace KataCgroups.Drivers.V1;

public sealed partial class CgroupV1Driver
{
    /// <summary>
    /// Where v1 block IO numbers come from, in runc's order (fs/blkio.go GetStats): BFQ, then CFQ, then the
    /// throttle layer; the <c>_recursive</c> files so IO of child cgroups (a VMM's helpers) counts, as
    /// memory.usage_in_bytes and cpuacct.usage do. Unlike runc, a source is used only when it has device rows:
    /// the BFQ files exist on every kernel that builds BFQ but stay empty for devices on another scheduler, while
    /// the throttle layer counts every bio.
    /// </summary>
    private static readonly ImmutableArray<(string Source, string Bytes, string Ops)> BlkioSources = ImmutableArray.Create(
        ("blkio.bfq", "blkio.bfq.io_service_bytes", "blkio.bfq.io_serviced"),
        ("blkio", "blkio.io_service_bytes", "blkio.io_serviced"),
        ("blkio.throttle", "blkio.throttle.io_service_bytes", "blkio.throttle.io_serviced"));

    /// <inheritdoc/>
    public CgroupStats Stats(CgroupTarget target)
    {
        if (!Exists(target)) throw CgroupErrors.NotFound(target.CgroupPath, target.RequestedPath);
        string? Dir(string controller)
        {
            if (!_layout.TryGet(controller, out var h)) return null;
            var d = h.DirectoryOf(target.CgroupPath);
            return Directory.Exists(d) ? d : null;
        }
        var mem = Dir("memory");
        var cpu = Dir("cpu");
        var cpuacct = Dir("cpuacct");
        var pids = Dir("pids");
        var blkio = Dir("blkio");
        var hugetlb = Dir("hugetlb");
        // PSI is a cgroup2 feature: on hybrid hosts it lives in the cgroup's unified-hierarchy directory
        // (Documentation/accounting/psi.rst "Cgroup2 interface"); a legacy host has none.
        string? unified = Host.Mode == CgroupMode.Hybrid && Host.Unified is { } u && Directory.Exists(u.DirectoryOf(target.CgroupPath))
            ? u.DirectoryOf(target.CgroupPath) : null;
        var sample = CgroupStats.Begin(target, Kind, Host.Mode);

        // memory.stat: the total_* keys include descendants (use_hierarchy is always 1 since Linux 5.x), matching
        // memory.usage_in_bytes, which counts the cgroup's whole subtree.
        var memStat = StatFiles.Keyed(mem, "memory.stat");
        long? usage = StatFiles.Number(mem, "memory.usage_in_bytes");
        long? memsw = StatFiles.Number(mem, "memory.memsw.usage_in_bytes");
        var (user, system) = StatParsers.CpuacctStat(StatFiles.Read(cpuacct, "cpuacct.stat"));
        var cpuStat = StatFiles.Keyed(cpu, "cpu.stat");
        var (source, devices) = ReadBlkio(blkio);

        return sample with
        {
            MemoryUsageBytes = usage,
            MemoryLimitBytes = StatFiles.Number(mem, "memory.limit_in_bytes", StatFiles.V1UnlimitedAbove),
            MemoryPeakBytes = StatFiles.Number(mem, "memory.max_usage_in_bytes"),
            MemoryAnonBytes = memStat.Get("total_rss") ?? memStat.Get("rss"),
            MemoryFileBytes = memStat.Get("total_cache") ?? memStat.Get("cache"),
            // memsw counts memory + swap (cgroup-v1/memory.rst 2.4); swap alone is the difference.
            SwapUsageBytes = memsw is { } ms && usage is { } us ? Math.Max(0, ms - us) : null,
            MemoryFailCount = StatFiles.Number(mem, "memory.failcnt"),
            // oom_kill in memory.oom_control since Linux 4.13.
            OomKillCount = StatFiles.Keyed(mem, "memory.oom_control").Get("oom_kill"),
            MemoryStat = memStat,
            // cpuacct.usage is ns; cpu.stat throttled_time is ns (cgroup-v1 has no µs files).
            CpuUsageUsec = StatFiles.Number(cpuacct, "cpuacct.usage") / 1000,
            CpuUserUsec = user,
            CpuSystemUsec = system,
            CpuPeriods = cpuStat.Get("nr_periods"),
            CpuThrottledPeriods = cpuStat.Get("nr_throttled"),
            CpuThrottledUsec = cpuStat.Get("throttled_time") / 1000,
            PidsCurrent = StatFiles.Number(pids, "pids.current"),
            PidsLimit = StatFiles.Number(pids, "pids.max"),
            IoSource = source,
            IoDevices = devices,
            Hugetlb = StatFiles.HugetlbSizes(hugetlb, "limit_in_bytes").Select(size => new HugetlbStats(size,
                StatFiles.Number(hugetlb, $"hugetlb.{size}.usage_in_bytes"),
                StatFiles.Number(hugetlb, $"hugetlb.{size}.max_usage_in_bytes"),
                StatFiles.Number(hugetlb, $"hugetlb.{size}.limit_in_bytes", StatFiles.V1UnlimitedAbove),
                StatFiles.Number(hugetlb, $"hugetlb.{size}.failcnt"))).ToList(),
            CpuPressure = StatFiles.Pressure(unified, "cpu.pressure"),
            MemoryPressure = StatFiles.Pressure(unified, "memory.pressure"),
            IoPressure = StatFiles.Pressure(unified, "io.pressure"),
        };
    }

    private static (string? Source, List<IoDeviceStats> Devices) ReadBlkio(string? dir)
    {
        if (dir is null) return (null, new());
        string? first = null;
        foreach (var (source, bytesFile, opsFile) in BlkioSources)
        {
            var bytes = StatFiles.Read(dir, bytesFile + "_recursive") ?? StatFiles.Read(dir, bytesFile);
            if (bytes is null) continue;
            first ??= source;
            var rows = StatParsers.BlkioDevices(bytes, StatFiles.Read(dir, opsFile + "_recursive") ?? StatFiles.Read(dir, opsFile));
            if (rows.Count > 0) return (source, rows);
        }
        return (first, new());
    }
}
