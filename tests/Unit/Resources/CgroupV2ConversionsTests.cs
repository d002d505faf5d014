using KataCgroups.Errors;
using KataCgroups.Resources;

namespace KataCgroups.Tests.Resources;

/// <summary>
/// The OCI (v1-shaped) → cgroup v2 value conversions (opencontainers/cgroups utils.go
/// ConvertCPUSharesToCgroupV2Value, ConvertBlkIOToIOWeightValue, ConvertMemorySwapToCgroupV2Value; runc 1.1
/// numToStr). Expected values are worked out from the documented formulas, not read back from the code.
/// </summary>
public class CgroupV2ConversionsTests
{
    private const long MiB = 1024 * 1024;

    // weight = ceil(10^((l² + 125·l)/612 − 7/34)), l = log2(shares), clamped to 1..10000, 0 stays 0.
    //   2      → l=1:  (1+125)/612 − 7/34 = 0           → 10^0      = 1
    //   3      → l≈1.585:                              → 10^0.1219 ≈ 1.32   → 2
    //   512    → l=9:  (81+1125)/612 − 7/34 ≈ 1.764706  → ≈ 58.17           → 59
    //   1024   → l=10: (100+1250)/612 − 7/34 = 2        → 100
    //   2048   → l=11: (121+1375)/612 − 7/34 ≈ 2.238562 → ≈ 173.21          → 174
    //   4096   → l=12: (144+1500)/612 − 7/34 ≈ 2.480392 → ≈ 302.27          → 303
    //   262144 → l=18: (324+2250)/612 − 7/34 = 4        → 10000
    [Theory]
    [InlineData(0UL, 0UL)]
    [InlineData(2UL, 1UL)]
    [InlineData(3UL, 2UL)]
    [InlineData(512UL, 59UL)]
    [InlineData(1024UL, 100UL)]
    [InlineData(2048UL, 174UL)]
    [InlineData(4096UL, 303UL)]
    [InlineData(262143UL, 10000UL)]
    [InlineData(262144UL, 10000UL)]
    public void SharesToWeight_QuadraticFit(ulong shares, ulong weight) =>
        Assert.Equal(weight, CgroupV2Conversions.SharesToWeight(shares));

    [Fact]
    public void SharesToWeight_BelowTheKernelMinimumClampsToOne() =>
        Assert.Equal(1UL, CgroupV2Conversions.SharesToWeight(1));

    [Theory]
    [InlineData(262145UL)]
    [InlineData(1_000_000UL)]
    [InlineData(ulong.MaxValue)]
    public void SharesToWeight_AboveTheKernelMaximumClampsTo10000(ulong shares) =>
        Assert.Equal(10000UL, CgroupV2Conversions.SharesToWeight(shares));

    [Fact]
    public void SharesToWeight_DefaultIsNotTheOldLinearValue()
    {
        // The linear 1 + (s−2)·9999/262142 gave 39 for the default 1024 (kubernetes#131216).
        ulong linear = 1 + (1024UL - 2) * 9999 / 262142;
        Assert.Equal(39UL, linear);
        Assert.NotEqual(linear, CgroupV2Conversions.SharesToWeight(1024));
        Assert.Equal(100UL, CgroupV2Conversions.SharesToWeight(1024));
    }

    [Fact]
    public void SharesToWeight_MonotonicAndInRangeOverTheWholeShareRange()
    {
        ulong previous = 0;
        for (ulong shares = 2; shares <= 262144; shares += shares < 4096 ? 1UL : 97UL)
        {
            var weight = CgroupV2Conversions.SharesToWeight(shares);
            Assert.InRange(weight, 1UL, 10000UL);
            Assert.True(weight >= previous, $"weight({shares}) = {weight} < weight of a smaller share count ({previous})");
            previous = weight;
        }
        Assert.Equal(10000UL, CgroupV2Conversions.SharesToWeight(262144));
    }

    // io.weight = 1 + (w − 10)·9999/990 (integer division), 0 stays 0:
    //   10 → 1; 11 → 1 + 9999/990 = 11; 100 → 1 + 899910/990 = 910; 400 → 1 + 3899610/990 = 3940;
    //   500 → 1 + 4899510/990 = 4950; 1000 → 1 + 9899010/990 = 10000.
    [Theory]
    [InlineData(0UL, 0UL)]
    [InlineData(10UL, 1UL)]
    [InlineData(11UL, 11UL)]
    [InlineData(100UL, 910UL)]
    [InlineData(400UL, 3940UL)]
    [InlineData(500UL, 4950UL)]
    [InlineData(1000UL, 10000UL)]
    public void BlkioWeightToIoWeight_LinearMap(ulong blkio, ulong io) =>
        Assert.Equal(io, CgroupV2Conversions.BlkioWeightToIoWeight(blkio));

    [Theory]
    // memory unlimited, swap unset: "both unlimited" for compatibility with v1.
    [InlineData(0L, -1L, -1L)]
    // -1 (max) and 0 (unset) pass through whatever the memory limit is.
    [InlineData(-1L, 256 * MiB, -1L)]
    [InlineData(-1L, 0L, -1L)]
    [InlineData(-1L, -1L, -1L)]
    [InlineData(0L, 256 * MiB, 0L)]
    [InlineData(0L, 0L, 0L)]
    // OCI swap is memory+swap; v2 swap.max is swap alone.
    [InlineData(512 * MiB, 256 * MiB, 256 * MiB)]
    [InlineData(1024 * MiB, 256 * MiB, 768 * MiB)]
    // memory+swap equal to memory: no swap at all.
    [InlineData(256 * MiB, 256 * MiB, 0L)]
    public void MemorySwapToV2_SwapMinusMemory(long swap, long memory, long expected) =>
        Assert.Equal(expected, CgroupV2Conversions.MemorySwapToV2(swap, memory));

    [Theory]
    [InlineData(512 * MiB, 0L)]
    [InlineData(512 * MiB, -1L)]
    public void MemorySwapToV2_SwapWithoutAMemoryLimitIsAnError(long swap, long memory)
    {
        var e = Assert.Throws<CgroupException>(() => CgroupV2Conversions.MemorySwapToV2(swap, memory));
        Assert.Equal(ErrorIds.InvalidResourceValue, e.ErrorId);
        Assert.Equal(CgroupErrorKind.InvalidArgument, e.Kind);
        Assert.Equal("unable to set swap limit without memory limit", e.Message);
    }

    [Fact]
    public void MemorySwapToV2_SwapBelowMemoryIsAnError()
    {
        var e = Assert.Throws<CgroupException>(() => CgroupV2Conversions.MemorySwapToV2(128 * MiB, 256 * MiB));
        Assert.Equal(ErrorIds.InvalidResourceValue, e.ErrorId);
        Assert.Equal(CgroupErrorKind.InvalidArgument, e.Kind);
        Assert.Contains(">= memory limit", e.Message);
    }

    [Fact]
    public void MemorySwapToV2_NegativeMemoryOtherThanUnlimitedIsAnError()
    {
        var e = Assert.Throws<CgroupException>(() => CgroupV2Conversions.MemorySwapToV2(512 * MiB, -2));
        Assert.Equal(ErrorIds.InvalidResourceValue, e.ErrorId);
        Assert.Contains("-2", e.Message);
    }

    [Theory]
    [InlineData(1L, "1")]
    [InlineData(100L, "100")]
    [InlineData(268435456L, "268435456")]
    [InlineData(long.MaxValue, "9223372036854775807")]
    [InlineData(-1L, "max")]
    [InlineData(-5L, "max")]
    [InlineData(long.MinValue, "max")]
    public void NumToStr_NumbersAndMax(long value, string expected) =>
        Assert.Equal(expected, CgroupV2Conversions.NumToStr(value));

    [Fact]
    public void NumToStr_ZeroIsNotWritten() => Assert.Null(CgroupV2Conversions.NumToStr(0));

    [Theory]
    [InlineData("cpu.shares 512", "cpu.weight 59", true)]
    [InlineData("cpu.quota 50000", "cpu.max 50000 100000", true)]
    [InlineData("pids.limit 64", "pids.max 64", false)]
    [InlineData("pids.limit -1", "pids.max max", false)]
    [InlineData("memory.swap 536870912", "memory.swap.max 268435456", true)]
    public void ValueConversion_ChangesValueOnlyWhenTheNumberChanged(string source, string target, bool changes) =>
        Assert.Equal(changes, new ValueConversion(source, target).ChangesValue);
}
