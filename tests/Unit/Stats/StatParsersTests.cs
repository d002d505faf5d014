using System.Diagnostics;
using KataCgroups.Drivers;
using KataCgroups.Host;
using KataCgroups.Model;
using KataCgroups.Paths;
using KataCgroups.Stats;
using KataCgroups.Tests.Support;

namespace KataCgroups.Tests.Stats;

/// <summary>
/// The statistics file formats (cgroup-v2.rst flat/nested keyed files, cgroup-v1 blkio rwstat, psi.rst), on fixture
/// texts taken from real kernels (Fixtures/stats), and the rates between two samples.
/// </summary>
public class StatParsersTests
{
    [Fact]
    public void MemoryStatV1_KeepsEveryKey_AndTheHierarchicalTotals()
    {
        var m = StatParsers.FlatKeyed(Fixture.Read("stats/memory.stat.v1"));
        Assert.Equal(42, m.Count);
        Assert.Equal(9019392, m["rss"]);
        Assert.Equal(16539648, m["total_rss"]);
        Assert.Equal(543076352, m["total_cache"]);
        // "unlimited" hierarchical limits are PAGE_COUNTER_MAX pages in bytes: they still parse
        Assert.Equal(9223372036854771712, m["hierarchical_memory_limit"]);
    }

    [Fact]
    public void MemoryStatV2_AnonAndFile()
    {
        var m = StatParsers.FlatKeyed(Fixture.Read("stats/memory.stat.v2"));
        Assert.Equal(52559872, m["anon"]);
        Assert.Equal(1605632, m["file"]);
        Assert.False(m.ContainsKey("rss"));
    }

    [Fact]
    public void MemoryEvents()
    {
        var m = StatParsers.FlatKeyed(Fixture.Read("stats/memory.events"));
        Assert.Equal((0L, 7L, 3L, 1L, 1L), (m["low"], m["high"], m["max"], m["oom"], m["oom_kill"]));
    }

    [Fact]
    public void FlatKeyed_SkipsMalformedLines_AndSaturatesU64()
    {
        var m = StatParsers.FlatKeyed("a 1\nnot-a-pair\nb x\nc 18446744073709551615\n\n d  4 \n");
        Assert.Equal(new Dictionary<string, long> { ["a"] = 1, ["c"] = long.MaxValue, ["d"] = 4 }, m);
        Assert.Empty(StatParsers.FlatKeyed(null));
    }

    [Fact]
    public void CpuStatV1_ThrottlingInNanoseconds()
    {
        var m = StatParsers.FlatKeyed(Fixture.Read("stats/cpu.stat.v1"));
        Assert.Equal((26L, 25L, 1952914337L), (m["nr_periods"], m["nr_throttled"], m["throttled_time"]));
    }

    [Fact]
    public void CpuStatV2_Microseconds()
    {
        var m = StatParsers.FlatKeyed(Fixture.Read("stats/cpu.stat.v2"));
        Assert.Equal((2601593L, 2551020L, 50573L), (m["usage_usec"], m["user_usec"], m["system_usec"]));
        Assert.Equal((26L, 25L, 1952914L), (m["nr_periods"], m["nr_throttled"], m["throttled_usec"]));
    }

    [Fact]
    public void CpuacctStat_TicksToMicroseconds()
    {
        Assert.Equal((1230000L, 40000L), StatParsers.CpuacctStat("user 123\nsystem 4\n"));
        Assert.Equal((null, null), StatParsers.CpuacctStat(null));
    }

    [Theory]
    [InlineData("268435456\n", long.MaxValue, 268435456L)]
    [InlineData("max\n", long.MaxValue, -1L)]
    [InlineData("9223372036854771712\n", 1L << 62, -1L)]
    [InlineData("", long.MaxValue, null)]
    [InlineData("garbage", long.MaxValue, null)]
    public void Number(string text, long unlimitedAbove, long? expected)
    {
        Assert.Equal(expected, StatParsers.Number(text, unlimitedAbove));
    }

    [Fact]
    public void IoStat_PerDevice()
    {
        var rows = StatParsers.IoStat(Fixture.Read("stats/io.stat"));
        Assert.Equal(new[]
        {
            new IoDeviceStats(254, 0, 1048576, 52428800, 256, 400, 0, 0),
            new IoDeviceStats(8, 16, 4096, 0, 1, 0, 8192, 2),
        }, rows);
        Assert.Equal("254:0", rows[0].Device);
    }

    [Fact]
    public void IoStat_OlderKernelWithoutDiscard_AndJunk()
    {
        var rows = StatParsers.IoStat("8:0 rbytes=10 wbytes=20 rios=1 wios=2\nbogus line\n8:1\n");
        Assert.Equal(new[] { new IoDeviceStats(8, 0, 10, 20, 1, 2, null, null) }, rows);
        Assert.Empty(StatParsers.IoStat(""));
    }

    [Fact]
    public void BlkioV1_JoinsBytesAndOps_AndIgnoresTheTotalLine()
    {
        var rows = StatParsers.BlkioDevices(
            Fixture.Read("stats/blkio.throttle.io_service_bytes_recursive"),
            Fixture.Read("stats/blkio.throttle.io_serviced_recursive"));
        Assert.Equal(new[]
        {
            new IoDeviceStats(8, 0, 11030528, 23, 164, 23),
            new IoDeviceStats(252, 0, 4096, 8192, 1, 2),
        }, rows);
    }

    [Fact]
    public void BlkioV1_EmptyFileIsOnlyTotal()
    {
        Assert.Empty(StatParsers.BlkioDevices("Total 0\n", "Total 0\n"));
        // a device seen only in the ops file still gets a row
        Assert.Equal(new[] { new IoDeviceStats(8, 0, 0, 0, 3, 4) }, StatParsers.BlkioDevices("Total 0\n", "8:0 Read 3\n8:0 Write 4\nTotal 7\n"));
    }

    [Fact]
    public void Pressure_SomeAndFull()
    {
        var p = StatParsers.Pressure(Fixture.Read("stats/cpu.pressure"));
        Assert.Equal(new PressureLine(14.67, 2.64, 0.55, 2219394), p!.Some);
        Assert.Equal(new PressureLine(14.60, 2.61, 0.54, 2201932), p.Full);
        var mem = StatParsers.Pressure(Fixture.Read("stats/memory.pressure"));
        Assert.Equal(0.75, mem!.Full!.Avg10);
    }

    [Fact]
    public void Pressure_CpuBefore513_HasNoFullLine()
    {
        var p = StatParsers.Pressure(Fixture.Read("stats/cpu.pressure.pre-5.13"));
        Assert.Equal(new PressureLine(0, 0.12, 0.03, 51234), p!.Some);
        Assert.Null(p.Full);
    }

    [Fact]
    public void Pressure_NothingUsable_IsNull()
    {
        Assert.Null(StatParsers.Pressure(null));
        Assert.Null(StatParsers.Pressure(""));
        Assert.Null(StatParsers.Pressure("some avg10=x avg60=1 avg300=1 total=1\n"));
    }

    [Theory]
    [InlineData("hugetlb.2MB.limit_in_bytes", "2MB")]
    [InlineData("hugetlb.1GB.max", "1GB")]
    [InlineData("hugetlb.64KB.events.local", "64KB")]
    [InlineData("hugetlb.2MB.rsvd.max", "2MB")]
    [InlineData("memory.max", null)]
    [InlineData("hugetlb.max", null)]
    public void HugetlbPageSize(string file, string? size)
    {
        Assert.Equal(size, StatParsers.HugetlbPageSize(file));
    }
}

/// <summary>Rates between two samples of the same cgroup.</summary>
public class CgroupStatsRatesTests
{
    private static readonly CgroupTarget T = CgroupTarget.Resolve("/a/b");

    private static CgroupStats Sample(long ticks, long? cpuUsec, params IoDeviceStats[] io) => new()
    {
        Target = T, Driver = DriverKind.CgroupfsV1, Mode = CgroupMode.Hybrid, Timestamp = DateTime.UtcNow,
        MonotonicTicks = ticks, CpuUsageUsec = cpuUsec, IoDevices = io, IoSource = "io.stat",
    };

    [Fact]
    public void CpuPercentAndIoPerSecond()
    {
        long f = Stopwatch.Frequency;
        var a = Sample(10 * f, 1_000_000, new IoDeviceStats(8, 0, 100, 1000, 1, 10), new IoDeviceStats(8, 16, 0, 0, 0, 0));
        var b = Sample(12 * f, 1_200_000, new IoDeviceStats(8, 0, 300, 5000, 3, 30), new IoDeviceStats(8, 16, 200, 0, 1, 0));
        var r = CgroupStatsRates.Between(a, b)!;
        Assert.Equal(2.0, r.IntervalSeconds, 6);
        Assert.Equal(10.0, r.CpuPercent!.Value, 6);          // 0.2 s of CPU in 2 s
        Assert.Equal(200.0, r.IoReadBytesPerSecond!.Value, 6); // (300+200-100)/2
        Assert.Equal(2000.0, r.IoWriteBytesPerSecond!.Value, 6);
        Assert.Equal(1.5, r.IoReadOpsPerSecond!.Value, 6);
        Assert.Equal(10.0, r.IoWriteOpsPerSecond!.Value, 6);
    }

    [Fact]
    public void NoRate_WhenOutOfOrder_OrCounterWentBack_OrMissing()
    {
        long f = Stopwatch.Frequency;
        Assert.Null(CgroupStatsRates.Between(Sample(2 * f, 10), Sample(f, 20)));
        var back = CgroupStatsRates.Between(Sample(f, 500), Sample(2 * f, 100))!;
        Assert.Null(back.CpuPercent);
        Assert.Null(CgroupStatsRates.Between(Sample(f, null), Sample(2 * f, 100))!.CpuPercent);
        var other = Sample(2 * f, 10) with { Target = CgroupTarget.Resolve("/a/c") };
        Assert.Null(CgroupStatsRates.Between(Sample(f, 0), other));
    }
}
