using KataCgroups.Drivers;
using KataCgroups.Drivers.V1;
using KataCgroups.Drivers.V2;
using KataCgroups.Errors;
using KataCgroups.Host;
using KataCgroups.Model;
using KataCgroups.Paths;
using KataCgroups.Stats;
using KataCgroups.Tests.Support;

namespace KataCgroups.Tests.Stats;

/// <summary>
/// Which file each statistic comes from, per driver, on a fake root of ordinary files (the kernel's own numbers are
/// checked by the Pester suites on real cgroupfs): units, "unlimited", the v1 blkio source order, PSI from the
/// unified directory on hybrid hosts.
/// </summary>
public sealed class StatsDriverTests : IDisposable
{
    private static readonly CgroupTarget Target = CgroupTarget.Resolve("/kubepods/pod1/sandbox1");
    private const string Leaf = "/kubepods/pod1/kata_sandbox1";
    private readonly FakeCgroupRoot _fake = FakeCgroupRoot.Create();

    public void Dispose() => _fake.Dispose();

    private void V1Files()
    {
        _fake.MakeCgroupEverywhere(Leaf);
        _fake.Touch("memory", Leaf, "memory.usage_in_bytes", "60000000\n");
        _fake.Touch("memory", Leaf, "memory.limit_in_bytes", "9223372036854771712\n");
        _fake.Touch("memory", Leaf, "memory.max_usage_in_bytes", "70000000\n");
        _fake.Touch("memory", Leaf, "memory.memsw.usage_in_bytes", "61000000\n");
        _fake.Touch("memory", Leaf, "memory.failcnt", "5\n");
        _fake.Touch("memory", Leaf, "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
        _fake.Touch("memory", Leaf, "memory.stat", Fixture.Read("stats/memory.stat.v1"));
        _fake.Touch("cpu,cpuacct", Leaf, "cpuacct.usage", "2601593123\n");
        _fake.Touch("cpu,cpuacct", Leaf, "cpuacct.stat", "user 255\nsystem 5\n");
        _fake.Touch("cpu,cpuacct", Leaf, "cpu.stat", Fixture.Read("stats/cpu.stat.v1"));
        _fake.Touch("pids", Leaf, "pids.current", "3\n");
        _fake.Touch("pids", Leaf, "pids.max", "max\n");
        _fake.Touch("hugetlb", Leaf, "hugetlb.2MB.limit_in_bytes", "9223372036854771712\n");
        _fake.Touch("hugetlb", Leaf, "hugetlb.2MB.usage_in_bytes", "4194304\n");
        _fake.Touch("hugetlb", Leaf, "hugetlb.2MB.max_usage_in_bytes", "6291456\n");
        _fake.Touch("hugetlb", Leaf, "hugetlb.2MB.failcnt", "1\n");
        _fake.Touch("hugetlb", Leaf, "hugetlb.1GB.limit_in_bytes", "1073741824\n");
        _fake.Touch("hugetlb", Leaf, "hugetlb.1GB.usage_in_bytes", "0\n");
        _fake.Touch("unified", Leaf, "cpu.pressure", Fixture.Read("stats/cpu.pressure.pre-5.13"));
        _fake.Touch("unified", Leaf, "memory.pressure", Fixture.Read("stats/memory.pressure"));
    }

    [Fact]
    public void V1_UnitsAndSources()
    {
        V1Files();
        var s = _fake.V1Driver(CgroupMode.Hybrid).Stats(Target);
        Assert.Equal(DriverKind.CgroupfsV1, s.Driver);
        Assert.Equal(60000000, s.MemoryUsageBytes);
        Assert.Equal(-1, s.MemoryLimitBytes);
        Assert.Equal(70000000, s.MemoryPeakBytes);
        Assert.Equal(16539648, s.MemoryAnonBytes);   // total_rss
        Assert.Equal(543076352, s.MemoryFileBytes);  // total_cache
        Assert.Equal(1000000, s.SwapUsageBytes);     // memsw − usage
        Assert.Equal(5, s.MemoryFailCount);
        Assert.Equal(2, s.OomKillCount);
        Assert.Null(s.MemoryMaxEvents);
        Assert.Equal(2601593, s.CpuUsageUsec);       // ns → µs
        Assert.Equal(2550000, s.CpuUserUsec);        // ticks → µs
        Assert.Equal(50000, s.CpuSystemUsec);
        Assert.Equal((26L, 25L, 1952914L), (s.CpuPeriods!.Value, s.CpuThrottledPeriods!.Value, s.CpuThrottledUsec!.Value));
        Assert.Equal((3L, -1L), (s.PidsCurrent!.Value, s.PidsLimit!.Value));
        Assert.Equal(new[] { "2MB", "1GB" }, s.Hugetlb.Select(h => h.PageSize));
        Assert.Equal(new HugetlbStats("2MB", 4194304, 6291456, -1, 1), s.Hugetlb[0]);
        Assert.Null(s.CpuPressure!.Full);
        Assert.Equal(1.50, s.MemoryPressure!.Some!.Avg10);
        Assert.Null(s.IoPressure);                   // no io.pressure file: no PSI, not an error
        Assert.Null(s.IoSource);                     // no blkio stat files at all
    }

    [Fact]
    public void V1_Blkio_EmptyBfqFallsBackToThrottle()
    {
        V1Files();
        _fake.Touch("blkio", Leaf, "blkio.bfq.io_service_bytes_recursive", "Total 0\n");
        _fake.Touch("blkio", Leaf, "blkio.bfq.io_serviced_recursive", "Total 0\n");
        _fake.Touch("blkio", Leaf, "blkio.throttle.io_service_bytes_recursive", Fixture.Read("stats/blkio.throttle.io_service_bytes_recursive"));
        _fake.Touch("blkio", Leaf, "blkio.throttle.io_serviced_recursive", Fixture.Read("stats/blkio.throttle.io_serviced_recursive"));
        var s = _fake.V1Driver(CgroupMode.Hybrid).Stats(Target);
        Assert.Equal("blkio.throttle", s.IoSource);
        Assert.Equal(new[] { "8:0", "252:0" }, s.IoDevices.Select(d => d.Device));
    }

    [Fact]
    public void V1_Blkio_BfqWithRowsWins()
    {
        V1Files();
        _fake.Touch("blkio", Leaf, "blkio.bfq.io_service_bytes_recursive", "8:0 Read 1100\n8:0 Write 1200\n8:0 Total 2300\nTotal 2300\n");
        _fake.Touch("blkio", Leaf, "blkio.bfq.io_serviced_recursive", "8:0 Read 11\n8:0 Write 41\nTotal 52\n");
        _fake.Touch("blkio", Leaf, "blkio.throttle.io_service_bytes_recursive", Fixture.Read("stats/blkio.throttle.io_service_bytes_recursive"));
        var s = _fake.V1Driver(CgroupMode.Hybrid).Stats(Target);
        Assert.Equal("blkio.bfq", s.IoSource);
        Assert.Equal(new[] { new IoDeviceStats(8, 0, 1100, 1200, 11, 41) }, s.IoDevices);
    }

    [Fact]
    public void V1_Legacy_HasNoPsi()
    {
        V1Files();
        var s = _fake.V1Driver(CgroupMode.Legacy).Stats(Target);
        Assert.Null(s.CpuPressure);
        Assert.Null(s.MemoryPressure);
    }

    [Fact]
    public void V1_Missing_IsCgroupNotFound()
    {
        var e = Assert.Throws<CgroupException>(() => _fake.V1Driver(CgroupMode.Hybrid).Stats(Target));
        Assert.Equal(ErrorIds.CgroupNotFound, e.ErrorId);
    }

    [Fact]
    public void V2_UnitsAndSources()
    {
        var host = _fake.Probe(CgroupMode.Hybrid);
        _fake.MakeCgroup("unified", Leaf);
        _fake.Touch("unified", Leaf, "memory.current", "54767616\n");
        _fake.Touch("unified", Leaf, "memory.max", "max\n");
        _fake.Touch("unified", Leaf, "memory.peak", "60000000\n");
        _fake.Touch("unified", Leaf, "memory.swap.current", "0\n");
        _fake.Touch("unified", Leaf, "memory.stat", Fixture.Read("stats/memory.stat.v2"));
        _fake.Touch("unified", Leaf, "memory.events", Fixture.Read("stats/memory.events"));
        _fake.Touch("unified", Leaf, "cpu.stat", Fixture.Read("stats/cpu.stat.v2"));
        _fake.Touch("unified", Leaf, "pids.current", "2\n");
        _fake.Touch("unified", Leaf, "pids.max", "128\n");
        _fake.Touch("unified", Leaf, "io.stat", Fixture.Read("stats/io.stat"));
        _fake.Touch("unified", Leaf, "hugetlb.2MB.max", "4194304\n");
        _fake.Touch("unified", Leaf, "hugetlb.2MB.current", "2097152\n");
        _fake.Touch("unified", Leaf, "hugetlb.2MB.events", "max 3\n");
        _fake.Touch("unified", Leaf, "cpu.pressure", Fixture.Read("stats/cpu.pressure"));
        var s = new CgroupV2Driver(host, host.Unified!, _fake.Fs(host)).Stats(Target);
        Assert.Equal(DriverKind.CgroupfsV2, s.Driver);
        Assert.Equal((54767616L, -1L, 60000000L), (s.MemoryUsageBytes!.Value, s.MemoryLimitBytes!.Value, s.MemoryPeakBytes!.Value));
        Assert.Equal((52559872L, 1605632L, 0L), (s.MemoryAnonBytes!.Value, s.MemoryFileBytes!.Value, s.SwapUsageBytes!.Value));
        Assert.Equal((0L, 7L, 3L, 1L, 1L), (s.MemoryLowEvents!.Value, s.MemoryHighEvents!.Value, s.MemoryMaxEvents!.Value, s.MemoryOomEvents!.Value, s.OomKillCount!.Value));
        Assert.Null(s.MemoryFailCount);
        Assert.Equal((2601593L, 2551020L, 50573L), (s.CpuUsageUsec!.Value, s.CpuUserUsec!.Value, s.CpuSystemUsec!.Value));
        Assert.Equal((26L, 25L, 1952914L), (s.CpuPeriods!.Value, s.CpuThrottledPeriods!.Value, s.CpuThrottledUsec!.Value));
        Assert.Equal((2L, 128L), (s.PidsCurrent!.Value, s.PidsLimit!.Value));
        Assert.Equal("io.stat", s.IoSource);
        Assert.Equal(2, s.IoDevices.Count);
        Assert.Equal(new HugetlbStats("2MB", 2097152, null, 4194304, 3), Assert.Single(s.Hugetlb));
        Assert.Equal(14.60, s.CpuPressure!.Full!.Avg10);
        Assert.Null(s.MemoryPressure);
    }
}
