using KataCgroups.Devices;
using KataCgroups.Errors;
using KataCgroups.Resources;
using KataCgroups.Tests.Support;

namespace KataCgroups.Tests.Resources;

/// <summary>
/// OCI resources → systemd unit properties (opencontainers/cgroups systemd/common.go addCpuQuota,
/// systemd/v1.go, systemd/v2.go, systemd/cpuset.go RangeToBits, systemd/devices.go), and the /proc/devices
/// lookup that names <c>M:*</c> device rules.
/// </summary>
public class SystemdPropertiesTests
{
    private const long MiB = 1024 * 1024;

    /// <summary>A /proc/devices stand-in: a few majors with names, everything else unknown.</summary>
    private static string? Groups(char type, long major) => (type, major) switch
    {
        ('c', 1) => "mem",
        ('c', 136) => "pts",
        ('b', 253) => "device-mapper",
        _ => null,
    };

    private static SystemdResourcePlan Compile(LinuxResources r, bool unified, IReadOnlyList<DeviceRule>? devices = null) =>
        SystemdProperties.Compile(r, unified, devices, Groups);

    private static IReadOnlyList<DeviceRule> Rules(params string[] text) => text.Select(t => DeviceRule.Parse(t)).ToList();

    private static List<string> Names(SystemdResourcePlan plan) => plan.Properties.Select(p => p.Name).ToList();

    private static T Value<T>(SystemdResourcePlan plan, string name) =>
        Assert.IsType<T>(Assert.Single(plan.Properties, p => p.Name == name).Value);

    private static (string, string)[] Entries(UnitProperty p) => Assert.IsType<(string, string)[]>(p.Value);

    // ---- CPUQuotaPerSecUSec (systemd/common.go addCpuQuota) ----

    [Theory]
    // quota·10⁶/period, already a multiple of 10000
    [InlineData(50000L, 100000UL, 500000UL)]
    [InlineData(100000L, 100000UL, 1000000UL)]
    [InlineData(150000L, 100000UL, 1500000UL)]
    [InlineData(25000L, 50000UL, 500000UL)]
    [InlineData(1000L, 1000UL, 1000000UL)]
    // rounded up to the next whole percent of a CPU: 123450 → 130000, 333330 → 340000, 1000 → 10000
    [InlineData(12345L, 100000UL, 130000UL)]
    [InlineData(33333L, 100000UL, 340000UL)]
    [InlineData(1000L, 1000000UL, 10000UL)]
    [InlineData(10001L, 100000UL, 110000UL)]
    // period 0 means the default 100000
    [InlineData(50000L, 0UL, 500000UL)]
    [InlineData(12345L, 0UL, 130000UL)]
    public void CpuQuotaPerSecUSec_RoundedUpToAWholePercent(long quota, ulong period, ulong expected) =>
        Assert.Equal(expected, SystemdProperties.CpuQuotaPerSecUSec(quota, period));

    [Theory]
    [InlineData(0L, 100000UL)]
    [InlineData(-1L, 100000UL)]
    [InlineData(-1L, 0UL)]
    [InlineData(long.MinValue, 100000UL)]
    public void CpuQuotaPerSecUSec_NonPositiveQuotaIsInfinity(long quota, ulong period)
    {
        Assert.Equal(ulong.MaxValue, SystemdProperties.CpuQuotaPerSecUSec(quota, period));
        Assert.Equal(ulong.MaxValue, SystemdProperties.Infinity);
    }

    // ---- AllowedCPUs / AllowedMemoryNodes bit masks (systemd/cpuset.go RangeToBits: little-endian bytes) ----

    [Theory]
    [InlineData("0", new byte[] { 0x01 })]
    [InlineData("1", new byte[] { 0x02 })]
    [InlineData("0-1", new byte[] { 0x03 })]
    [InlineData("0,1", new byte[] { 0x03 })]
    [InlineData("0-3", new byte[] { 0x0f })]
    [InlineData("0,1,2-3", new byte[] { 0x0f })]
    [InlineData("0-3,7", new byte[] { 0x8f })]
    [InlineData("4-7", new byte[] { 0xf0 })]
    [InlineData("0-7", new byte[] { 0xff })]
    [InlineData("0-15", new byte[] { 0xff, 0xff })]
    [InlineData("0,8-9", new byte[] { 0x01, 0x03 })]
    [InlineData("16", new byte[] { 0x00, 0x00, 0x01 })]
    [InlineData("0-3,32-33", new byte[] { 0x0f, 0x00, 0x00, 0x00, 0x03 })]
    [InlineData(",0,1,", new byte[] { 0x03 })]
    public void ListToBits(string list, byte[] expected) =>
        Assert.Equal(expected, SystemdProperties.ListToBits(list));

    [Theory]
    [InlineData("0")]
    [InlineData("0-3,7")]
    [InlineData("0,2,4")]
    [InlineData("7-8")]
    [InlineData("1-2,5-6,9")]
    [InlineData("0-3,32-33")]
    [InlineData("128-130")]
    public void BitsToList_RoundTrip(string list) =>
        Assert.Equal(list, SystemdProperties.BitsToList(SystemdProperties.ListToBits(list)));

    [Theory]
    [InlineData("0,1,2-3", "0-3")]
    [InlineData("3,2,1", "1-3")]
    [InlineData("1-2,2-4", "1-4")]
    [InlineData("0-7,8", "0-8")]
    public void BitsToList_Canonical(string list, string canonical) =>
        Assert.Equal(canonical, SystemdProperties.BitsToList(SystemdProperties.ListToBits(list)));

    [Fact]
    public void BitsToList_FromBytes()
    {
        Assert.Equal("0-3,7", SystemdProperties.BitsToList(new byte[] { 0x8f }));
        Assert.Equal("8", SystemdProperties.BitsToList(new byte[] { 0x00, 0x01 }));
        Assert.Equal("", SystemdProperties.BitsToList(new byte[] { 0x00 }));
        Assert.Equal("", SystemdProperties.BitsToList(Array.Empty<byte>()));
    }

    [Theory]
    [InlineData("3-1")]
    [InlineData("54-53")]
    [InlineData("0-65536")]
    [InlineData("65536")]
    [InlineData("1-")]
    [InlineData("-")]
    [InlineData("-3")]
    [InlineData("a")]
    [InlineData("1-2-3")]
    [InlineData("1 - 2")]
    [InlineData("")]
    [InlineData(" , ")]
    [InlineData("+1")]
    public void ListToBits_InvalidRangeThrows(string list)
    {
        var e = Assert.Throws<CgroupException>(() => SystemdProperties.ListToBits(list));
        Assert.Equal(ErrorIds.InvalidResourceValue, e.ErrorId);
        Assert.Equal(CgroupErrorKind.InvalidArgument, e.Kind);
    }

    // ---- Compile: v1 property names (systemd/v1.go genV1ResourcesProperties) ----

    // cpuset is left out of the v1 set: see V2_UnifiedPropertyNames and AllowedCpusAndMemoryNodes for AllowedCPUs.
    private static LinuxResources Full(bool cpuset = true) => new()
    {
        Memory = new LinuxMemory { Limit = 256 * MiB, Swap = 512 * MiB, Reservation = 128 * MiB, Swappiness = 30, DisableOomKiller = true },
        Cpu = new LinuxCpu { Shares = 512, Quota = 50000, Period = 100000, Cpus = cpuset ? "0-3,7" : null, Mems = cpuset ? "0" : null },
        Pids = new LinuxPids { Limit = 100 },
        BlockIO = new LinuxBlockIO
        {
            Weight = 500,
            LeafWeight = 300,
            WeightDevice = new() { new LinuxWeightDevice { Major = 8, Minor = 0, Weight = 400 } },
            ThrottleReadBpsDevice = new() { new LinuxThrottleDevice { Major = 8, Minor = 0, Rate = 1048576 } },
            ThrottleWriteIopsDevice = new() { new LinuxThrottleDevice { Major = 8, Minor = 16, Rate = 500 } },
        },
        HugepageLimits = new() { new LinuxHugepageLimit { PageSize = "2MB", Limit = 200 * MiB } },
        Network = new LinuxNetwork { ClassId = 0x100001 },
        Rdma = new() { ["mlx5_1"] = new LinuxRdma { HcaHandles = 3 } },
    };

    [Fact]
    public void V1_LegacyPropertyNames()
    {
        var plan = Compile(Full(cpuset: false), unified: false);
        Assert.Equal(new[] { "MemoryLimit", "CPUShares", "CPUQuotaPeriodUSec", "CPUQuotaPerSecUSec", "TasksMax", "BlockIOWeight" }, Names(plan));
        Assert.Equal(268435456UL, Value<ulong>(plan, "MemoryLimit"));
        Assert.Equal(512UL, Value<ulong>(plan, "CPUShares"));
        Assert.Equal(100000UL, Value<ulong>(plan, "CPUQuotaPeriodUSec"));
        Assert.Equal(500000UL, Value<ulong>(plan, "CPUQuotaPerSecUSec"));
        Assert.Equal(100UL, Value<ulong>(plan, "TasksMax"));
        Assert.Equal(500UL, Value<ulong>(plan, "BlockIOWeight")); // raw: v1 BlockIOWeight has the blkio range
        Assert.Empty(plan.Warnings);
        Assert.Empty(plan.CgroupfsDevices);
        Assert.DoesNotContain(plan.Properties, p => p.Name is "MemoryMax" or "MemoryLow" or "MemorySwapMax" or "CPUWeight" or "IOWeight");
    }

    [Fact]
    public void V1_ResidualIsEverythingButTheDevices()
    {
        // runc's systemd v1 driver writes every subsystem through cgroupfs after systemd (systemd/v1.go Set): the
        // kernel then holds the exact quota (systemd rounds it), and a value the kernel refuses fails the command
        var r = Full(cpuset: false);
        r.Devices = new() { new LinuxDeviceCgroup { Allow = true, Type = "c", Major = 1, Minor = 3, Access = "rwm" } };
        var plan = Compile(r, unified: false);
        Assert.Same(r.Memory, plan.Residual.Memory);
        Assert.Same(r.Cpu, plan.Residual.Cpu);
        Assert.Same(r.Pids, plan.Residual.Pids);
        Assert.Same(r.BlockIO, plan.Residual.BlockIO);
        Assert.Same(r.HugepageLimits, plan.Residual.HugepageLimits);
        Assert.Same(r.Network, plan.Residual.Network);
        Assert.Same(r.Rdma, plan.Residual.Rdma);
        Assert.Null(plan.Residual.Devices); // DeviceAllow, and CgroupfsDevices for what it cannot name
        // … and systemd still gets its properties
        Assert.Contains(plan.Properties, p => p.Name == "MemoryLimit");
        Assert.Contains(plan.Properties, p => p.Name == "TasksMax");
    }

    [Fact]
    public void V1_UnlimitedMemory()
    {
        var plan = Compile(new LinuxResources { Memory = new LinuxMemory { Limit = -1 } }, unified: false);
        Assert.Equal(ulong.MaxValue, Value<ulong>(plan, "MemoryLimit"));
        Assert.Equal("MemoryLimit=infinity", Assert.Single(plan.Properties).ToString());
    }

    // ---- Compile: v2 property names (systemd/v2.go genV2ResourcesProperties) ----

    [Fact]
    public void V2_UnifiedPropertyNames()
    {
        var plan = Compile(Full(), unified: true);
        Assert.Equal(new[]
        {
            "MemoryMax", "MemoryLow", "MemorySwapMax", "CPUWeight", "CPUQuotaPeriodUSec", "CPUQuotaPerSecUSec", "AllowedCPUs", "AllowedMemoryNodes",
            "TasksMax", "IOWeight",
        }, Names(plan));
        Assert.Equal(268435456UL, Value<ulong>(plan, "MemoryMax"));
        Assert.Equal(134217728UL, Value<ulong>(plan, "MemoryLow"));
        Assert.Equal(268435456UL, Value<ulong>(plan, "MemorySwapMax")); // 512 MiB memory+swap − 256 MiB memory
        Assert.Equal(59UL, Value<ulong>(plan, "CPUWeight"));             // shares 512 → weight 59
        Assert.Equal(500000UL, Value<ulong>(plan, "CPUQuotaPerSecUSec"));
        Assert.Equal(new byte[] { 0x8f }, Value<byte[]>(plan, "AllowedCPUs"));
        Assert.Equal(100UL, Value<ulong>(plan, "TasksMax"));
        Assert.Equal(4950UL, Value<ulong>(plan, "IOWeight"));            // 1 + (500 − 10)·9999/990
        Assert.DoesNotContain(plan.Properties, p => p.Name is "MemoryLimit" or "CPUShares" or "BlockIOWeight");
        Assert.Empty(plan.CgroupfsDevices);
    }

    [Fact]
    public void V2_ResidualHasNoMemoryButKeepsIoDevicesAndTheRest()
    {
        var plan = Compile(Full(), unified: true);
        Assert.Null(plan.Residual.Memory);
        Assert.Null(plan.Residual.Cpu);
        var bio = Assert.IsType<LinuxBlockIO>(plan.Residual.BlockIO);
        Assert.Null(bio.Weight);
        Assert.Single(bio.ThrottleReadBpsDevice!);
        Assert.Single(plan.Residual.HugepageLimits!);
    }

    [Theory]
    [InlineData(1024UL, 100UL)]
    [InlineData(2UL, 1UL)]
    [InlineData(262144UL, 10000UL)]
    public void V2_CpuWeightFromShares(ulong shares, ulong weight)
    {
        var plan = Compile(new LinuxResources { Cpu = new LinuxCpu { Shares = shares } }, unified: true);
        Assert.Equal(weight, Value<ulong>(plan, "CPUWeight"));
    }

    [Fact]
    public void V2_UnlimitedMemoryAndSwap()
    {
        // memory −1 with swap unset: both unlimited (ConvertMemorySwapToCgroupV2Value)
        var plan = Compile(new LinuxResources { Memory = new LinuxMemory { Limit = -1 } }, unified: true);
        Assert.Equal(new[] { "MemoryMax", "MemorySwapMax" }, Names(plan));
        Assert.Equal(ulong.MaxValue, Value<ulong>(plan, "MemoryMax"));
        Assert.Equal(ulong.MaxValue, Value<ulong>(plan, "MemorySwapMax"));
    }

    [Fact]
    public void V2_SwapEqualToMemoryDisablesSwap()
    {
        var plan = Compile(new LinuxResources { Memory = new LinuxMemory { Limit = 256 * MiB, Swap = 256 * MiB } }, unified: true);
        Assert.Equal(0UL, Value<ulong>(plan, "MemorySwapMax"));
    }

    [Fact]
    public void V2_LimitOnlyLeavesSwapAlone()
    {
        var plan = Compile(new LinuxResources { Memory = new LinuxMemory { Limit = 256 * MiB } }, unified: true);
        Assert.Equal(new[] { "MemoryMax" }, Names(plan));
    }

    [Fact]
    public void V2_SwapWithoutMemoryLimitIsAnError()
    {
        var e = Assert.Throws<CgroupException>(() =>
            Compile(new LinuxResources { Memory = new LinuxMemory { Swap = 512 * MiB } }, unified: true));
        Assert.Equal(ErrorIds.InvalidResourceValue, e.ErrorId);
    }

    [Fact]
    public void V2_BurstAndIdleGoThroughCgroupfs()
    {
        var plan = Compile(new LinuxResources { Cpu = new LinuxCpu { Shares = 1024, Burst = 10000, Idle = 1 } }, unified: true);
        Assert.Equal(new[] { "CPUWeight" }, Names(plan));
        var cpu = Assert.IsType<LinuxCpu>(plan.Residual.Cpu);
        Assert.Equal(10000UL, cpu.Burst);
        Assert.Equal(1L, cpu.Idle);
        Assert.Null(cpu.Shares);
    }

    // ---- both: zeros, quota, TasksMax ----

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ZerosAreNotSent(bool unified)
    {
        var plan = Compile(new LinuxResources
        {
            Memory = new LinuxMemory { Limit = 0, Reservation = 0, Swap = 0 },
            Cpu = new LinuxCpu { Shares = 0, Quota = 0, Period = 0, Cpus = "", Mems = "" },
            Pids = new LinuxPids { Limit = 0 },
            BlockIO = new LinuxBlockIO { Weight = 0 },
        }, unified);
        Assert.Empty(plan.Properties);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void QuotaOnly_NoPeriodPropertyAndTheDefaultPeriod(bool unified)
    {
        var plan = Compile(new LinuxResources { Cpu = new LinuxCpu { Quota = 12345 } }, unified);
        Assert.Equal(new[] { "CPUQuotaPerSecUSec" }, Names(plan));
        Assert.Equal(130000UL, Value<ulong>(plan, "CPUQuotaPerSecUSec"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void UnlimitedQuota_IsInfinity(bool unified)
    {
        var plan = Compile(new LinuxResources { Cpu = new LinuxCpu { Quota = -1 } }, unified);
        Assert.Equal(ulong.MaxValue, Value<ulong>(plan, "CPUQuotaPerSecUSec"));
        Assert.Equal("CPUQuotaPerSecUSec=infinity", Assert.Single(plan.Properties).ToString());
    }

    [Fact]
    public void PeriodOnly_SetsThePeriodAndLeavesTheQuotaUnlimited()
    {
        var plan = Compile(new LinuxResources { Cpu = new LinuxCpu { Period = 200000 } }, unified: true);
        Assert.Equal(new[] { "CPUQuotaPeriodUSec", "CPUQuotaPerSecUSec" }, Names(plan));
        Assert.Equal(200000UL, Value<ulong>(plan, "CPUQuotaPeriodUSec"));
        Assert.Equal(ulong.MaxValue, Value<ulong>(plan, "CPUQuotaPerSecUSec"));
    }

    [Theory]
    [InlineData(false, 100L, 100UL)]
    [InlineData(true, 1L, 1UL)]
    [InlineData(false, -1L, ulong.MaxValue)]
    [InlineData(true, -1L, ulong.MaxValue)]
    [InlineData(true, -7L, ulong.MaxValue)]
    public void TasksMax(bool unified, long limit, ulong expected)
    {
        var plan = Compile(new LinuxResources { Pids = new LinuxPids { Limit = limit } }, unified);
        Assert.Equal(expected, Value<ulong>(plan, "TasksMax"));
    }

    [Fact]
    public void AllowedCpusAndMemoryNodes()
    {
        var plan = Compile(new LinuxResources { Cpu = new LinuxCpu { Cpus = "0,8-9", Mems = "0-1" } }, unified: true);
        Assert.Equal(new[] { "AllowedCPUs", "AllowedMemoryNodes" }, Names(plan));
        Assert.Equal(new byte[] { 0x01, 0x03 }, Value<byte[]>(plan, "AllowedCPUs"));
        Assert.Equal(new byte[] { 0x03 }, Value<byte[]>(plan, "AllowedMemoryNodes"));
        Assert.Equal("AllowedCPUs=0,8-9", plan.Properties[0].ToString());
    }

    [Fact]
    public void AnyMajorWithOneMinorIsNeverWidenedToEveryDevice()
    {
        // systemd/devices.go skips '*:n' rules: DeviceAllow has no spelling for them and 'char-*' would allow all.
        var v2 = Compile(new LinuxResources(), unified: true, Rules("c 1:3 rwm", "c *:5 rwm"));
        var entries = Entries(v2.Properties.Last(p => p.Name == "DeviceAllow"));
        Assert.DoesNotContain(entries, e => e.Item1 == "char-*");
        Assert.Contains(v2.Warnings, w => w.Contains("c *:5 rwm", StringComparison.Ordinal));
        var v1 = Compile(new LinuxResources(), unified: false, Rules("c 1:3 rwm", "c *:5 rwm"));
        Assert.DoesNotContain(Entries(v1.Properties.Last(p => p.Name == "DeviceAllow")), e => e.Item1 == "char-*");
        Assert.Equal(Rules("c *:5 rwm"), v1.CgroupfsDevices);
    }

    [Fact]
    public void AllowedCpusAndMemoryNodes_V1SendsThemAndAlsoLeavesCpusetToCgroupfs()
    {
        // systemd/v1.go addCpuset sends them; systemd applies them only on the unified hierarchy, so cgroupfs too.
        var plan = Compile(new LinuxResources { Cpu = new LinuxCpu { Cpus = "0-3,7", Mems = "0" } }, unified: false);
        Assert.Equal(new byte[] { 0x8f }, Value<byte[]>(plan, "AllowedCPUs"));
        Assert.Equal(new byte[] { 0x01 }, Value<byte[]>(plan, "AllowedMemoryNodes"));
        Assert.Equal("0-3,7", plan.Residual.Cpu!.Cpus);
        Assert.Equal("0", plan.Residual.Cpu.Mems);
        var v2 = Compile(new LinuxResources { Cpu = new LinuxCpu { Cpus = "0-3,7", Mems = "0" } }, unified: true);
        Assert.True(v2.Residual.Cpu is null || (v2.Residual.Cpu.Cpus is null && v2.Residual.Cpu.Mems is null));
    }

    [Fact]
    public void V2_SwappinessAndOomKillerAreWarnedAboutNotDropped()
    {
        var plan = Compile(new LinuxResources { Memory = new LinuxMemory { Swappiness = 10, DisableOomKiller = true } }, unified: true);
        Assert.Contains(plan.Warnings, w => w.Contains("swappiness", StringComparison.Ordinal));
        Assert.Contains(plan.Warnings, w => w.Contains("disableOOMKiller", StringComparison.Ordinal));
        Assert.Empty(Compile(new LinuxResources { Memory = new LinuxMemory { Swappiness = 10 } }, unified: false).Warnings);
    }

    [Fact]
    public void CpuQuotaRounding_IsWarnedAboutOnlyWhenItChangesTheValue()
    {
        var rounded = Compile(new LinuxResources { Cpu = new LinuxCpu { Quota = 12345, Period = 100000 } }, unified: false);
        Assert.Equal(130000UL, Value<ulong>(rounded, "CPUQuotaPerSecUSec"));
        Assert.Contains(rounded.Warnings, w => w.Contains("is CPUQuotaPerSecUSec=130000 µs for systemd", StringComparison.Ordinal));
        Assert.Equal(12345L, rounded.Residual.Cpu!.Quota); // v1: the exact quota goes to cpu.cfs_quota_us
        var v2 = Compile(new LinuxResources { Cpu = new LinuxCpu { Quota = 12345, Period = 100000 } }, unified: true);
        Assert.Contains(v2.Warnings, w => w.Contains("rounded up to CPUQuotaPerSecUSec=130000", StringComparison.Ordinal));
        Assert.Empty(Compile(new LinuxResources { Cpu = new LinuxCpu { Quota = 50000, Period = 100000 } }, unified: true).Warnings);
        Assert.Empty(Compile(new LinuxResources { Cpu = new LinuxCpu { Quota = -1 } }, unified: true).Warnings);
    }

    [Fact]
    public void ValidatesBeforeCompiling()
    {
        var e = Assert.Throws<CgroupException>(() => Compile(new LinuxResources { Cpu = new LinuxCpu { Shares = 1 } }, unified: true));
        Assert.Equal(ErrorIds.InvalidResourceValue, e.ErrorId);
    }

    [Fact]
    public void KernelMemoryWarningIsPassedOn()
    {
        var plan = Compile(new LinuxResources { Memory = new LinuxMemory { Kernel = 64 * MiB } }, unified: false);
        Assert.Contains("memory.kernel ", Assert.Single(plan.Warnings));
    }

    // ---- devices (systemd/devices.go generateDeviceProperties) ----

    [Fact]
    public void Devices_NullSendsNoDeviceProperties()
    {
        var plan = Compile(new LinuxResources { Pids = new LinuxPids { Limit = 5 } }, unified: true, devices: null);
        Assert.DoesNotContain(plan.Properties, p => p.Name.StartsWith("Device", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Devices_ClearedThenStrictThenTheAllowList(bool unified)
    {
        var plan = Compile(new LinuxResources(), unified, Rules(
            "deny a", "c 1:3 rwm", "c 136:* rw", "b 8:0 r", "c *:* m", "b 253:* rwm", "b *:* r"));
        Assert.Equal(new[] { "DeviceAllow", "DevicePolicy", "DeviceAllow" }, Names(plan));
        Assert.Empty(Entries(plan.Properties[0]));
        Assert.Equal("strict", plan.Properties[1].Value);
        Assert.Equal(new[]
        {
            ("/dev/block/8:0", "r"),
            ("/dev/char/1:3", "rwm"),
            ("block-*", "r"),
            ("block-device-mapper", "rwm"),
            ("char-*", "m"),
            ("char-pts", "rw"),
        }, Entries(plan.Properties[2]).OrderBy(e => e.Item1, StringComparer.Ordinal));
        Assert.Empty(plan.Warnings);
        Assert.Empty(plan.CgroupfsDevices);
    }

    [Fact]
    public void Devices_AccessBitsOfOneNodeAreMerged()
    {
        var plan = Compile(new LinuxResources(), unified: true, Rules("c 1:3 r", "c 1:3 w"));
        Assert.Equal(new[] { ("/dev/char/1:3", "rw") }, Entries(plan.Properties[2]));
    }

    [Fact]
    public void Devices_EmptyListDeniesEverything()
    {
        var plan = Compile(new LinuxResources(), unified: true, Array.Empty<DeviceRule>());
        Assert.Equal(new[] { "DeviceAllow", "DevicePolicy", "DeviceAllow" }, Names(plan));
        Assert.Equal("strict", plan.Properties[1].Value);
        Assert.Empty(Entries(plan.Properties[2]));
    }

    [Fact]
    public void Devices_GroupLookupGetsTheTypeAndMajor()
    {
        var asked = new List<(char, long)>();
        SystemdProperties.Compile(new LinuxResources(), true, Rules("c 136:* rwm", "b 253:* rwm", "c 1:3 rwm", "c *:* m"),
            (t, m) => { asked.Add((t, m)); return "x"; });
        Assert.Equal(new[] { ('b', 253L), ('c', 136L) }, asked.OrderBy(a => a.Item1));
    }

    [Fact]
    public void Devices_AllowAllIsPolicyAuto()
    {
        var plan = Compile(new LinuxResources(), unified: true, Rules("allow a"));
        Assert.Equal(new[] { "DeviceAllow", "DevicePolicy" }, Names(plan));
        Assert.Empty(Entries(plan.Properties[0]));
        Assert.Equal("auto", plan.Properties[1].Value);
        Assert.Empty(plan.Warnings);
    }

    [Fact]
    public void Devices_DenyExceptionsToAllowAll_V2_AreWarnedAboutOneEach()
    {
        var plan = Compile(new LinuxResources(), unified: true, Rules("allow a", "deny c 1:3 rwm", "deny b 8:* w"));
        Assert.Equal(new[] { "DeviceAllow", "DevicePolicy" }, Names(plan));
        Assert.Equal("auto", plan.Properties[1].Value);
        Assert.Equal(2, plan.Warnings.Count);
        Assert.Contains(plan.Warnings, w => w.Contains("c 1:3 rwm", StringComparison.Ordinal));
        Assert.Contains(plan.Warnings, w => w.Contains("b 8:* w", StringComparison.Ordinal));
        Assert.Empty(plan.CgroupfsDevices);
    }

    [Fact]
    public void Devices_DenyExceptionsToAllowAll_V1_GoToCgroupfs()
    {
        // systemd has no deny list; runc's systemd v1 driver enforces them through devices.deny, else the scope would
        // grant what they deny
        var plan = Compile(new LinuxResources(), unified: false, Rules("allow a", "deny c 1:3 rwm", "deny b 8:* w"));
        Assert.Equal(new[] { "DeviceAllow", "DevicePolicy" }, Names(plan));
        Assert.Equal("auto", plan.Properties[1].Value);
        Assert.Empty(plan.Warnings);
        Assert.Equal(new[] { "b 8:* w", "c 1:3 rwm" }, plan.CgroupfsDevices.Select(r => r.ToKernelString()).Order());
        Assert.All(plan.CgroupfsDevices, r => Assert.False(r.Allow));
    }

    [Fact]
    public void Devices_UnnamedMajorWildcard_V1_GoesToCgroupfs()
    {
        var unnamed = DeviceRule.Parse("c 240:* rwm");
        var plan = Compile(new LinuxResources(), unified: false, new[] { DeviceRule.Parse("c 1:3 rwm"), unnamed });
        Assert.Equal(new[] { ("/dev/char/1:3", "rwm") }, Entries(plan.Properties[2]));
        Assert.Equal(new[] { unnamed }, plan.CgroupfsDevices);
        Assert.Empty(plan.Warnings);
    }

    [Fact]
    public void Devices_NumbersBeyondDevT_GoToCgroupfsOnV1AndAreWarnedAboutOnV2()
    {
        // systemd parses /dev/char/M:m into a dev_t (12-bit major, 20-bit minor) and skips what does not fit
        var big = DeviceRule.Parse("c 5000:1 rwm");
        var v1 = Compile(new LinuxResources(), unified: false, new[] { DeviceRule.Parse("c 1:3 rwm"), big, DeviceRule.Parse("b 8:1048576 r") });
        Assert.Equal(new[] { ("/dev/char/1:3", "rwm") }, Entries(v1.Properties[2]));
        Assert.Equal(new[] { "b 8:1048576 r", "c 5000:1 rwm" }, v1.CgroupfsDevices.Select(r => r.ToKernelString()).Order());
        Assert.False(SystemdProperties.CanExpress(big, Groups));
        // v1 reads 4294967295 as its wildcard: written through cgroupfs it would allow c *:1
        var e = Assert.Throws<CgroupException>(() => Compile(new LinuxResources(), unified: false, Rules("c 4294967295:1 rwm")));
        Assert.Equal(ErrorIds.InvalidDeviceRule, e.ErrorId);
        Assert.True(SystemdProperties.CanExpress(DeviceRule.Parse("c 4095:1048575 r"), Groups));
        var v2 = Compile(new LinuxResources(), unified: true, new[] { big });
        Assert.Contains(v2.Warnings, w => w.Contains("c 5000:1 rwm", StringComparison.Ordinal));
        Assert.Empty(v2.CgroupfsDevices);
    }

    [Fact]
    public void Devices_UnnamedMajorWildcard_V2_IsSkippedWithAWarning()
    {
        var plan = Compile(new LinuxResources(), unified: true, Rules("c 1:3 rwm", "c 240:* rwm"));
        Assert.Equal(new[] { ("/dev/char/1:3", "rwm") }, Entries(plan.Properties[2]));
        Assert.Empty(plan.CgroupfsDevices);
        var warning = Assert.Single(plan.Warnings);
        Assert.Contains("c 240:* rwm", warning);
        Assert.Contains("240", warning);
    }

    [Fact]
    public void Devices_NamedMajorWildcardNeverGoesToCgroupfs()
    {
        var plan = Compile(new LinuxResources(), unified: false, Rules("b 253:* rwm"));
        Assert.Equal(new[] { ("block-device-mapper", "rwm") }, Entries(plan.Properties[2]));
        Assert.Empty(plan.CgroupfsDevices);
    }

    [Theory]
    [InlineData("c 240:* rwm", false)] // M:* allow with no /proc/devices name: the only inexpressible kind
    [InlineData("b 7:* r", false)]
    [InlineData("c 136:* rwm", true)]  // named
    [InlineData("b 253:* rwm", true)]
    [InlineData("c 240:0 rwm", true)]  // concrete node: /dev/char/240:0
    [InlineData("c *:* rwm", true)]    // char-*
    [InlineData("c *:5 rwm", false)]   // no spelling: 'char-*' would allow every char device
    [InlineData("b *:0 r", false)]
    [InlineData("a", true)]
    [InlineData("deny c 240:* rwm", true)] // deny rules are never DeviceAllow entries
    public void CanExpress(string rule, bool expected) =>
        Assert.Equal(expected, SystemdProperties.CanExpress(DeviceRule.Parse(rule), Groups));

    [Fact]
    public void CanExpress_AgreesWithCompileOnV1()
    {
        var rules = Rules("c 1:3 rwm", "c 136:* rw", "c 240:* rwm", "b 7:* r", "b 253:* rwm", "c *:* m", "c *:5 rwm");
        var plan = Compile(new LinuxResources(), unified: false, rules);
        Assert.Equal(rules.Where(r => !SystemdProperties.CanExpress(r, Groups)).OrderBy(r => r.ToKernelString(), StringComparer.Ordinal),
            plan.CgroupfsDevices.OrderBy(r => r.ToKernelString(), StringComparer.Ordinal));
    }

    // ---- /proc/devices (systemd/devices.go findDeviceGroup) ----

    private const string ProcDevicesText = """
        Character devices:
          1 mem
          4 /dev/vc/0
          4 tty
          5 /dev/tty
         10 misc
        136 pts
        226 drm

        Block devices:
          7 loop
          8 sd
        253 device-mapper
        259 blkext

        """;

    [Fact]
    public void ProcDevices_NamesByTypeAndMajor()
    {
        using var dir = new TempDir();
        dir.Write("devices", ProcDevicesText);
        var group = SystemdProperties.ProcDevices(dir.Path);
        Assert.Equal("mem", group('c', 1));
        Assert.Equal("pts", group('c', 136));
        Assert.Equal("misc", group('c', 10));
        Assert.Equal("device-mapper", group('b', 253));
        Assert.Equal("loop", group('b', 7));
        Assert.Equal("blkext", group('b', 259));
    }

    [Fact]
    public void ProcDevices_SectionsAreSeparate()
    {
        using var dir = new TempDir();
        dir.Write("devices", ProcDevicesText);
        var group = SystemdProperties.ProcDevices(dir.Path);
        Assert.Null(group('b', 1));   // 1 is only a char major
        Assert.Null(group('c', 8));   // 8 is only a block major
        Assert.Null(group('c', 253));
    }

    [Fact]
    public void ProcDevices_UnknownMajorIsNull()
    {
        using var dir = new TempDir();
        dir.Write("devices", ProcDevicesText);
        var group = SystemdProperties.ProcDevices(dir.Path);
        Assert.Null(group('c', 240));
        Assert.Null(group('b', 254));
    }

    [Fact]
    public void ProcDevices_FirstNameOfAMajorWins()
    {
        // findDeviceGroup returns the first line with the major
        using var dir = new TempDir();
        dir.Write("devices", ProcDevicesText);
        Assert.Equal("/dev/vc/0", SystemdProperties.ProcDevices(dir.Path)('c', 4));
    }

    [Fact]
    public void ProcDevices_MissingFileNamesNothing()
    {
        using var dir = new TempDir();
        var group = SystemdProperties.ProcDevices(dir.Path);
        Assert.Null(group('c', 1));
        Assert.Null(group('b', 253));
        var missingRoot = SystemdProperties.ProcDevices(Path.Combine(dir.Path, "no", "such", "proc"));
        Assert.Null(missingRoot('c', 1));
    }

    [Fact]
    public void ProcDevices_DrivesCompile()
    {
        using var dir = new TempDir();
        dir.Write("devices", ProcDevicesText);
        var plan = SystemdProperties.Compile(new LinuxResources(), false, Rules("b 253:* rwm", "c 240:* rwm"), SystemdProperties.ProcDevices(dir.Path));
        Assert.Equal(new[] { ("block-device-mapper", "rwm") }, Entries(plan.Properties[2]));
        Assert.Equal(new[] { DeviceRule.Parse("c 240:* rwm") }, plan.CgroupfsDevices);
    }

    // ---- display ----

    [Fact]
    public void UnitProperty_ToStringInSystemdSpelling()
    {
        Assert.Equal("Delegate=yes", new UnitProperty("Delegate", true).ToString());
        Assert.Equal("DefaultDependencies=no", new UnitProperty("DefaultDependencies", false).ToString());
        Assert.Equal("MemoryMax=268435456", new UnitProperty("MemoryMax", 268435456UL).ToString());
        Assert.Equal("TasksMax=infinity", new UnitProperty("TasksMax", ulong.MaxValue).ToString());
        Assert.Equal("AllowedCPUs=0-3,7", new UnitProperty("AllowedCPUs", new byte[] { 0x8f }).ToString());
        Assert.Equal("PIDs=1 42", new UnitProperty("PIDs", new uint[] { 1, 42 }).ToString());
        Assert.Equal("DevicePolicy=strict", new UnitProperty("DevicePolicy", "strict").ToString());
    }
}
