using KataCgroups.Devices;
using KataCgroups.Errors;
using KataCgroups.Host;
using KataCgroups.Resources;

namespace KataCgroups.Tests.Resources;

/// <summary>
/// OCI resources → ordered cgroup v2 writes (opencontainers/cgroups fs2/*.go), with a synthetic
/// <see cref="V2PlanContext"/>: every assertion is the exact (controller, file, value) list, plus the
/// v1→v2 conversions the plan reports.
/// </summary>
public class CgroupV2PlanTests
{
    private const long MiB = 1024 * 1024;

    private static readonly string[] AllControllers = { "cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc" };

    private static V2PlanContext Context(bool bfq = false, bool swap = true, BlockIoWeightInterface? weights = null, params string[] without) =>
        new(new HashSet<string>(AllControllers.Except(without)), weights ?? (bfq ? BlockIoWeightInterface.Bfq : BlockIoWeightInterface.IoCost), swap);

    private static List<(string, string, string)> Writes(CgroupPlan plan) =>
        plan.Writes.Select(w => (w.Controller, w.File, w.Value)).ToList();

    private static List<(string, string)> Conversions(CgroupPlan plan) =>
        plan.Conversions.Select(c => (c.Source, c.Target)).ToList();

    // As the manager hands a plan on: a value the host cannot apply fails it (CgroupManager.Enforce), unless skipped.
    private static CgroupPlan Compile(LinuxResources r, V2PlanContext? ctx = null, IReadOnlyList<DeviceRule>? devices = null, bool skipUnsupported = false) =>
        CgroupManager.Enforce(CgroupV2Plan.Compile(r, devices, ctx ?? Context()), skipUnsupported);

    [Fact]
    public void Empty_NoWrites()
    {
        var plan = Compile(new LinuxResources());
        Assert.Empty(plan.Writes);
        Assert.Empty(plan.Warnings);
        Assert.Empty(plan.Conversions);
        Assert.Null(plan.DeviceTarget);
    }

    // ---- pids (fs2/pids.go; runc 1.1 numToStr) ----

    [Theory]
    [InlineData(100L, "100")]
    [InlineData(1L, "1")]
    [InlineData(-1L, "max")]
    [InlineData(-5L, "max")]
    public void Pids(long limit, string expected)
    {
        var plan = Compile(new LinuxResources { Pids = new LinuxPids { Limit = limit } });
        Assert.Equal(new[] { ("pids", "pids.max", expected) }, Writes(plan));
        Assert.Empty(plan.Conversions);
    }

    [Fact]
    public void Pids_ZeroIsNotWritten()
    {
        Assert.Empty(Compile(new LinuxResources { Pids = new LinuxPids { Limit = 0 } }).Writes);
    }

    // ---- memory (fs2/memory.go): swap.max, then max, then low ----

    [Fact]
    public void Memory_SwapFirstThenMaxThenLow()
    {
        var plan = Compile(new LinuxResources
        {
            Memory = new LinuxMemory { Limit = 256 * MiB, Swap = 512 * MiB, Reservation = 128 * MiB },
        });
        // swap.max = (memory+swap) − memory = 512 MiB − 256 MiB
        Assert.Equal(new[]
        {
            ("memory", "memory.swap.max", "268435456"),
            ("memory", "memory.max", "268435456"),
            ("memory", "memory.low", "134217728"),
        }, Writes(plan));
        Assert.Equal(new[]
        {
            ("memory.swap 536870912", "memory.swap.max 268435456"),
            ("memory.limit 268435456", "memory.max 268435456"),
            ("memory.reservation 134217728", "memory.low 134217728"),
        }, Conversions(plan));
    }

    [Fact]
    public void Memory_LimitOnly()
    {
        var plan = Compile(new LinuxResources { Memory = new LinuxMemory { Limit = 256 * MiB } });
        Assert.Equal(new[] { ("memory", "memory.max", "268435456") }, Writes(plan));
    }

    [Fact]
    public void Memory_UnlimitedWithSwapUnset_BothMax()
    {
        var plan = Compile(new LinuxResources { Memory = new LinuxMemory { Limit = -1 } });
        Assert.Equal(new[]
        {
            ("memory", "memory.swap.max", "max"),
            ("memory", "memory.max", "max"),
        }, Writes(plan));
    }

    [Fact]
    public void Memory_UnlimitedSwap()
    {
        var plan = Compile(new LinuxResources { Memory = new LinuxMemory { Limit = 256 * MiB, Swap = -1 } });
        Assert.Equal(new[]
        {
            ("memory", "memory.swap.max", "max"),
            ("memory", "memory.max", "268435456"),
        }, Writes(plan));
    }

    [Fact]
    public void Memory_SwapEqualToLimit_DisablesSwap()
    {
        // memory+swap == memory: no swap, which v2 spells swap.max 0 (fs2/memory.go "disable swap").
        var plan = Compile(new LinuxResources { Memory = new LinuxMemory { Limit = 256 * MiB, Swap = 256 * MiB } });
        Assert.Equal(new[]
        {
            ("memory", "memory.swap.max", "0"),
            ("memory", "memory.max", "268435456"),
        }, Writes(plan));
    }

    [Fact]
    public void Memory_ZerosAreNotWritten()
    {
        var plan = Compile(new LinuxResources { Memory = new LinuxMemory { Limit = 0, Swap = 0, Reservation = 0 } });
        Assert.Empty(plan.Writes);
        Assert.Empty(plan.Conversions);
    }

    [Fact]
    public void Memory_UnlimitedReservation()
    {
        var plan = Compile(new LinuxResources { Memory = new LinuxMemory { Reservation = -1 } });
        Assert.Equal(new[] { ("memory", "memory.low", "max") }, Writes(plan));
    }

    [Fact]
    public void Memory_SwapWithoutLimitIsAnError()
    {
        var e = Assert.Throws<CgroupException>(() => Compile(new LinuxResources { Memory = new LinuxMemory { Swap = 512 * MiB } }));
        Assert.Equal(ErrorIds.InvalidResourceValue, e.ErrorId);
        Assert.Contains("without memory limit", e.Message);
    }

    [Fact]
    public void Memory_NoSwapAccounting_UnlimitedSwapIsSkippedSilently()
    {
        var plan = Compile(new LinuxResources { Memory = new LinuxMemory { Limit = -1 } }, Context(swap: false));
        Assert.Equal(new[] { ("memory", "memory.max", "max") }, Writes(plan));
        Assert.Empty(plan.Warnings);
    }

    [Fact]
    public void Memory_NoSwapAccounting_SwapDisabledIsSkippedSilently()
    {
        // memory+swap == memory means "no swap" (swap.max 0): a host without swap accounting has none anyway
        // (fs2/memory.go ignores a missing memory.swap.max for "max" and "0").
        var plan = Compile(new LinuxResources { Memory = new LinuxMemory { Limit = 256 * MiB, Swap = 256 * MiB } }, Context(swap: false));
        Assert.Equal(new[] { ("memory", "memory.max", "268435456") }, Writes(plan));
        Assert.Empty(plan.Warnings);
    }

    [Fact]
    public void Memory_NoSwapAccounting_ASwapLimitIsUnsupportedOnHost()
    {
        var e = Assert.Throws<CgroupException>(() =>
            Compile(new LinuxResources { Memory = new LinuxMemory { Limit = 256 * MiB, Swap = 512 * MiB } }, Context(swap: false)));
        Assert.Equal(ErrorIds.UnsupportedOnHost, e.ErrorId);
        Assert.Equal(CgroupErrorKind.NotSupported, e.Kind);
        Assert.Contains("memory.swap.max", e.Message);
    }

    [Fact]
    public void Memory_SwappinessAndOomKillerAreWarnedAboutNotWritten()
    {
        var plan = Compile(new LinuxResources { Memory = new LinuxMemory { Swappiness = 30, DisableOomKiller = true } });
        Assert.Empty(plan.Writes);
        Assert.Equal(2, plan.Warnings.Count);
        Assert.Contains(plan.Warnings, w => w.Contains("swappiness", StringComparison.Ordinal) && w.Contains("30", StringComparison.Ordinal));
        Assert.Contains(plan.Warnings, w => w.Contains("disableOOMKiller", StringComparison.Ordinal));
    }

    [Fact]
    public void Memory_OomKillerLeftOnIsNotWarnedAbout()
    {
        Assert.Empty(Compile(new LinuxResources { Memory = new LinuxMemory { DisableOomKiller = false } }).Warnings);
    }

    [Fact]
    public void Memory_KernelMemoryIsIgnoredWithAWarning()
    {
        var plan = Compile(new LinuxResources { Memory = new LinuxMemory { Kernel = 64 * MiB } });
        Assert.Empty(plan.Writes);
        Assert.Contains("memory.kernel ", Assert.Single(plan.Warnings));
    }

    // ---- io (fs2/io.go) ----

    [Fact]
    public void Io_WeightConvertedToIoWeight()
    {
        // 1 + (500 − 10)·9999/990 = 4950
        var plan = Compile(new LinuxResources { BlockIO = new LinuxBlockIO { Weight = 500 } });
        Assert.Equal(new[] { ("io", "io.weight", "4950") }, Writes(plan));
        Assert.Equal(new[] { ("blkio.weight 500", "io.weight 4950") }, Conversions(plan));
    }

    [Fact]
    public void Io_NoWeightFile_IsItsOwnError_UnknownFallsBackToIoWeight()
    {
        var r = new LinuxResources { BlockIO = new LinuxBlockIO { Weight = 500 } };
        var e = Assert.Throws<CgroupException>(() => Compile(r, Context(weights: BlockIoWeightInterface.None)));
        Assert.Equal(ErrorIds.BlockIoWeightUnsupported, e.ErrorId);
        // The driver could not look (io not enabled where it looked): io.weight, as runc writes it.
        Assert.Equal("io.weight", Assert.Single(Writes(Compile(r, new V2PlanContext(new HashSet<string>(AllControllers), null, true)))).Item2);
    }

    [Fact]
    public void Io_WeightRawToBfq()
    {
        var plan = Compile(new LinuxResources { BlockIO = new LinuxBlockIO { Weight = 500 } }, Context(bfq: true));
        Assert.Equal(new[] { ("io", "io.bfq.weight", "500") }, Writes(plan));
        Assert.Equal(new[] { ("blkio.weight 500", "io.bfq.weight 500") }, Conversions(plan));
    }

    [Fact]
    public void Io_WeightDevice()
    {
        var bio = new LinuxBlockIO { WeightDevice = new() { new LinuxWeightDevice { Major = 8, Minor = 0, Weight = 400 } } };
        Assert.Equal(new[] { ("io", "io.bfq.weight", "8:0 400") }, Writes(Compile(new LinuxResources { BlockIO = bio }, Context(bfq: true))));
        // blk-iocost takes a device weight only where io.cost.qos enables the device: refused, or skipped when asked
        var e = Assert.Throws<CgroupException>(() => Compile(new LinuxResources { BlockIO = bio }));
        Assert.Equal(ErrorIds.BlockIoWeightUnsupported, e.ErrorId);
        Assert.Empty(Writes(Compile(new LinuxResources { BlockIO = bio }, skipUnsupported: true)));
    }

    [Fact]
    public void Io_ZeroWeightsAreNotWritten()
    {
        var plan = Compile(new LinuxResources
        {
            BlockIO = new LinuxBlockIO { Weight = 0, WeightDevice = new() { new LinuxWeightDevice { Major = 8, Minor = 0, Weight = 0 } } },
        });
        Assert.Empty(plan.Writes);
    }

    [Fact]
    public void Io_LeafWeightIsWarnedAbout()
    {
        var plan = Compile(new LinuxResources { BlockIO = new LinuxBlockIO { LeafWeight = 300 } });
        Assert.Empty(plan.Writes);
        var warning = Assert.Single(plan.Warnings);
        Assert.Contains("leafWeight", warning);
        Assert.Contains("300", warning);
    }

    [Fact]
    public void Io_MaxOneLinePerDeviceWithEveryLimit()
    {
        var plan = Compile(new LinuxResources
        {
            BlockIO = new LinuxBlockIO
            {
                ThrottleReadBpsDevice = new() { new LinuxThrottleDevice { Major = 8, Minor = 0, Rate = 1048576 } },
                ThrottleWriteBpsDevice = new() { new LinuxThrottleDevice { Major = 8, Minor = 0, Rate = 2097152 } },
                ThrottleReadIopsDevice = new() { new LinuxThrottleDevice { Major = 8, Minor = 0, Rate = 1000 } },
                ThrottleWriteIopsDevice = new() { new LinuxThrottleDevice { Major = 8, Minor = 0, Rate = 500 } },
            },
        });
        Assert.Equal(new[] { ("io", "io.max", "8:0 rbps=1048576 wbps=2097152 riops=1000 wiops=500") }, Writes(plan));
        Assert.Equal(new[]
        {
            ("blkio.throttle.read_bps_device 8:0 1048576", "io.max 8:0 rbps=1048576"),
            ("blkio.throttle.write_bps_device 8:0 2097152", "io.max 8:0 wbps=2097152"),
            ("blkio.throttle.read_iops_device 8:0 1000", "io.max 8:0 riops=1000"),
            ("blkio.throttle.write_iops_device 8:0 500", "io.max 8:0 wiops=500"),
        }, Conversions(plan));
    }

    [Fact]
    public void Io_MaxSeveralDevices()
    {
        var plan = Compile(new LinuxResources
        {
            BlockIO = new LinuxBlockIO
            {
                ThrottleReadBpsDevice = new() { new LinuxThrottleDevice { Major = 8, Minor = 0, Rate = 1048576 } },
                ThrottleWriteBpsDevice = new() { new LinuxThrottleDevice { Major = 8, Minor = 16, Rate = 2097152 } },
                ThrottleReadIopsDevice = new() { new LinuxThrottleDevice { Major = 8, Minor = 0, Rate = 1000 } },
                ThrottleWriteIopsDevice = new() { new LinuxThrottleDevice { Major = 8, Minor = 16, Rate = 500 } },
            },
        });
        var lines = Writes(plan);
        Assert.All(lines, l => Assert.Equal(("io", "io.max"), (l.Item1, l.Item2)));
        Assert.Equal(new[] { "8:0 rbps=1048576 riops=1000", "8:16 wbps=2097152 wiops=500" }, lines.Select(l => l.Item3).Order());
    }

    [Fact]
    public void Io_MaxRateZeroRemovesTheLimit()
    {
        // runtime-spec: rate 0 is "no limit"; io.max spells that "max".
        var plan = Compile(new LinuxResources
        {
            BlockIO = new LinuxBlockIO { ThrottleReadBpsDevice = new() { new LinuxThrottleDevice { Major = 259, Minor = 0, Rate = 0 } } },
        });
        Assert.Equal(new[] { ("io", "io.max", "259:0 rbps=max") }, Writes(plan));
    }

    // ---- cpu (fs2/cpu.go) ----

    [Theory]
    [InlineData(1024UL, "100")]
    [InlineData(512UL, "59")]
    [InlineData(2UL, "1")]
    [InlineData(262144UL, "10000")]
    public void Cpu_SharesToWeight(ulong shares, string weight)
    {
        var plan = Compile(new LinuxResources { Cpu = new LinuxCpu { Shares = shares } });
        Assert.Equal(new[] { ("cpu", "cpu.weight", weight) }, Writes(plan));
        Assert.Equal(new[] { ($"cpu.shares {shares}", $"cpu.weight {weight}") }, Conversions(plan));
    }

    [Theory]
    [InlineData(50000L, 100000UL, "50000 100000")]
    [InlineData(150000L, 200000UL, "150000 200000")]
    [InlineData(50000L, 0UL, "50000 100000")] // period defaults to 100000
    [InlineData(-1L, 0UL, "max 100000")]
    [InlineData(-1L, 250000UL, "max 250000")]
    [InlineData(0L, 200000UL, "max 200000")]
    public void Cpu_Max(long quota, ulong period, string expected)
    {
        var plan = Compile(new LinuxResources { Cpu = new LinuxCpu { Quota = quota, Period = period } });
        Assert.Equal(new[] { ("cpu", "cpu.max", expected) }, Writes(plan));
    }

    [Fact]
    public void Cpu_MaxConversionNamesBothSources()
    {
        var plan = Compile(new LinuxResources { Cpu = new LinuxCpu { Quota = 50000, Period = 100000 } });
        Assert.Equal(new[] { ("cpu.quota 50000 cpu.period 100000", "cpu.max 50000 100000") }, Conversions(plan));
    }

    [Fact]
    public void Cpu_ZerosAreNotWritten()
    {
        var plan = Compile(new LinuxResources { Cpu = new LinuxCpu { Shares = 0, Quota = 0, Period = 0, RealtimePeriod = 0, RealtimeRuntime = 0 } });
        Assert.Empty(plan.Writes);
        Assert.Empty(plan.Conversions);
    }

    [Fact]
    public void Cpu_BurstAndIdle()
    {
        var plan = Compile(new LinuxResources { Cpu = new LinuxCpu { Burst = 10000, Idle = 1 } });
        Assert.Equal(new[] { ("cpu", "cpu.max.burst", "10000"), ("cpu", "cpu.idle", "1") }, Writes(plan));
    }

    [Fact]
    public void Cpu_AllFiles()
    {
        var plan = Compile(new LinuxResources { Cpu = new LinuxCpu { Shares = 1024, Quota = 50000, Period = 100000, Burst = 10000, Idle = 0 } });
        Assert.Equal(new[]
        {
            ("cpu", "cpu.weight", "100"),
            ("cpu", "cpu.max.burst", "10000"),
            ("cpu", "cpu.max", "50000 100000"),
            ("cpu", "cpu.idle", "0"),
        }, Writes(plan));
    }

    [Theory]
    [InlineData(950000L, 0UL)]
    [InlineData(0L, 1000000UL)]
    public void Cpu_RealtimeIsUnsupported(long runtime, ulong period)
    {
        var e = Assert.Throws<CgroupException>(() =>
            Compile(new LinuxResources { Cpu = new LinuxCpu { RealtimeRuntime = runtime, RealtimePeriod = period } }));
        Assert.Equal(ErrorIds.UnsupportedOnHost, e.ErrorId);
        Assert.Equal(CgroupErrorKind.NotSupported, e.Kind);
    }

    // ---- cpuset, hugetlb, rdma, network ----

    [Fact]
    public void Cpuset_CpusThenMems()
    {
        var plan = Compile(new LinuxResources { Cpu = new LinuxCpu { Mems = "0", Cpus = "0-3,7" } });
        Assert.Equal(new[] { ("cpuset", "cpuset.cpus", "0-3,7"), ("cpuset", "cpuset.mems", "0") }, Writes(plan));
        Assert.Empty(plan.Conversions);
    }

    [Fact]
    public void Cpuset_EmptyStringsLeaveTheValues()
    {
        Assert.Empty(Compile(new LinuxResources { Cpu = new LinuxCpu { Cpus = "", Mems = "" } }).Writes);
    }

    [Fact]
    public void Hugetlb_MaxFiles()
    {
        var plan = Compile(new LinuxResources
        {
            HugepageLimits = new() { new LinuxHugepageLimit { PageSize = "2MB", Limit = 200 * MiB }, new LinuxHugepageLimit { PageSize = "1GB", Limit = 0 } },
        });
        Assert.Equal(new[]
        {
            ("hugetlb", "hugetlb.2MB.max", "209715200"),
            ("hugetlb", "hugetlb.1GB.max", "0"),
        }, Writes(plan));
        Assert.Equal(new[]
        {
            ("hugetlb.2MB.limit_in_bytes 209715200", "hugetlb.2MB.max 209715200"),
            ("hugetlb.1GB.limit_in_bytes 0", "hugetlb.1GB.max 0"),
        }, Conversions(plan));
    }

    [Fact]
    public void Rdma_OnlyTheSetFieldsAsOnV1()
    {
        var plan = Compile(new LinuxResources
        {
            Rdma = new()
            {
                ["mlx5_1"] = new LinuxRdma { HcaHandles = 3, HcaObjects = 10000 },
                ["mlx4_0"] = new LinuxRdma { HcaObjects = 2000 },
            },
        });
        Assert.Equal(new[]
        {
            ("rdma", "rdma.max", "mlx5_1 hca_handle=3 hca_object=10000"),
            ("rdma", "rdma.max", "mlx4_0 hca_object=2000"),   // fscommon/rdma.go: unset fields are left as they are
        }, Writes(plan));
    }

    [Fact]
    public void Network_IsWarnedAboutNotWritten()
    {
        var plan = Compile(new LinuxResources
        {
            Network = new LinuxNetwork { ClassId = 0x100001, Priorities = new() { new LinuxInterfacePriority { Name = "eth0", Priority = 5 } } },
        });
        Assert.Empty(plan.Writes);
        Assert.Contains("net_cls", Assert.Single(plan.Warnings));
    }

    [Fact]
    public void Network_ZeroClassIdIsNotWarnedAbout()
    {
        Assert.Empty(Compile(new LinuxResources { Network = new LinuxNetwork { ClassId = 0 } }).Warnings);
    }

    // ---- unified (fs2/fs2.go setUnified) ----

    [Fact]
    public void Unified_WrittenLastUnderItsController()
    {
        var plan = Compile(new LinuxResources
        {
            Unified = new() { ["memory.high"] = "1073741824", ["cgroup.max.descendants"] = "10" },
            Memory = new LinuxMemory { Limit = 256 * MiB },
            Pids = new LinuxPids { Limit = 10 },
            HugepageLimits = new() { new LinuxHugepageLimit { PageSize = "2MB", Limit = 2 * MiB } },
        });
        Assert.Equal(new[]
        {
            ("pids", "pids.max", "10"),
            ("memory", "memory.max", "268435456"),
            ("hugetlb", "hugetlb.2MB.max", "2097152"),
            ("memory", "memory.high", "1073741824"),
            ("cgroup", "cgroup.max.descendants", "10"),
        }, Writes(plan));
        // raw values are not conversions
        Assert.DoesNotContain(plan.Conversions, c => c.Target.StartsWith("memory.high", StringComparison.Ordinal));
    }

    [Fact]
    public void Unified_CgroupCoreKeysNeedNoController()
    {
        var plan = Compile(new LinuxResources { Unified = new() { ["cgroup.max.depth"] = "2" } }, new V2PlanContext(new HashSet<string>(), null, false));
        Assert.Equal(new[] { ("cgroup", "cgroup.max.depth", "2") }, Writes(plan));
    }

    [Fact]
    public void Unified_KeyOfAnUnavailableControllerIsRefused()
    {
        var e = Assert.Throws<CgroupException>(() =>
            Compile(new LinuxResources { Unified = new() { ["memory.high"] = "max" } }, Context(without: "memory")));
        Assert.Equal(ErrorIds.ControllerNotMounted, e.ErrorId);
        Assert.Equal("memory", e.Target);
    }

    [Theory]
    [InlineData("../memory.high")]
    [InlineData("memory/high")]
    [InlineData("nodot")]
    public void Unified_KeysWithSlashesOrWithoutADotAreRefused(string key)
    {
        var e = Assert.Throws<CgroupException>(() => Compile(new LinuxResources { Unified = new() { [key] = "1" } }));
        Assert.Equal(ErrorIds.InvalidResourceValue, e.ErrorId);
    }

    [Fact]
    public void Unified_EmptyMapIsFine()
    {
        Assert.Empty(Compile(new LinuxResources { Unified = new() }).Writes);
    }

    // ---- controllers, devices, order ----

    [Theory]
    [InlineData("pids")]
    [InlineData("memory")]
    [InlineData("io")]
    [InlineData("cpu")]
    [InlineData("cpuset")]
    [InlineData("hugetlb")]
    [InlineData("rdma")]
    public void ControllerNotAvailable_IsAnError(string controller)
    {
        var e = Assert.Throws<CgroupException>(() => Compile(FullResources(), Context(without: controller)));
        Assert.Equal(ErrorIds.ControllerNotMounted, e.ErrorId);
        Assert.Equal(CgroupErrorKind.NotSupported, e.Kind);
        Assert.Equal(controller, e.Target);
    }

    [Fact]
    public void ControllerNotAvailable_OnlyMattersForWhatIsSet()
    {
        var plan = Compile(new LinuxResources { Pids = new LinuxPids { Limit = 10 } }, Context(without: new[] { "memory", "cpu", "io" }));
        Assert.Equal(new[] { ("pids", "pids.max", "10") }, Writes(plan));
    }

    [Fact]
    public void Devices_NoFilesOnlyATargetState()
    {
        var rules = new[] { DeviceRule.Parse("deny a"), DeviceRule.Parse("c 1:3 rwm"), DeviceRule.Parse("b 253:* rwm") };
        var plan = Compile(new LinuxResources(), devices: rules);
        Assert.Empty(plan.Writes);
        Assert.NotNull(plan.DeviceTarget);
        Assert.True(plan.DeviceTarget!.SameAs(DeviceRuleSet.FromRules(rules)));
        Assert.False(plan.DeviceTarget.DefaultAllow);
        Assert.Equal(DeviceAccess.All, plan.DeviceTarget.AllowedAccess('c', 1, 3));
        Assert.Equal(DeviceAccess.None, plan.DeviceTarget.AllowedAccess('c', 1, 5));
    }

    [Fact]
    public void Devices_NullLeavesDevicesAlone()
    {
        Assert.Null(Compile(new LinuxResources { Pids = new LinuxPids { Limit = 1 } }, devices: null).DeviceTarget);
    }

    [Fact]
    public void Devices_EmptyListIsDenyAll()
    {
        var plan = Compile(new LinuxResources(), devices: Array.Empty<DeviceRule>());
        Assert.NotNull(plan.DeviceTarget);
        Assert.True(plan.DeviceTarget!.SameAs(DeviceRuleSet.DenyAll()));
    }

    private static LinuxResources FullResources() => new()
    {
        Memory = new LinuxMemory { Limit = 512 * MiB, Swap = 1024 * MiB, Reservation = 256 * MiB },
        Cpu = new LinuxCpu { Shares = 512, Quota = 50000, Period = 100000, Cpus = "0-1", Mems = "0" },
        Pids = new LinuxPids { Limit = 1024 },
        BlockIO = new LinuxBlockIO
        {
            Weight = 500,
            ThrottleReadBpsDevice = new() { new LinuxThrottleDevice { Major = 8, Minor = 0, Rate = 1048576 } },
        },
        HugepageLimits = new() { new LinuxHugepageLimit { PageSize = "2MB", Limit = 200 * MiB } },
        Rdma = new() { ["mlx5_1"] = new LinuxRdma { HcaHandles = 3, HcaObjects = 10000 } },
        Unified = new() { ["memory.high"] = "max" },
    };

    [Fact]
    public void ControllersInRuncOrder()
    {
        // fs2/fs2.go Set: pids, memory, io, cpu, devices (no files), cpuset, hugetlb, rdma, freezer, unified.
        var plan = Compile(FullResources(), devices: new[] { DeviceRule.Parse("c 1:3 rwm") });
        Assert.Equal(new[]
        {
            ("pids", "pids.max", "1024"),
            ("memory", "memory.swap.max", "536870912"),
            ("memory", "memory.max", "536870912"),
            ("memory", "memory.low", "268435456"),
            ("io", "io.weight", "4950"),
            ("io", "io.max", "8:0 rbps=1048576"),
            ("cpu", "cpu.weight", "59"),
            ("cpu", "cpu.max", "50000 100000"),
            ("cpuset", "cpuset.cpus", "0-1"),
            ("cpuset", "cpuset.mems", "0"),
            ("hugetlb", "hugetlb.2MB.max", "209715200"),
            ("rdma", "rdma.max", "mlx5_1 hca_handle=3 hca_object=10000"),
            ("memory", "memory.high", "max"),
        }, Writes(plan));
        Assert.Empty(plan.Warnings);
        Assert.NotNull(plan.DeviceTarget);
    }

    [Fact]
    public void ValidatesBeforeCompiling()
    {
        var e = Assert.Throws<CgroupException>(() => Compile(new LinuxResources { Cpu = new LinuxCpu { Shares = 1 } }));
        Assert.Equal(ErrorIds.InvalidResourceValue, e.ErrorId);
        Assert.Equal("cpu.shares", e.Target);
    }

    [Fact]
    public void Describe_OneLinePerWrite()
    {
        var plan = Compile(new LinuxResources { Pids = new LinuxPids { Limit = -1 }, Cpu = new LinuxCpu { Shares = 1024 } });
        Assert.Equal(new[] { "pids.max = max", "cpu.weight = 100" }, plan.Describe());
    }
}
