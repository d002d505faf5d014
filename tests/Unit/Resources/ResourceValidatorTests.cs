using KataCgroups.Errors;
using KataCgroups.Resources;

namespace KataCgroups.Tests.Resources;

/// <summary>Bad resource values fail before anything is written, with InvalidResourceValue naming the value.</summary>
public class ResourceValidatorTests
{
    private static CgroupException Invalid(LinuxResources r)
    {
        var e = Assert.Throws<CgroupException>(() => ResourceValidator.Validate(r));
        Assert.Equal(CgroupErrorKind.InvalidArgument, e.Kind);
        return e;
    }

    private static void AssertInvalid(LinuxResources r, string target)
    {
        var e = Invalid(r);
        Assert.Equal(ErrorIds.InvalidResourceValue, e.ErrorId);
        Assert.Equal(target, e.Target);
    }

    [Theory]
    [InlineData(-2L)]
    [InlineData(long.MinValue)]
    [InlineData(1L)]
    [InlineData(4095L)]
    public void Memory_NegativeOrAbsurdLimit(long limit) =>
        AssertInvalid(new LinuxResources { Memory = new LinuxMemory { Limit = limit } }, "memory.limit");

    [Theory]
    [InlineData(-1L)]
    [InlineData(0L)]
    [InlineData(4096L)]
    [InlineData(long.MaxValue)]
    public void Memory_AcceptedLimits(long limit) =>
        Assert.Empty(ResourceValidator.Validate(new LinuxResources { Memory = new LinuxMemory { Limit = limit } }));

    [Fact]
    public void Memory_AbsurdSwapAndReservation()
    {
        AssertInvalid(new LinuxResources { Memory = new LinuxMemory { Swap = -3 } }, "memory.swap");
        AssertInvalid(new LinuxResources { Memory = new LinuxMemory { Reservation = -3 } }, "memory.reservation");
        // hard limits below a page hold nothing; swap too is a hard limit
        AssertInvalid(new LinuxResources { Memory = new LinuxMemory { Limit = 1 } }, "memory.limit");
        AssertInvalid(new LinuxResources { Memory = new LinuxMemory { Swap = 100 } }, "memory.swap");
    }

    [Theory]
    [InlineData(1L)]
    [InlineData(100L)]
    [InlineData(4095L)]
    public void Memory_ASoftLimitBelowAPageIsTheKernelsToRound(long reservation) =>
        Assert.Empty(ResourceValidator.Validate(new LinuxResources { Memory = new LinuxMemory { Reservation = reservation } }));

    [Fact]
    public void Memory_SwapBelowMemory()
    {
        var e = Invalid(new LinuxResources { Memory = new LinuxMemory { Limit = 512L << 20, Swap = 256L << 20 } });
        Assert.Equal(ErrorIds.InvalidResourceValue, e.ErrorId);
        Assert.Equal("memory.swap", e.Target);
        Assert.Contains("268435456", e.Message);
        Assert.Contains("536870912", e.Message);
    }

    [Fact]
    public void Memory_SwapEqualToMemoryOrUnlimitedIsFine()
    {
        ResourceValidator.Validate(new LinuxResources { Memory = new LinuxMemory { Limit = 512L << 20, Swap = 512L << 20 } });
        ResourceValidator.Validate(new LinuxResources { Memory = new LinuxMemory { Limit = 512L << 20, Swap = -1 } });
    }

    [Fact]
    public void Memory_SwappinessOfAllOnesIsTheSpecsMinusOne_NotSet() =>
        Assert.Empty(ResourceValidator.Validate(new LinuxResources { Memory = new LinuxMemory { Swappiness = ulong.MaxValue } }));

    [Fact]
    public void Memory_SwapInTheSamePageAsTheLimitIsTheSameLimit() =>
        Assert.Empty(ResourceValidator.Validate(new LinuxResources { Memory = new LinuxMemory { Limit = 3112843015, Swap = 3112843014 } }));

    [Fact]
    public void Rdma_AnEntryThatLimitsNothingIsRefused() =>
        AssertInvalid(new LinuxResources { Rdma = new() { ["mlx5_0"] = new LinuxRdma() } }, "rdma");

    [Theory]
    [InlineData(101UL)]
    [InlineData(ulong.MaxValue - 1)]
    public void Memory_SwappinessAbove100(ulong swappiness) =>
        AssertInvalid(new LinuxResources { Memory = new LinuxMemory { Swappiness = swappiness } }, "memory.swappiness");

    [Theory]
    [InlineData(1UL)]
    [InlineData(262145UL)]
    [InlineData(ulong.MaxValue)]
    public void Cpu_SharesOutOfRange(ulong shares) =>
        AssertInvalid(new LinuxResources { Cpu = new LinuxCpu { Shares = shares } }, "cpu.shares");

    [Theory]
    [InlineData(0UL)]
    [InlineData(2UL)]
    [InlineData(1024UL)]
    [InlineData(262144UL)]
    public void Cpu_SharesInRange(ulong shares) =>
        ResourceValidator.Validate(new LinuxResources { Cpu = new LinuxCpu { Shares = shares } });

    [Theory]
    [InlineData(1UL)]
    [InlineData(999UL)]
    [InlineData(1000001UL)]
    public void Cpu_PeriodOutOfRange(ulong period) =>
        AssertInvalid(new LinuxResources { Cpu = new LinuxCpu { Period = period } }, "cpu.period");

    [Theory]
    [InlineData(1000UL)]
    [InlineData(1000000UL)]
    public void Cpu_PeriodInRange(ulong period) =>
        ResourceValidator.Validate(new LinuxResources { Cpu = new LinuxCpu { Period = period } });

    [Theory]
    [InlineData(1L)]
    [InlineData(999L)]
    public void Cpu_QuotaTooSmall(long quota) =>
        AssertInvalid(new LinuxResources { Cpu = new LinuxCpu { Quota = quota } }, "cpu.quota");

    [Theory]
    [InlineData(-1L)]
    [InlineData(0L)]
    [InlineData(1000L)]
    public void Cpu_QuotaAccepted(long quota) =>
        ResourceValidator.Validate(new LinuxResources { Cpu = new LinuxCpu { Quota = quota } });

    [Fact]
    public void Cpu_IdleAndRealtime()
    {
        AssertInvalid(new LinuxResources { Cpu = new LinuxCpu { Idle = 2 } }, "cpu.idle");
        AssertInvalid(new LinuxResources { Cpu = new LinuxCpu { RealtimeRuntime = -2 } }, "cpu.realtimeRuntime");
    }

    [Theory]
    [InlineData("0-")]
    [InlineData("a")]
    [InlineData("0 1")]
    [InlineData("0;1")]
    [InlineData("-1")]
    public void Cpu_BadCpuList(string cpus) =>
        AssertInvalid(new LinuxResources { Cpu = new LinuxCpu { Cpus = cpus } }, "cpu.cpus");

    [Fact]
    public void Cpu_BadMemsList() =>
        AssertInvalid(new LinuxResources { Cpu = new LinuxCpu { Mems = "0-a" } }, "cpu.mems");

    [Theory]
    [InlineData("0")]
    [InlineData("0-3")]
    [InlineData("0-3,6,8-9")]
    [InlineData(" 0")]
    [InlineData("0-1\n")]
    [InlineData("1,,2")]
    [InlineData("0-3,")]
    [InlineData("0 ,1")]
    public void Cpu_GoodCpuList(string cpus) =>
        ResourceValidator.Validate(new LinuxResources { Cpu = new LinuxCpu { Cpus = cpus, Mems = cpus } });

    [Theory]
    [InlineData("2M")]
    [InlineData("abc")]
    [InlineData("2mb")]
    [InlineData("MB")]
    [InlineData("")]
    [InlineData("2MB/../x")]
    public void Hugepage_BadSize(string size) =>
        AssertInvalid(new LinuxResources { HugepageLimits = new() { new LinuxHugepageLimit { PageSize = size, Limit = 1 } } }, "hugepageLimits.pageSize");

    [Theory]
    [InlineData("2MB")]
    [InlineData("1GB")]
    [InlineData("64KB")]
    public void Hugepage_GoodSize(string size) =>
        ResourceValidator.Validate(new LinuxResources { HugepageLimits = new() { new LinuxHugepageLimit { PageSize = size, Limit = 1 } } });

    [Theory]
    [InlineData((ushort)9)]
    [InlineData((ushort)1001)]
    public void Blkio_WeightOutOfRange(ushort weight)
    {
        AssertInvalid(new LinuxResources { BlockIO = new LinuxBlockIO { Weight = weight } }, "blockIO.weight");
        AssertInvalid(new LinuxResources { BlockIO = new LinuxBlockIO { LeafWeight = weight } }, "blockIO.leafWeight");
    }

    [Fact]
    public void Blkio_NegativeDeviceNumbers()
    {
        AssertInvalid(new LinuxResources
        {
            BlockIO = new LinuxBlockIO { ThrottleReadBpsDevice = new() { new LinuxThrottleDevice { Major = -1, Minor = 0, Rate = 1 } } },
        }, "blockIO.throttle");
        AssertInvalid(new LinuxResources
        {
            BlockIO = new LinuxBlockIO { WeightDevice = new() { new LinuxWeightDevice { Major = 8, Minor = -1, Weight = 100 } } },
        }, "blockIO.weightDevice");
    }

    [Theory]
    [InlineData("")]
    [InlineData("eth 0")]
    [InlineData("a/b")]
    [InlineData("averyveryverylongname")]
    public void NetPrio_BadInterfaceName(string name) =>
        AssertInvalid(new LinuxResources { Network = new LinuxNetwork { Priorities = new() { new LinuxInterfacePriority { Name = name } } } },
            "network.priorities.name");

    [Theory]
    [InlineData("memory/high")]
    [InlineData("../memory.high")]
    [InlineData("nodot")]
    [InlineData("")]
    public void Unified_BadKey(string key) =>
        AssertInvalid(new LinuxResources { Unified = new() { [key] = "1" } }, "unified");

    [Fact]
    public void Devices_BadRuleIsInvalidDeviceRule()
    {
        var e = Invalid(new LinuxResources { Devices = new() { new LinuxDeviceCgroup { Allow = true, Type = "x" } } });
        Assert.Equal(ErrorIds.InvalidDeviceRule, e.ErrorId);
    }

    [Fact]
    public void MessageNamesTheValue()
    {
        var e = Invalid(new LinuxResources { Cpu = new LinuxCpu { Shares = 1 } });
        Assert.Equal("invalid cpu.shares value 1: valid cpu shares range is 2-262144", e.Message);
    }
}
