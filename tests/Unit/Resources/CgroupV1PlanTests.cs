using KataCgroups.Devices;
using KataCgroups.Errors;
using KataCgroups.Host;
using KataCgroups.Resources;

namespace KataCgroups.Tests.Resources;

/// <summary>
/// OCI resources → ordered cgroup v1 writes (opencontainers/cgroups fs/*.go), with a synthetic
/// <see cref="V1PlanContext"/>: every assertion is the exact (controller, file, value) list.
/// </summary>
public class CgroupV1PlanTests
{
    private const long MiB = 1024 * 1024;

    private static readonly string[] AllControllers =
        { "cpuset", "devices", "memory", "cpu", "cpuacct", "pids", "blkio", "hugetlb", "net_cls", "net_prio", "rdma", "freezer" };

    private static V1PlanContext Context(long currentMemoryLimit = CgroupV1Plan.UnlimitedMemory, bool memsw = true, bool bfq = false,
        DeviceRuleSet? devices = null, BlockIoWeightInterface? weights = null, params string[] without) =>
        new(new HashSet<string>(AllControllers.Except(without)), currentMemoryLimit, memsw,
            weights ?? (bfq ? BlockIoWeightInterface.Bfq : BlockIoWeightInterface.Cfq), devices ?? DeviceRuleSet.DenyAll());

    private static List<(string, string, string)> Writes(CgroupPlan plan) =>
        plan.Writes.Select(w => (w.Controller, w.File, w.Value)).ToList();

    // As the manager hands a plan on: a value the host cannot apply fails it (CgroupManager.Enforce), unless skipped.
    private static CgroupPlan Compile(LinuxResources r, V1PlanContext? ctx = null, IReadOnlyList<DeviceRule>? devices = null, bool skipUnsupported = false) =>
        CgroupManager.Enforce(CgroupV1Plan.Compile(r, devices, ctx ?? Context()), skipUnsupported);

    [Fact]
    public void Empty_NoWrites()
    {
        var plan = Compile(new LinuxResources());
        Assert.Empty(plan.Writes);
        Assert.Empty(plan.Warnings);
        Assert.Null(plan.DeviceTarget);
    }

    [Fact]
    public void Cpuset_CpusThenMems()
    {
        var plan = Compile(new LinuxResources { Cpu = new LinuxCpu { Mems = "0", Cpus = "0-1,3" } });
        Assert.Equal(new[] { ("cpuset", "cpuset.cpus", "0-1,3"), ("cpuset", "cpuset.mems", "0") }, Writes(plan));
    }

    [Fact]
    public void Cpuset_EmptyStringsLeaveTheValues()
    {
        Assert.Empty(Compile(new LinuxResources { Cpu = new LinuxCpu { Cpus = "", Mems = "" } }).Writes);
    }

    [Fact]
    public void Memory_NewCgroup_MemoryFirstThenSwap()
    {
        // current limit unlimited, new swap below it: memory first (memsw stays >= memory at every moment)
        var plan = Compile(new LinuxResources { Memory = new LinuxMemory { Limit = 256 * MiB, Swap = 512 * MiB } });
        Assert.Equal(new[]
        {
            ("memory", "memory.limit_in_bytes", "268435456"),
            ("memory", "memory.memsw.limit_in_bytes", "536870912"),
        }, Writes(plan));
    }

    [Fact]
    public void Memory_SwapAboveTheCurrentLimit_SwapFirst()
    {
        var plan = Compile(new LinuxResources { Memory = new LinuxMemory { Limit = 256 * MiB, Swap = 512 * MiB } }, Context(currentMemoryLimit: 128 * MiB));
        Assert.Equal(new[]
        {
            ("memory", "memory.memsw.limit_in_bytes", "536870912"),
            ("memory", "memory.limit_in_bytes", "268435456"),
        }, Writes(plan));
    }

    [Fact]
    public void Memory_SwapEqualToTheCurrentLimit_MemoryFirst()
    {
        var plan = Compile(new LinuxResources { Memory = new LinuxMemory { Limit = 256 * MiB, Swap = 512 * MiB } }, Context(currentMemoryLimit: 512 * MiB));
        Assert.Equal("memory.limit_in_bytes", plan.Writes[0].File);
    }

    [Fact]
    public void Memory_UnlimitedSwap_SwapFirst()
    {
        var plan = Compile(new LinuxResources { Memory = new LinuxMemory { Limit = 256 * MiB, Swap = -1 } }, Context(currentMemoryLimit: 128 * MiB));
        Assert.Equal(new[]
        {
            ("memory", "memory.memsw.limit_in_bytes", "-1"),
            ("memory", "memory.limit_in_bytes", "268435456"),
        }, Writes(plan));
    }

    [Fact]
    public void Memory_UnlimitedWithSwapUnset_SwapBecomesUnlimitedWhenMemswExists()
    {
        var plan = Compile(new LinuxResources { Memory = new LinuxMemory { Limit = -1 } }, Context(currentMemoryLimit: 128 * MiB));
        Assert.Equal(new[]
        {
            ("memory", "memory.memsw.limit_in_bytes", "-1"),
            ("memory", "memory.limit_in_bytes", "-1"),
        }, Writes(plan));
    }

    [Fact]
    public void Memory_UnlimitedWithoutMemsw_OnlyTheLimit()
    {
        var plan = Compile(new LinuxResources { Memory = new LinuxMemory { Limit = -1 } }, Context(memsw: false));
        Assert.Equal(new[] { ("memory", "memory.limit_in_bytes", "-1") }, Writes(plan));
    }

    [Fact]
    public void Memory_SwapWithoutMemswIsUnsupportedOnHost()
    {
        var e = Assert.Throws<CgroupException>(() =>
            Compile(new LinuxResources { Memory = new LinuxMemory { Limit = 256 * MiB, Swap = 512 * MiB } }, Context(memsw: false)));
        Assert.Equal(ErrorIds.UnsupportedOnHost, e.ErrorId);
        Assert.Contains("memsw", e.Message);
    }

    [Fact]
    public void Memory_SwapOnly()
    {
        var plan = Compile(new LinuxResources { Memory = new LinuxMemory { Swap = 512 * MiB } }, Context(currentMemoryLimit: 128 * MiB));
        Assert.Equal(new[] { ("memory", "memory.memsw.limit_in_bytes", "536870912") }, Writes(plan));
    }

    [Fact]
    public void Memory_ZeroMeansUnchanged()
    {
        Assert.Empty(Compile(new LinuxResources { Memory = new LinuxMemory { Limit = 0, Swap = 0, Reservation = 0 } }).Writes);
    }

    [Fact]
    public void Memory_ReservationOomControlSwappinessInRuncOrder()
    {
        var plan = Compile(new LinuxResources
        {
            Memory = new LinuxMemory { Limit = 256 * MiB, Reservation = 128 * MiB, DisableOomKiller = true, Swappiness = 0 },
        }, Context(memsw: false));
        Assert.Equal(new[]
        {
            ("memory", "memory.limit_in_bytes", "268435456"),
            ("memory", "memory.soft_limit_in_bytes", "134217728"),
            ("memory", "memory.oom_control", "1"),
            ("memory", "memory.swappiness", "0"),
        }, Writes(plan));
    }

    [Fact]
    public void Memory_OomControlOnlyWhenSet()
    {
        Assert.Empty(Compile(new LinuxResources { Memory = new LinuxMemory { DisableOomKiller = null } }).Writes);
        Assert.Equal(new[] { ("memory", "memory.oom_control", "1") },
            Writes(Compile(new LinuxResources { Memory = new LinuxMemory { DisableOomKiller = true } })));
        // an explicit false turns the OOM killer back on (runc only ever writes "1", so Set could not undo it)
        Assert.Equal(new[] { ("memory", "memory.oom_control", "0") },
            Writes(Compile(new LinuxResources { Memory = new LinuxMemory { DisableOomKiller = false } })));
    }

    [Fact]
    public void Memory_KernelMemoryIsIgnoredWithAWarning()
    {
        var plan = Compile(new LinuxResources { Memory = new LinuxMemory { Kernel = 64 * MiB, KernelTcp = 16 * MiB } });
        Assert.Empty(plan.Writes);
        Assert.Equal(2, plan.Warnings.Count);
        Assert.Contains(plan.Warnings, w => w.Contains("memory.kernel ", StringComparison.Ordinal) && w.Contains("ignored"));
        Assert.Contains(plan.Warnings, w => w.Contains("memory.kernelTCP", StringComparison.Ordinal) && w.Contains("ignored"));
        Assert.DoesNotContain(plan.Writes, w => w.File.Contains("kmem", StringComparison.Ordinal));
    }

    [Fact]
    public void Cpu_AllFilesInOrder()
    {
        var plan = Compile(new LinuxResources
        {
            Cpu = new LinuxCpu
            {
                Idle = 1, RealtimeRuntime = 950000, RealtimePeriod = 1000000, Burst = 10000, Quota = 50000, Period = 100000, Shares = 512,
            },
        });
        Assert.Equal(new[]
        {
            ("cpu", "cpu.shares", "512"),
            ("cpu", "cpu.cfs_period_us", "100000"),
            ("cpu", "cpu.cfs_quota_us", "50000"),
            ("cpu", "cpu.cfs_burst_us", "10000"),
            ("cpu", "cpu.rt_period_us", "1000000"),
            ("cpu", "cpu.rt_runtime_us", "950000"),
            ("cpu", "cpu.idle", "1"),
        }, Writes(plan));
    }

    [Fact]
    public void Cpu_UnlimitedQuota()
    {
        Assert.Equal(new[] { ("cpu", "cpu.cfs_quota_us", "-1") }, Writes(Compile(new LinuxResources { Cpu = new LinuxCpu { Quota = -1 } })));
    }

    [Fact]
    public void Cpu_ZerosAreNotWritten()
    {
        var plan = Compile(new LinuxResources { Cpu = new LinuxCpu { Shares = 0, Period = 0, Quota = 0, RealtimePeriod = 0, RealtimeRuntime = 0 } });
        Assert.Empty(plan.Writes);
    }

    [Fact]
    public void Cpu_IdleZeroAndBurstZeroAreWrittenWhenSet()
    {
        var plan = Compile(new LinuxResources { Cpu = new LinuxCpu { Idle = 0, Burst = 0 } });
        Assert.Equal(new[] { ("cpu", "cpu.cfs_burst_us", "0"), ("cpu", "cpu.idle", "0") }, Writes(plan));
    }

    [Theory]
    [InlineData(100L, "100")]
    [InlineData(1L, "1")]
    [InlineData(-1L, "max")]
    [InlineData(-5L, "max")]
    public void Pids(long limit, string expected)
    {
        Assert.Equal(new[] { ("pids", "pids.max", expected) }, Writes(Compile(new LinuxResources { Pids = new LinuxPids { Limit = limit } })));
    }

    [Fact]
    public void Pids_ZeroIsNotWritten()
    {
        Assert.Empty(Compile(new LinuxResources { Pids = new LinuxPids { Limit = 0 } }).Writes);
    }

    private static LinuxBlockIO FullBlockIO() => new()
    {
        Weight = 500,
        LeafWeight = 300,
        WeightDevice = new() { new LinuxWeightDevice { Major = 8, Minor = 0, Weight = 400, LeafWeight = 200 } },
        ThrottleReadBpsDevice = new() { new LinuxThrottleDevice { Major = 8, Minor = 0, Rate = 1048576 } },
        ThrottleWriteBpsDevice = new() { new LinuxThrottleDevice { Major = 8, Minor = 16, Rate = 2097152 } },
        ThrottleReadIopsDevice = new() { new LinuxThrottleDevice { Major = 8, Minor = 0, Rate = 1000 } },
        ThrottleWriteIopsDevice = new() { new LinuxThrottleDevice { Major = 8, Minor = 16, Rate = 500 } },
    };

    [Fact]
    public void Blkio_Cfq()
    {
        var plan = Compile(new LinuxResources { BlockIO = FullBlockIO() });
        Assert.Equal(new[]
        {
            ("blkio", "blkio.weight", "500"),
            ("blkio", "blkio.leaf_weight", "300"),
            ("blkio", "blkio.weight_device", "8:0 400"),
            ("blkio", "blkio.leaf_weight_device", "8:0 200"),
            ("blkio", "blkio.throttle.read_bps_device", "8:0 1048576"),
            ("blkio", "blkio.throttle.write_bps_device", "8:16 2097152"),
            ("blkio", "blkio.throttle.read_iops_device", "8:0 1000"),
            ("blkio", "blkio.throttle.write_iops_device", "8:16 500"),
        }, Writes(plan));
        Assert.Empty(plan.Warnings);
    }

    [Fact]
    public void Blkio_Bfq()
    {
        // BFQ has no leaf weights: the request fails as runc's does (no blkio.leaf_weight), naming the reason...
        var e = Assert.Throws<CgroupException>(() => Compile(new LinuxResources { BlockIO = FullBlockIO() }, Context(bfq: true)));
        Assert.Equal(ErrorIds.BlockIoWeightUnsupported, e.ErrorId);
        Assert.Contains("BFQ I/O scheduler has no leaf weights", e.Message, StringComparison.Ordinal);
        // ...and opted in, both leaf weights are left out with a warning each, the rest written.
        var plan = Compile(new LinuxResources { BlockIO = FullBlockIO() }, Context(bfq: true), skipUnsupported: true);
        Assert.Equal(new[]
        {
            ("blkio", "blkio.bfq.weight", "500"),
            ("blkio", "blkio.bfq.weight_device", "8:0 400"),
            ("blkio", "blkio.throttle.read_bps_device", "8:0 1048576"),
            ("blkio", "blkio.throttle.write_bps_device", "8:16 2097152"),
            ("blkio", "blkio.throttle.read_iops_device", "8:0 1000"),
            ("blkio", "blkio.throttle.write_iops_device", "8:16 500"),
        }, Writes(plan));
        Assert.Equal(2, plan.Warnings.Count);
        Assert.All(plan.Warnings, w => Assert.Contains("leafWeight", w));
        Assert.All(plan.Warnings, w => Assert.StartsWith("skipped (-SkipUnsupported): ", w, StringComparison.Ordinal));
    }

    [Fact]
    public void Blkio_Bfq_DeviceLeafWeightIsRefusedToo_OrSkippedWithAWarning()
    {
        var r = new LinuxResources
        {
            BlockIO = new LinuxBlockIO { WeightDevice = new() { new LinuxWeightDevice { Major = 8, Minor = 0, Weight = 400, LeafWeight = 200 } } },
        };
        Assert.Equal(ErrorIds.BlockIoWeightUnsupported, Assert.Throws<CgroupException>(() => Compile(r, Context(bfq: true))).ErrorId);
        var plan = Compile(r, Context(bfq: true), skipUnsupported: true);
        Assert.Equal(new[] { ("blkio", "blkio.bfq.weight_device", "8:0 400") }, Writes(plan));
        Assert.Contains(plan.Warnings, w => w.Contains("leafWeight", StringComparison.Ordinal) && w.Contains("8:0", StringComparison.Ordinal));
    }

    [Fact]
    public void Blkio_NoWeightFiles_WeightIsItsOwnErrorNamingTheScheduler()
    {
        // A kernel without CFQ and without BFQ (only blkio.throttle.*): a weight fails before anything is written,
        // with an id of its own and the cause, never as ENOENT on blkio.bfq.weight.
        var none = Context(weights: BlockIoWeightInterface.None);
        var e = Assert.Throws<CgroupException>(() => Compile(new LinuxResources { BlockIO = new LinuxBlockIO { Weight = 300 } }, none));
        Assert.Equal(ErrorIds.BlockIoWeightUnsupported, e.ErrorId);
        Assert.Equal(CgroupErrorKind.NotSupported, e.Kind);
        Assert.Equal("blockIO.weight", e.Target);
        Assert.Contains("BFQ", e.Message, StringComparison.Ordinal);
        var d = Assert.Throws<CgroupException>(() => Compile(new LinuxResources
        {
            BlockIO = new LinuxBlockIO { WeightDevice = new() { new LinuxWeightDevice { Major = 8, Minor = 0, Weight = 400 } } },
        }, none));
        Assert.Equal(ErrorIds.BlockIoWeightUnsupported, d.ErrorId);
        Assert.Equal("blockIO.weightDevice", d.Target);
    }

    [Fact]
    public void Blkio_NoWeightFiles_LeafWeightsAreRefusedSayingWhy_ThrottlesApplyWhenSkipped()
    {
        var r = new LinuxResources
        {
            BlockIO = new LinuxBlockIO
            {
                LeafWeight = 200,
                WeightDevice = new() { new LinuxWeightDevice { Major = 8, Minor = 0, LeafWeight = 100 } },
                ThrottleReadBpsDevice = new() { new LinuxThrottleDevice { Major = 8, Minor = 0, Rate = 1048576 } },
            },
        };
        var e = Assert.Throws<CgroupException>(() => Compile(r, Context(weights: BlockIoWeightInterface.None)));
        Assert.Equal(ErrorIds.BlockIoWeightUnsupported, e.ErrorId);
        Assert.Contains("no block IO weight file", e.Message, StringComparison.Ordinal);
        Assert.Contains("(and: ", e.Message, StringComparison.Ordinal);   // the second leaf weight is named too
        var plan = Compile(r, Context(weights: BlockIoWeightInterface.None), skipUnsupported: true);
        Assert.Equal(new[] { ("blkio", "blkio.throttle.read_bps_device", "8:0 1048576") }, Writes(plan));
        Assert.Equal(2, plan.Warnings.Count);
        Assert.All(plan.Warnings, w => Assert.Contains("no block IO weight file", w, StringComparison.Ordinal));
    }

    [Fact]
    public void Blkio_LeafWeightRefusalStatesTheRealReasonPerScheduler()
    {
        var r = new LinuxResources { BlockIO = new LinuxBlockIO { LeafWeight = 200 } };
        Assert.Contains("BFQ I/O scheduler has no leaf weights", Assert.Throws<CgroupException>(() => Compile(r, Context(bfq: true))).Message, StringComparison.Ordinal);
        Assert.Contains("no block IO weight file", Assert.Throws<CgroupException>(() => Compile(r, Context(weights: BlockIoWeightInterface.None))).Message, StringComparison.Ordinal);
        Assert.Equal(new[] { ("blkio", "blkio.leaf_weight", "200") }, Writes(Compile(r, Context(bfq: false))));
    }

    [Fact]
    public void Blkio_NoWeightFiles_WithoutTheBlkioControllerIsControllerNotMounted()
    {
        var r = new LinuxResources { BlockIO = new LinuxBlockIO { Weight = 300 } };
        Assert.Equal(ErrorIds.ControllerNotMounted,
            Assert.Throws<CgroupException>(() => Compile(r, Context(weights: BlockIoWeightInterface.None, without: "blkio"))).ErrorId);
        var plan = Compile(r, Context(weights: BlockIoWeightInterface.None, without: "blkio"), skipUnsupported: true);
        Assert.Empty(Writes(plan));
        Assert.Contains(plan.Warnings, w => w.Contains("blkio controller is not mounted", StringComparison.Ordinal));
    }

    [Fact]
    public void Blkio_SeveralThrottleDevicesKeepTheirOrder()
    {
        var plan = Compile(new LinuxResources
        {
            BlockIO = new LinuxBlockIO
            {
                ThrottleReadBpsDevice = new()
                {
                    new LinuxThrottleDevice { Major = 8, Minor = 16, Rate = 1 },
                    new LinuxThrottleDevice { Major = 8, Minor = 0, Rate = 0 },
                },
            },
        });
        Assert.Equal(new[]
        {
            ("blkio", "blkio.throttle.read_bps_device", "8:16 1"),
            ("blkio", "blkio.throttle.read_bps_device", "8:0 0"), // rate 0 removes the limit: it is written
        }, Writes(plan));
    }

    [Fact]
    public void Hugetlb()
    {
        var plan = Compile(new LinuxResources
        {
            HugepageLimits = new() { new LinuxHugepageLimit { PageSize = "2MB", Limit = 200 * MiB }, new LinuxHugepageLimit { PageSize = "1GB", Limit = 0 } },
        });
        Assert.Equal(new[]
        {
            ("hugetlb", "hugetlb.2MB.limit_in_bytes", "209715200"),
            ("hugetlb", "hugetlb.1GB.limit_in_bytes", "0"),
        }, Writes(plan));
    }

    [Fact]
    public void NetClsAndNetPrio()
    {
        var plan = Compile(new LinuxResources
        {
            Network = new LinuxNetwork
            {
                ClassId = 0x100001,
                Priorities = new() { new LinuxInterfacePriority { Name = "eth0", Priority = 5 }, new LinuxInterfacePriority { Name = "lo", Priority = 0 } },
            },
        });
        Assert.Equal(new[]
        {
            ("net_cls", "net_cls.classid", "1048577"),
            ("net_prio", "net_prio.ifpriomap", "eth0 5"),
            ("net_prio", "net_prio.ifpriomap", "lo 0"),
        }, Writes(plan));
    }

    [Fact]
    public void NetCls_ZeroIsNotWritten()
    {
        Assert.Empty(Compile(new LinuxResources { Network = new LinuxNetwork { ClassId = 0 } }).Writes);
    }

    [Fact]
    public void Rdma()
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
            ("rdma", "rdma.max", "mlx4_0 hca_object=2000"),
        }, Writes(plan));
    }

    [Fact]
    public void UnifiedMapIsRefusedOnV1()
    {
        var e = Assert.Throws<CgroupException>(() =>
            Compile(new LinuxResources { Unified = new() { ["memory.high"] = "max" } }));
        Assert.Equal(ErrorIds.UnsupportedOnHost, e.ErrorId);
        Assert.Equal(CgroupErrorKind.NotSupported, e.Kind);
    }

    [Fact]
    public void EmptyUnifiedMapIsFine()
    {
        Assert.Empty(Compile(new LinuxResources { Unified = new() }).Writes);
    }

    [Fact]
    public void ControllerNotMounted_FailsByDefault_OrSkipsEachValueWithAWarning()
    {
        var r = new LinuxResources
        {
            HugepageLimits = new() { new LinuxHugepageLimit { PageSize = "2MB", Limit = 1 * MiB }, new LinuxHugepageLimit { PageSize = "1GB", Limit = 0 } },
            Pids = new LinuxPids { Limit = 10 },
        };
        // runc's fs manager fails such a request (fs/hugetlb.go Set cannot write its file); so does Kata's Go manager.
        var e = Assert.Throws<CgroupException>(() => Compile(r, Context(without: "hugetlb")));
        Assert.Equal(ErrorIds.ControllerNotMounted, e.ErrorId);
        Assert.Equal("hugetlb", e.Target);
        Assert.Contains("hugepageLimits 2MB 1048576", e.Message, StringComparison.Ordinal);
        var plan = Compile(r, Context(without: "hugetlb"), skipUnsupported: true);
        Assert.Equal(new[] { ("pids", "pids.max", "10") }, Writes(plan));
        Assert.Equal(2, plan.Warnings.Count);   // one per skipped value
        Assert.All(plan.Warnings, w => Assert.Contains("hugetlb controller is not mounted", w, StringComparison.Ordinal));
    }

    [Fact]
    public void Devices_FromAllowAllParent_DenyAllThenAllows()
    {
        var rules = new[] { DeviceRule.Parse("deny a"), DeviceRule.Parse("c 1:3 rwm"), DeviceRule.Parse("b 253:* rwm") };
        var plan = Compile(new LinuxResources(), Context(devices: DeviceRuleSet.ParseList("a *:* rwm")), rules);
        Assert.Equal(new[]
        {
            ("devices", "devices.deny", "a *:* rwm"),
            ("devices", "devices.allow", "b 253:* rwm"),
            ("devices", "devices.allow", "c 1:3 rwm"),
        }, Writes(plan));
        Assert.NotNull(plan.DeviceTarget);
        Assert.True(plan.DeviceTarget!.SameAs(DeviceRuleSet.FromRules(rules)));
    }

    [Fact]
    public void Devices_UpdateWritesOnlyTheDifference()
    {
        var rules = new[] { DeviceRule.Parse("c 1:3 rwm"), DeviceRule.Parse("c 1:5 r") };
        var plan = Compile(new LinuxResources(), Context(devices: DeviceRuleSet.ParseList("c 1:3 rwm\nc 1:9 rwm")), rules);
        Assert.Equal(new[]
        {
            ("devices", "devices.deny", "c 1:9 rwm"),
            ("devices", "devices.allow", "c 1:5 r"),
        }, Writes(plan));
    }

    [Fact]
    public void Devices_NullLeavesDevicesAlone()
    {
        var plan = Compile(new LinuxResources(), Context(devices: DeviceRuleSet.ParseList("a *:* rwm")), devices: null);
        Assert.Empty(plan.Writes);
        Assert.Null(plan.DeviceTarget);
    }

    [Fact]
    public void Devices_ControllerNotMounted_CannotEnforceTheRules()
    {
        var rules = new[] { DeviceRule.Parse("c 1:3 rwm") };
        Assert.Equal(ErrorIds.ControllerNotMounted,
            Assert.Throws<CgroupException>(() => Compile(new LinuxResources(), Context(without: "devices"), rules)).ErrorId);
        var plan = Compile(new LinuxResources(), Context(without: "devices"), rules, skipUnsupported: true);
        Assert.Empty(plan.Writes);
        Assert.Contains("devices", Assert.Single(plan.Warnings));
    }

    [Theory]
    [InlineData("allow a", "deny c *:* rwm", "c 1:3 rwm")]
    [InlineData("allow a", "deny b *:* rw", "b 253:* rwm")]
    [InlineData("deny a", "c *:* rwm", "deny c 1:3 r")]
    [InlineData("deny a", "c 1:* rw", "deny c 1:3 w")]
    public void Devices_AHoleInAWildcardRuleIsRefused_AsRuncDoes(string first, string wildcard, string hole)
    {
        // The kernel keeps exceptions by exact key: the third rule would do nothing (runc: "cannot punch hole in
        // existing wildcard rule").
        var rules = new[] { DeviceRule.Parse(first), DeviceRule.Parse(wildcard), DeviceRule.Parse(hole) };
        var e = Assert.Throws<CgroupException>(() => Compile(new LinuxResources(), Context(), rules));
        Assert.Equal(ErrorIds.InvalidDeviceRule, e.ErrorId);
        Assert.Contains("punch a hole", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Devices_ExactKeysAndDisjointAccessAreNoHole()
    {
        var rules = new[] { DeviceRule.Parse("deny a"), DeviceRule.Parse("c 1:* r"), DeviceRule.Parse("deny c 1:3 w"),
            DeviceRule.Parse("c 1:3 rw"), DeviceRule.Parse("deny c 1:3 w") };
        var plan = Compile(new LinuxResources(), Context(), rules);
        Assert.Equal(new[] { "c 1:* r", "c 1:3 r" }, plan.DeviceTarget!.Exceptions.Select(x => x.ToKernelString()));
    }

    [Fact]
    public void Memory_ValuesAreWrittenInWholePages_AndTheRoundingIsAConversion()
    {
        // page_counter_memparse keeps whole pages: 1 byte of soft limit is 0, 5000 bytes of hard limit are one page.
        long page = Environment.SystemPageSize;
        var plan = Compile(new LinuxResources { Memory = new LinuxMemory { Limit = page + 904, Reservation = 1 } });
        Assert.Equal(new[]
        {
            ("memory", "memory.limit_in_bytes", page.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("memory", "memory.soft_limit_in_bytes", "0"),
        }, Writes(plan));
        Assert.Contains(plan.Conversions, c => c.Source == "memory.reservation 1" && c.Target == "memory.soft_limit_in_bytes 0" && c.ChangesValue);
        Assert.Contains(plan.Conversions, c => c.Source == $"memory.limit {page + 904}" && c.ChangesValue);
        // whole pages and unlimited are written as given
        Assert.DoesNotContain(Compile(new LinuxResources { Memory = new LinuxMemory { Limit = 256 * MiB, Reservation = -1 } }).Conversions, c => c.ChangesValue);
    }

    [Fact]
    public void Cpuset_WhitespaceAroundAListIsStrippedAsTheKernelDoes()
    {
        var plan = Compile(new LinuxResources { Cpu = new LinuxCpu { Cpus = " 0", Mems = "0\n" } });
        Assert.Equal(new[] { ("cpuset", "cpuset.cpus", "0"), ("cpuset", "cpuset.mems", "0") }, Writes(plan));
    }

    [Fact]
    public void SubsystemsInRuncOrder()
    {
        var r = OciConfig.LoadFile(Support.Fixture.PathOf("oci/config.json")).Resources;
        r.Unified = null;
        var devices = r.Devices!.Select(DeviceRule.FromOci).ToList();
        var plan = Compile(r, Context(currentMemoryLimit: 128 * MiB, devices: DeviceRuleSet.ParseList("a *:* rwm")), devices);
        var order = plan.Writes.Select(w => w.Controller).Distinct().ToList();
        Assert.Equal(new[] { "cpuset", "devices", "memory", "cpu", "pids", "blkio", "hugetlb", "net_cls", "net_prio", "rdma" }, order);
        // each controller's writes are contiguous
        var runs = plan.Writes.Select(w => w.Controller).Aggregate(new List<string>(), (acc, c) => { if (acc.Count == 0 || acc[^1] != c) acc.Add(c); return acc; });
        Assert.Equal(order, runs);
    }

    [Fact]
    public void ValidatesBeforeCompiling()
    {
        var e = Assert.Throws<CgroupException>(() => Compile(new LinuxResources { Cpu = new LinuxCpu { Shares = 1 } }));
        Assert.Equal(ErrorIds.InvalidResourceValue, e.ErrorId);
    }

    [Fact]
    public void Describe_OneLinePerWrite()
    {
        var plan = Compile(new LinuxResources { Pids = new LinuxPids { Limit = -1 }, Cpu = new LinuxCpu { Shares = 2 } });
        Assert.Equal(new[] { "cpu.shares = 2", "pids.max = max" }, plan.Describe());
    }
}
