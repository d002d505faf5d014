using KataCgroups.Errors;

namespace KataCgroups.Resources;

/// <summary>
/// OCI (v1-shaped) values → cgroup v2 values (opencontainers/cgroups utils.go and fs2/*.go).
/// Each conversion is pure and documented with its upstream source so the v1→v2 report can show it.
/// </summary>
public static class CgroupV2Conversions
{
    /// <summary>
    /// cpu.shares → cpu.weight with the quadratic fit through (2→1, 1024→100, 262144→10000)
    /// (opencontainers/cgroups ConvertCPUSharesToCgroupV2Value, 2025). The older linear formula gave
    /// 1024 → 39 and starved default containers (kubernetes#131216); it is deliberately not used.
    /// 0 stays 0 (unset).
    /// </summary>
    public static ulong SharesToWeight(ulong shares)
    {
        if (shares == 0) return 0;
        if (shares <= 2) return 1;
        if (shares >= 262144) return 10000;
        double l = Math.Log2(shares);
        double exponent = (l * l + 125 * l) / 612.0 - 7.0 / 34.0;
        return (ulong)Math.Ceiling(Math.Pow(10, exponent));
    }

    /// <summary>blkio weight (10–1000) → io.weight (1–10000): <c>1 + (w − 10)·9999/990</c> (fs2/io.go); 0 stays 0.</summary>
    public static ulong BlkioWeightToIoWeight(ulong weight) => weight == 0 ? 0 : 1 + (weight - 10) * 9999 / 990;

    /// <summary>
    /// OCI memory.swap is memory+swap; v2 memory.swap.max is swap alone (ConvertMemorySwapToCgroupV2Value):
    /// memory −1 with swap unset → −1; swap −1/0 as is; otherwise swap − memory, which needs a memory limit
    /// and swap ≥ memory.
    /// </summary>
    public static long MemorySwapToV2(long memorySwap, long memory)
    {
        if (memory == -1 && memorySwap == 0) return -1;
        if (memorySwap is -1 or 0) return memorySwap;
        if (memory is 0 or -1)
            throw new CgroupException(ErrorIds.InvalidResourceValue, CgroupErrorKind.InvalidArgument,
                "unable to set swap limit without memory limit", "memory.swap");
        if (memory < 0)
            throw new CgroupException(ErrorIds.InvalidResourceValue, CgroupErrorKind.InvalidArgument,
                $"invalid memory value: {memory}", "memory.limit");
        if (memorySwap < memory)
            throw new CgroupException(ErrorIds.InvalidResourceValue, CgroupErrorKind.InvalidArgument,
                "memory+swap limit should be >= memory limit", "memory.swap");
        return memorySwap - memory;
    }

    /// <summary>runc 1.1 numToStr: 0 → not written (null), −1 (or any negative) → "max", else the number.</summary>
    public static string? NumToStr(long value) => value switch
    {
        0 => null,
        < 0 => "max",
        _ => value.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
