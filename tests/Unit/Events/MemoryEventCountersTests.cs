using KataCgroups.Events;

namespace KataCgroups.Tests.Events;

/// <summary>
/// memory.events (cgroup-v2.rst) and memory.oom_control (cgroup-v1/memory.rst §10) parsing, and the events between two
/// readings, as Wait-KataCgroupEvent reports them.
/// </summary>
public class MemoryEventCountersTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    [Fact]
    public void ParsesMemoryEventsOfA6xKernelKeepingUnknownKeys()
    {
        var v = MemoryEventCounters.ParseFlatKeyed("low 0\nhigh 12\nmax 345\noom 2\noom_kill 1\noom_group_kill 0\nsock_throttled 0\n");
        Assert.Equal(12, v["high"]);
        Assert.Equal(345, v["max"]);
        Assert.Equal(2, v["oom"]);
        Assert.Equal(1, v["oom_kill"]);
        Assert.Equal(0, v["sock_throttled"]);
        Assert.Equal(7, v.Count);
    }

    [Theory]
    [InlineData("")]
    [InlineData(null)]
    [InlineData("garbage\nhigh x\nmax -1\n three parts here\n")]
    public void SkipsWhatIsNotKeyAndNumber(string? text) => Assert.Empty(MemoryEventCounters.ParseFlatKeyed(text));

    [Fact]
    public void DiffV2ReportsEachGrownCounterInKernelOrderWithDeltaAndTotal()
    {
        var before = MemoryEventCounters.ParseFlatKeyed("low 0\nhigh 10\nmax 5\noom 0\noom_kill 0\n");
        var after = MemoryEventCounters.ParseFlatKeyed("low 3\nhigh 10\nmax 9\noom 1\noom_kill 2\n");
        var e = MemoryEventCounters.DiffV2(before, after, "/x/memory.events", Now);
        Assert.Equal(new[] { CgroupEventKind.Max, CgroupEventKind.Oom, CgroupEventKind.OomKill }, e.Select(x => x.Kind));
        Assert.Equal(new long[] { 4, 1, 2 }, e.Select(x => x.Count));
        Assert.Equal(new long?[] { 9, 1, 2 }, e.Select(x => x.Total));
        Assert.All(e, x => Assert.Equal("/x/memory.events", x.File));
        Assert.All(e, x => Assert.Equal(Now, x.Timestamp));
    }

    [Fact]
    public void DiffV2IgnoresLowAndCountersThatWentDown()
    {
        var before = MemoryEventCounters.ParseFlatKeyed("low 0\nhigh 10\noom_kill 5\n");
        var after = MemoryEventCounters.ParseFlatKeyed("low 9\nhigh 3\noom_kill 5\n");
        Assert.Empty(MemoryEventCounters.DiffV2(before, after, "f", Now));
    }

    [Fact]
    public void DiffV2CountsAKeyMissingBeforeFromZero()
    {
        var e = MemoryEventCounters.DiffV2(new Dictionary<string, long>(), MemoryEventCounters.ParseFlatKeyed("high 2\n"), "f", Now);
        Assert.Equal(CgroupEventKind.High, Assert.Single(e).Kind);
        Assert.Equal(2, e[0].Count);
    }

    [Fact]
    public void ParsesOomControlWithAndWithoutTheOomKillLine()
    {
        var modern = MemoryEventCounters.ParseOomControl("oom_kill_disable 0\nunder_oom 1\noom_kill 3\n");
        Assert.False(modern.OomKillDisable);
        Assert.True(modern.UnderOom);
        Assert.Equal(3, modern.OomKill);
        var old = MemoryEventCounters.ParseOomControl("oom_kill_disable 1\nunder_oom 0\n");   // Linux < 4.13
        Assert.True(old.OomKillDisable);
        Assert.False(old.UnderOom);
        Assert.Null(old.OomKill);
    }

    [Theory]
    [InlineData(false, 0, 0)]
    [InlineData(false, 1, 1)]   // below → above
    [InlineData(false, 2, 1)]   // up and down again
    [InlineData(false, 3, 2)]
    [InlineData(true, 1, 0)]    // above → below
    [InlineData(true, 2, 1)]
    [InlineData(true, 5, 2)]
    public void UpCrossingsAlternateFromTheSideUsageWasOn(bool wasAbove, long crossings, long ups) =>
        Assert.Equal(ups, MemoryEventCounters.UpCrossings(wasAbove, crossings));

    [Fact]
    public void DiffV1ReportsLimitOomAndKillAndNoKillWhenTheKernelKeepsNoCounter()
    {
        var before = new MemoryEventCounters.OomControl(false, false, 0);
        var after = new MemoryEventCounters.OomControl(false, false, 1);
        var e = MemoryEventCounters.DiffV1(1, before, after, 1, "/m/memory.oom_control", "/m/memory.usage_in_bytes", Now);
        Assert.Equal(new[] { CgroupEventKind.Max, CgroupEventKind.Oom, CgroupEventKind.OomKill }, e.Select(x => x.Kind));
        Assert.Equal("/m/memory.usage_in_bytes", e[0].File);
        Assert.Null(e[1].Total);
        Assert.Equal(1, e[2].Total);

        var old = new MemoryEventCounters.OomControl(false, true, null);
        var only = MemoryEventCounters.DiffV1(2, old, old, 0, "o", "u", Now);
        Assert.Equal(CgroupEventKind.Oom, Assert.Single(only).Kind);
        Assert.Equal(2, only[0].Count);
        Assert.Empty(MemoryEventCounters.DiffV1(0, before, before, 0, "o", "u", Now));
    }
}
