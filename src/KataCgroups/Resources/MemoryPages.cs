namespace KataCgroups.Resources;

/// <summary>
/// Memory limits in whole pages, as the kernel keeps them: page_counter_memparse (mm/page_counter.c) divides the
/// bytes written by the page size, so 5000 is kept as 4096 and 1 as 0. The plans write the value the kernel will
/// hold, and the conversion from the requested number shows where it differs.
/// </summary>
internal static class MemoryPages
{
    /// <summary><paramref name="bytes"/> rounded down to a whole page; 0, -1 (unlimited) and negatives unchanged.</summary>
    internal static long Floor(long bytes) => bytes <= 0 ? bytes : bytes - bytes % Environment.SystemPageSize;
}
