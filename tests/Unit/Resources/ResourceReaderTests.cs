using KataCgroups.Devices;
using KataCgroups.Host;
using KataCgroups.Resources;

namespace KataCgroups.Tests.Resources;

/// <summary>
/// Export-KataCgroup's reading of cgroup files back into OCI resources: the inverse of the v1 and v2 plans, so that
/// compiling the export writes the values the files hold. Files are given as text, as the kernel shows them.
/// </summary>
public class ResourceReaderTests
{
    [Fact]
    public void Every_cpu_weight_has_shares_that_convert_back_to_it_and_the_default_is_1024()
    {
        for (ulong w = 1; w <= 10000; w++)
            Assert.Equal(w, CgroupV2Conversions.SharesToWeight(ResourceReader.SharesFor(w)));
        Assert.Equal(1024UL, ResourceReader.SharesFor(CgroupV2Conversions.SharesToWeight(1024)));
    }

    [Fact]
    public void Every_io_weight_a_blkio_weight_gives_is_read_back_to_one_that_gives_it_again()
    {
        for (ulong w = ResourceValidator.MinBlkioWeight; w <= ResourceValidator.MaxBlkioWeight; w++)
        {
            var io = CgroupV2Conversions.BlkioWeightToIoWeight(w);
            Assert.Equal(io, CgroupV2Conversions.BlkioWeightToIoWeight(ResourceReader.BlkioWeightFor(io)!.Value));
        }
        Assert.Null(ResourceReader.BlkioWeightFor(100));   // the default io.weight: no blkio weight converts to it
    }

    private static Func<string, string, string?> V1(Dictionary<string, string> files) =>
        (controller, file) => files.TryGetValue($"{controller}/{file}", out var text) ? text : null;

    [Fact]
    public void V1_files_are_the_oci_values_with_unlimited_as_minus_one()
    {
        var files = new Dictionary<string, string>
        {
            ["memory/memory.limit_in_bytes"] = "201326592\n",
            ["memory/memory.soft_limit_in_bytes"] = "9223372036854771712\n",
            ["memory/memory.memsw.limit_in_bytes"] = "268435456\n",
            ["memory/memory.swappiness"] = "30\n",
            ["memory/memory.oom_control"] = "oom_kill_disable 1\nunder_oom 0\noom_kill 0\n",
            ["cpu/cpu.shares"] = "512\n",
            ["cpu/cpu.cfs_quota_us"] = "-1\n",
            ["cpu/cpu.cfs_period_us"] = "100000\n",
            ["cpu/cpu.rt_runtime_us"] = "0\n",
            ["cpuset/cpuset.cpus"] = "0-1\n",
            ["cpuset/cpuset.mems"] = "0\n",
            ["pids/pids.max"] = "max\n",
            ["blkio/blkio.throttle.read_bps_device"] = "8:0 1048576\n",
            ["blkio/blkio.throttle.write_iops_device"] = "",
            ["hugetlb/hugetlb.2MB.limit_in_bytes"] = "4194304\n",
            ["hugetlb/hugetlb.1GB.limit_in_bytes"] = "9223372036854771712\n",
            ["devices/devices.list"] = "c 1:3 rwm\nb 253:* rwm\n",
        };
        var e = ResourceReader.FromV1(V1(files), new[] { "1GB", "2MB" });
        var r = e.Resources;
        Assert.Empty(e.Warnings);
        Assert.Equal((201326592L, -1L, 268435456L, 30UL, true), (r.Memory!.Limit, r.Memory.Reservation, r.Memory.Swap, r.Memory.Swappiness, r.Memory.DisableOomKiller));
        Assert.Equal((512UL, -1L, 100000UL), (r.Cpu!.Shares, r.Cpu.Quota, r.Cpu.Period));
        Assert.Null(r.Cpu.RealtimeRuntime);   // 0: not set
        Assert.Equal(("0-1", "0"), (r.Cpu.Cpus, r.Cpu.Mems));
        Assert.Equal(-1, r.Pids!.Limit);
        var t = Assert.Single(r.BlockIO!.ThrottleReadBpsDevice!);
        Assert.Equal((8L, 0L, 1048576UL), (t.Major, t.Minor, t.Rate));
        Assert.Null(r.BlockIO.ThrottleWriteIopsDevice);
        var h = Assert.Single(r.HugepageLimits!);   // the unlimited 1GB one is the default: not exported
        Assert.Equal(("2MB", 4194304UL), (h.PageSize, h.Limit));
        Assert.False(r.Devices![0].Allow);   // the default first: deny all
        Assert.Null(r.Devices[0].Type);
        Assert.Equal(new[] { "b 253:* rwm", "c 1:3 rwm" }, r.Devices.Skip(1).Select(d => DeviceRule.FromOci(d)).Where(d => d.Allow).Select(d => d.ToKernelString()).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void V1_export_compiles_to_the_writes_the_files_came_from()
    {
        var files = new Dictionary<string, string>
        {
            ["memory/memory.limit_in_bytes"] = "201326592\n",
            ["cpu/cpu.shares"] = "512\n",
            ["cpu/cpu.cfs_quota_us"] = "25000\n",
            ["cpu/cpu.cfs_period_us"] = "50000\n",
            ["pids/pids.max"] = "77\n",
        };
        var r = ResourceReader.FromV1(V1(files), Array.Empty<string>()).Resources;
        var ctx = new V1PlanContext(new HashSet<string> { "memory", "cpu", "pids" }, CgroupV1Plan.UnlimitedMemory, true,
            BlockIoWeightInterface.Cfq, DeviceRuleSet.DenyAll());
        var writes = CgroupV1Plan.Compile(r, null, ctx).Writes.ToDictionary(w => $"{w.Controller}/{w.File}", w => w.Value);
        foreach (var (file, text) in files) Assert.Equal(text.Trim(), writes[file]);
    }

    [Fact]
    public void V2_files_invert_the_conversions()
    {
        var files = new Dictionary<string, string>
        {
            ["memory.max"] = "201326592\n",
            ["memory.low"] = "0\n",
            ["memory.swap.max"] = "67108864\n",
            ["cpu.weight"] = "59\n",
            ["cpu.max"] = "max 100000\n",
            ["cpu.max.burst"] = "0\n",
            ["cpuset.cpus"] = "\n",
            ["pids.max"] = "64\n",
            ["io.weight"] = "default 100\n",
            ["io.max"] = "8:0 rbps=1048576 wbps=max riops=max wiops=300\n",
        };
        var e = ResourceReader.FromV2(f => files.GetValueOrDefault(f), Array.Empty<string>(), DeviceRuleSet.DenyAll(), null);
        var r = e.Resources;
        Assert.Equal((201326592L, (long?)null, 268435456L), (r.Memory!.Limit, r.Memory.Reservation, r.Memory.Swap));
        Assert.Equal(59UL, CgroupV2Conversions.SharesToWeight(r.Cpu!.Shares!.Value));
        Assert.Equal((-1L, 100000UL, (ulong?)null, (string?)null), (r.Cpu.Quota, r.Cpu.Period, r.Cpu.Burst, r.Cpu.Cpus));
        Assert.Equal(64, r.Pids!.Limit);
        Assert.Null(r.BlockIO!.Weight);   // the default
        Assert.Equal(1048576UL, Assert.Single(r.BlockIO.ThrottleReadBpsDevice!).Rate);
        Assert.Equal(300UL, Assert.Single(r.BlockIO.ThrottleWriteIopsDevice!).Rate);
        Assert.Null(r.BlockIO.ThrottleWriteBpsDevice);
        Assert.False(Assert.Single(r.Devices!).Allow);
        Assert.Empty(e.Warnings);
    }

    [Fact]
    public void V2_values_no_oci_value_gives_are_warnings()
    {
        var files = new Dictionary<string, string> { ["memory.max"] = "max\n", ["memory.swap.max"] = "0\n", ["io.weight"] = "default 7\n" };
        var e = ResourceReader.FromV2(f => files.GetValueOrDefault(f), Array.Empty<string>(), null, "no rules recorded");
        Assert.Null(e.Resources.Memory!.Swap);
        Assert.Null(e.Resources.Devices);
        Assert.Equal(3, e.Warnings.Count);
        Assert.Contains(e.Warnings, w => w.Contains("memory.swap.max 0", StringComparison.Ordinal));
        Assert.Contains(e.Warnings, w => w.Contains("io.weight 7", StringComparison.Ordinal));
        Assert.Contains(e.Warnings, w => w.Contains("no rules recorded", StringComparison.Ordinal));
    }

    [Fact]
    public void Config_fragment_carries_the_path_and_the_resources()
    {
        var e = new ResourceExport(new LinuxResources { Pids = new LinuxPids { Limit = 9 } }, Array.Empty<string>());
        var parsed = OciConfig.ParseConfig(e.ToConfigJson("/kubepods/pod1/sb"), "export");
        Assert.Equal("/kubepods/pod1/sb", parsed.CgroupsPath);
        Assert.Equal(9, parsed.Resources.Pids!.Limit);
        Assert.Equal(9, OciConfig.ParseResources(e.ToJson()).Pids!.Limit);
    }
}
