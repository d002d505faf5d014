using KataCgroups.Errors;
using KataCgroups.Resources;
using KataCgroups.Tests.Support;

namespace KataCgroups.Tests.Resources;

/// <summary>Reading linux.resources with the runtime-spec field names (config-linux.md "Control groups").</summary>
public class OciConfigTests
{
    [Fact]
    public void LoadFile_FullConfigBindsEveryField()
    {
        var parsed = OciConfig.LoadFile(Fixture.PathOf("oci/config.json"));
        Assert.Equal("/kubepods/pod1/sandbox1", parsed.CgroupsPath);
        var r = parsed.Resources;

        Assert.NotNull(r.Devices);
        Assert.Equal(3, r.Devices!.Count);
        Assert.False(r.Devices[0].Allow);
        Assert.Null(r.Devices[0].Type);
        Assert.Equal("rwm", r.Devices[0].Access);
        Assert.Equal(("c", 10L, 200L), (r.Devices[1].Type, r.Devices[1].Major!.Value, r.Devices[1].Minor!.Value));
        Assert.Null(r.Devices[2].Minor);

        var m = r.Memory!;
        Assert.Equal(536870912, m.Limit);
        Assert.Equal(268435456, m.Reservation);
        Assert.Equal(1073741824, m.Swap);
        Assert.Equal(67108864, m.Kernel);
        Assert.Equal(16777216, m.KernelTcp);
        Assert.Equal(60ul, m.Swappiness);
        Assert.True(m.DisableOomKiller);
        Assert.True(m.UseHierarchy);
        Assert.False(m.CheckBeforeUpdate);

        var c = r.Cpu!;
        Assert.Equal(512ul, c.Shares);
        Assert.Equal(50000, c.Quota);
        Assert.Equal(10000ul, c.Burst);
        Assert.Equal(100000ul, c.Period);
        Assert.Equal(950000, c.RealtimeRuntime);
        Assert.Equal(1000000ul, c.RealtimePeriod);
        Assert.Equal("0-1", c.Cpus);
        Assert.Equal("0", c.Mems);
        Assert.Equal(0, c.Idle);

        Assert.Equal(1024, r.Pids!.Limit);

        var b = r.BlockIO!;
        Assert.Equal((ushort)500, b.Weight);
        Assert.Equal((ushort)300, b.LeafWeight);
        var wd = Assert.Single(b.WeightDevice!);
        Assert.Equal((8L, 0L, (ushort?)400, (ushort?)200), (wd.Major, wd.Minor, wd.Weight, wd.LeafWeight));
        Assert.Equal(1048576ul, Assert.Single(b.ThrottleReadBpsDevice!).Rate);
        Assert.Equal((8L, 16L, 2097152ul), (b.ThrottleWriteBpsDevice![0].Major, b.ThrottleWriteBpsDevice[0].Minor, b.ThrottleWriteBpsDevice[0].Rate));
        Assert.Equal(1000ul, Assert.Single(b.ThrottleReadIopsDevice!).Rate);
        Assert.Equal(500ul, Assert.Single(b.ThrottleWriteIopsDevice!).Rate);

        Assert.Equal(new[] { ("2MB", 209715200ul), ("1GB", 0ul) }, r.HugepageLimits!.Select(h => (h.PageSize, h.Limit)));
        Assert.Equal(1048577u, r.Network!.ClassId);
        Assert.Equal(new[] { ("eth0", 500u), ("lo", 0u) }, r.Network.Priorities!.Select(p => (p.Name, p.Priority)));
        var rdma = Assert.Single(r.Rdma!);
        Assert.Equal(("mlx5_1", (uint?)3, (uint?)10000), (rdma.Key, rdma.Value.HcaHandles, rdma.Value.HcaObjects));
        Assert.Equal("max", r.Unified!["memory.high"]);
    }

    [Fact]
    public void ParseConfig_WithoutResourcesGivesEmptyResources()
    {
        var parsed = OciConfig.ParseConfig("""{ "linux": { "cgroupsPath": "foo/bar" } }""");
        Assert.Equal("foo/bar", parsed.CgroupsPath);
        Assert.True(parsed.Resources.IsEmpty);
        Assert.True(OciConfig.ParseConfig("""{ "linux": { "resources": null } }""").Resources.IsEmpty);
    }

    [Fact]
    public void ParseConfig_BareResourcesObject()
    {
        var parsed = OciConfig.ParseConfig("""{ "memory": { "limit": 1048576 }, "pids": { "limit": -1 } }""");
        Assert.Null(parsed.CgroupsPath);
        Assert.Equal(1048576, parsed.Resources.Memory!.Limit);
        Assert.Equal(-1, parsed.Resources.Pids!.Limit);
    }

    [Fact]
    public void ParseConfig_CommentsAndTrailingCommasAreAccepted()
    {
        var parsed = OciConfig.ParseConfig("""
            // a hand-written config
            { "linux": { "resources": { "cpu": { "shares": 1024, }, }, }, }
            """);
        Assert.Equal(1024ul, parsed.Resources.Cpu!.Shares);
    }

    [Fact]
    public void ParseResources_Bare()
    {
        var r = OciConfig.ParseResources("""{ "cpu": { "cpus": "0-3", "quota": -1 } }""");
        Assert.Equal("0-3", r.Cpu!.Cpus);
        Assert.Equal(-1, r.Cpu.Quota);
        Assert.Null(r.Memory);
    }

    [Theory]
    [InlineData("{")]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("""{ "memory": { "limit": "abc" } }""")]
    [InlineData("""{ "memory": { "limit": 1.5 } }""")]
    [InlineData("""{ "memory": { "swappiness": -1 } }""")]
    [InlineData("""{ "cpu": { "shares": -2 } }""")]
    [InlineData("""{ "pids": { "limit": 1e30 } }""")]
    [InlineData("""{ "memory": [] }""")]
    [InlineData("""{ "devices": { "allow": true } }""")]
    [InlineData("""{ "blockIO": { "weight": 70000 } }""")]
    [InlineData("""{ "memory": { "disableOOMKiller": "yes" } }""")]
    [InlineData("[]")]
    [InlineData("42")]
    [InlineData("\"text\"")]
    [InlineData("null")]
    public void ParseResources_BadInputIsInvalidOciConfig(string json)
    {
        var e = Assert.Throws<CgroupException>(() => OciConfig.ParseResources(json, "test input"));
        Assert.Equal(ErrorIds.InvalidOciConfig, e.ErrorId);
        Assert.Equal(CgroupErrorKind.InvalidArgument, e.Kind);
        Assert.Contains("test input", e.Message);
    }

    [Theory]
    [InlineData("{")]
    [InlineData("[]")]
    [InlineData("""{ "linux": 5 }""")]
    [InlineData("""{ "linux": { "cgroupsPath": 5 } }""")]
    [InlineData("""{ "linux": { "resources": [] } }""")]
    [InlineData("""{ "linux": { "resources": { "memory": { "limit": "abc" } } } }""")]
    public void ParseConfig_BadInputIsInvalidOciConfig(string json)
    {
        var e = Assert.Throws<CgroupException>(() => OciConfig.ParseConfig(json));
        Assert.Equal(ErrorIds.InvalidOciConfig, e.ErrorId);
    }

    [Fact]
    public void WrongTypeMessageNamesTheJsonPath()
    {
        var e = Assert.Throws<CgroupException>(() => OciConfig.ParseResources("""{ "memory": { "limit": "abc" } }"""));
        Assert.Contains("memory.limit", e.Message);
    }

    [Fact]
    public void ParseConfig_NestedPastTheDepthLimit_SaysSo()
    {
        var json = "{\"linux\":{\"resources\":{\"memory\":" + new string('[', 200) + new string(']', 200) + "}}}";
        var e = Assert.Throws<CgroupException>(() => OciConfig.ParseConfig(json));
        Assert.Equal(ErrorIds.InvalidOciConfig, e.ErrorId);
        Assert.Contains($"nested deeper than {OciConfig.MaxDepth} levels", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadFile_MissingFileIsOciConfigNotFound()
    {
        using var dir = new TempDir();
        var path = dir["no-such-config.json"];
        var e = Assert.Throws<CgroupException>(() => OciConfig.LoadFile(path));
        Assert.Equal(ErrorIds.OciConfigNotFound, e.ErrorId);
        Assert.Equal(CgroupErrorKind.NotFound, e.Kind);
        Assert.Equal(path, e.Target);
    }

    [Fact]
    public void LoadFile_MissingDirectoryIsOciConfigNotFound()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<CgroupException>(() => OciConfig.LoadFile(dir["no/such/dir/config.json"]));
        Assert.Equal(ErrorIds.OciConfigNotFound, e.ErrorId);
    }

    [Fact]
    public void LoadFile_ADirectoryIsInvalidOciConfig()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<CgroupException>(() => OciConfig.LoadFile(dir.Path));
        Assert.Equal(ErrorIds.InvalidOciConfig, e.ErrorId);
    }

    [Fact]
    public void LoadFile_InvalidJsonNamesTheFile()
    {
        using var dir = new TempDir();
        var path = dir.Write("config.json", """{ "linux": { "resources": { "memory": { "limit": "abc" } } } }""");
        var e = Assert.Throws<CgroupException>(() => OciConfig.LoadFile(path));
        Assert.Equal(ErrorIds.InvalidOciConfig, e.ErrorId);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void ToJson_RoundTripsWithSpecNames()
    {
        var r = OciConfig.LoadFile(Fixture.PathOf("oci/config.json")).Resources;
        var json = OciConfig.ToJson(r);
        Assert.Contains("\"throttleReadIOPSDevice\"", json);
        Assert.Contains("\"disableOOMKiller\"", json);
        Assert.Contains("\"classID\"", json);
        Assert.Equal(json, OciConfig.ToJson(OciConfig.ParseResources(json)));
    }

    [Fact]
    public void Clone_IsDeep()
    {
        var r = OciConfig.ParseResources("""{ "memory": { "limit": 1048576 } }""");
        var copy = r.Clone();
        copy.Memory!.Limit = 2097152;
        Assert.Equal(1048576, r.Memory!.Limit);
    }
}
