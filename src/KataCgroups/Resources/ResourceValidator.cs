using System.Globalization;
using System.Text.RegularExpressions;
using KataCgroups.Errors;

namespace KataCgroups.Resources;

/// <summary>
/// Checks resource values before anything is written, so bad input fails with a clear message naming the value
/// and nothing on the host changes. Ranges are the kernel's; each check cites where the limit comes from.
/// Driver-independent: every driver validates through here first.
/// </summary>
public static partial class ResourceValidator
{
    /// <summary>kernel/sched/sched.h MIN_SHARES / MAX_SHARES (scale_load_down(MAX_SHARES) = 1 &lt;&lt; 18).</summary>
    public const ulong MinShares = 2, MaxShares = 262144;
    /// <summary>kernel/sched/core.c min_cfs_quota_period (1 ms) and max_cfs_quota_period (1 s), in µs.</summary>
    public const ulong MinCfsPeriod = 1000, MaxCfsPeriod = 1_000_000;
    /// <summary>Smallest quota the kernel accepts (1 ms), in µs.</summary>
    public const long MinCfsQuota = 1000;
    /// <summary>blkio/io weight range (block/blk-cgroup.h CGROUP_WEIGHT_MIN..MAX for v1 blkio: 10..1000).</summary>
    public const ushort MinBlkioWeight = 10, MaxBlkioWeight = 1000;
    /// <summary>A memory limit below one page cannot hold anything: treat as a typo, not a limit.</summary>
    public const long MinMemoryLimit = 4096;

    /// <summary>Validates every set value; returns warnings for ignored ones (kernel memory).</summary>
    public static List<string> Validate(LinuxResources r)
    {
        var warnings = new List<string>();
        if (r.Memory is { } m)
        {
            CheckMemory("memory.limit", m.Limit, hard: true);
            CheckMemory("memory.swap", m.Swap, hard: true);
            CheckMemory("memory.reservation", m.Reservation, hard: false);
            // Compared as the kernel compares them: in whole pages (MemoryPages), so a swap a byte below the limit
            // within the same page is the same limit.
            if (m.Limit > 0 && m.Swap > 0 && MemoryPages.Floor(m.Swap.Value) < MemoryPages.Floor(m.Limit.Value))
                throw Invalid("memory.swap", m.Swap.Value,
                    $"the memory+swap limit ({m.Swap}) must be at least the memory limit ({m.Limit})");
            // 2^64-1 is -1 written as the spec's unsigned type: "not set", as runc reads it (fs/memory.go).
            if (m.Swappiness is { } s && s > 100 && s != ulong.MaxValue)
                throw new CgroupException(ErrorIds.InvalidResourceValue, CgroupErrorKind.InvalidArgument,
                    $"invalid memory.swappiness value {s.ToString(CultureInfo.InvariantCulture)}: valid memory swappiness range is 0-100", "memory.swappiness");
            // Kernel memory limits were deprecated in runtime-spec 1.0.2 and removed from the kernel in 5.16
            // (commit 58056f77502f); runc ignores them with a warning, so do we.
            if (m.Kernel is { } k && k != 0)
                warnings.Add($"memory.kernel = {k} ignored: kernel memory limits are deprecated and not supported");
            if (m.KernelTcp is { } kt && kt != 0)
                warnings.Add($"memory.kernelTCP = {kt} ignored: kernel TCP memory limits are not supported");
        }
        if (r.Cpu is { } c)
        {
            if (c.Shares is { } sh && sh != 0 && (sh < MinShares || sh > MaxShares))
                throw Invalid("cpu.shares", (long)Math.Min(sh, long.MaxValue), $"valid cpu shares range is {MinShares}-{MaxShares}");
            if (c.Period is { } p && p != 0 && (p < MinCfsPeriod || p > MaxCfsPeriod))
                throw Invalid("cpu.period", (long)Math.Min(p, long.MaxValue), $"valid CFS period range is {MinCfsPeriod}-{MaxCfsPeriod} µs");
            // Any negative quota is "unlimited" to the kernel (kernel/sched/core.c tg_set_cfs_quota: quota < 0 →
            // RUNTIME_INF); a positive one below 1 ms it refuses.
            if (c.Quota is { } q && q > 0 && q < MinCfsQuota)
                throw Invalid("cpu.quota", q, $"the CFS quota must be negative (unlimited) or at least {MinCfsQuota} µs");
            if (c.RealtimeRuntime is { } rt && rt < -1)
                throw Invalid("cpu.realtimeRuntime", rt, "must be -1 (unlimited) or >= 0");
            if (c.Idle is { } idle && idle is not (0 or 1))
                throw Invalid("cpu.idle", idle, "must be 0 or 1");
            CheckCpuList("cpu.cpus", c.Cpus);
            CheckCpuList("cpu.mems", c.Mems);
        }
        if (r.BlockIO is { } b)
        {
            CheckWeight("blockIO.weight", b.Weight);
            CheckWeight("blockIO.leafWeight", b.LeafWeight);
            foreach (var wd in b.WeightDevice ?? new())
            {
                CheckDevNum("blockIO.weightDevice", wd.Major, wd.Minor);
                CheckWeight("blockIO.weightDevice.weight", wd.Weight);
                CheckWeight("blockIO.weightDevice.leafWeight", wd.LeafWeight);
            }
            foreach (var list in new[] { b.ThrottleReadBpsDevice, b.ThrottleWriteBpsDevice, b.ThrottleReadIopsDevice, b.ThrottleWriteIopsDevice })
                foreach (var td in list ?? new())
                    CheckDevNum("blockIO.throttle", td.Major, td.Minor);
        }
        foreach (var h in r.HugepageLimits ?? new())
        {
            if (!PageSizeRegex().IsMatch(h.PageSize))
                throw new CgroupException(ErrorIds.InvalidResourceValue, CgroupErrorKind.InvalidArgument,
                    $"invalid hugepageLimits.pageSize '{Show(h.PageSize)}': expected a size such as 2MB or 1GB", "hugepageLimits.pageSize");
        }
        foreach (var p in r.Network?.Priorities ?? new())
        {
            if (p.Name.Length == 0 || p.Name.Length > 15 || p.Name.Any(ch => char.IsWhiteSpace(ch) || char.IsControl(ch) || ch == '/'))
                throw new CgroupException(ErrorIds.InvalidResourceValue, CgroupErrorKind.InvalidArgument,
                    $"invalid network.priorities interface name '{Show(p.Name)}'", "network.priorities.name");
        }
        foreach (var (name, limits) in r.Rdma ?? new())
        {
            if (name.Length == 0 || name.Any(ch => char.IsWhiteSpace(ch) || char.IsControl(ch)))
                throw new CgroupException(ErrorIds.InvalidResourceValue, CgroupErrorKind.InvalidArgument,
                    $"invalid rdma device name '{Show(name)}'", "rdma");
            // runc writes the bare device name and the kernel refuses it (ENODEV/EINVAL): an entry that limits
            // nothing is a mistake to say, not a no-op to pass over.
            if (limits is null || (limits.HcaHandles is null && limits.HcaObjects is null))
                throw new CgroupException(ErrorIds.InvalidResourceValue, CgroupErrorKind.InvalidArgument,
                    $"invalid rdma entry '{Show(name)}': give hcaHandles, hcaObjects or both", "rdma");
        }
        foreach (var (key, value) in r.Unified ?? new())
        {
            if (key.Length == 0 || key.Contains('/') || key.Contains("..") || key.Any(char.IsControl) || !key.Contains('.'))
                throw new CgroupException(ErrorIds.InvalidResourceValue, CgroupErrorKind.InvalidArgument,
                    $"invalid unified key '{Show(key)}': expected a cgroup v2 file name such as memory.high", "unified");
            if (value is null || value.Any(ch => ch == '\0'))
                throw new CgroupException(ErrorIds.InvalidResourceValue, CgroupErrorKind.InvalidArgument,
                    $"invalid value for unified key '{key}'", "unified." + key);
        }
        foreach (var d in r.Devices ?? new())
            Devices.DeviceRule.FromOci(d);
        return warnings;
    }

    private static void CheckMemory(string name, long? value, bool hard)
    {
        if (value is not { } v || v == 0 || v == -1) return;
        if (v < 0)
            throw Invalid(name, v, "must be -1 (unlimited), 0 (unchanged) or a positive number of bytes");
        // The kernel keeps whole pages (page_counter_memparse rounds down). A hard limit below one page is a limit
        // of nothing: every allocation in the cgroup fails or OOM-kills, which runc would apply; refused here as the
        // typo it almost always is. A soft limit that small harms nothing and is kept, rounded like the kernel.
        if (hard && v < MinMemoryLimit)
            throw Invalid(name, v, $"a limit below {MinMemoryLimit} bytes cannot hold a process; did you mean {v}MB?");
    }

    /// <summary>
    /// A block IO weight given as a wider number (a cmdlet parameter), narrowed to the OCI field; what does not fit
    /// the field is refused with the field's own range message (the range itself is checked by <see cref="Validate"/>).
    /// </summary>
    public static ushort BlkioWeight(long weight) =>
        weight is < 0 or > ushort.MaxValue
            ? throw Invalid("blockIO.weight", weight, $"valid block IO weight range is {MinBlkioWeight}-{MaxBlkioWeight}")
            : (ushort)weight;

    /// <summary>A value given as a signed number (a cmdlet parameter) for an unsigned OCI field; negative is refused.</summary>
    public static ulong NonNegative(string name, long value) =>
        value < 0 ? throw Invalid(name, value, "must not be negative") : (ulong)value;

    private static void CheckWeight(string name, ushort? w)
    {
        if (w is { } v && v != 0 && (v < MinBlkioWeight || v > MaxBlkioWeight))
            throw Invalid(name, v, $"valid block IO weight range is {MinBlkioWeight}-{MaxBlkioWeight}");
    }

    private static void CheckDevNum(string name, long major, long minor)
    {
        if (major < 0 || minor < 0 || major > uint.MaxValue || minor > uint.MaxValue)
            throw new CgroupException(ErrorIds.InvalidResourceValue, CgroupErrorKind.InvalidArgument,
                $"invalid {name} device {major}:{minor}: major and minor must be non-negative device numbers", name);
    }

    private static void CheckCpuList(string name, string? text)
    {
        // Whitespace around the list is the kernel's to strip, as it does (CpusetList.Strip); nothing left means
        // "leave", like an empty value.
        if (Cpusets.CpusetList.Strip(text) is not { } list) return;
        if (!CpuListRegex().IsMatch(list))
            throw new CgroupException(ErrorIds.InvalidResourceValue, CgroupErrorKind.InvalidArgument,
                $"invalid {name} '{Show(list)}': expected a list such as 0-3,6", name);
    }

    private static CgroupException Invalid(string name, long value, string why) =>
        new(ErrorIds.InvalidResourceValue, CgroupErrorKind.InvalidArgument,
            $"invalid {name} value {value.ToString(CultureInfo.InvariantCulture)}: {why}", name);

    private static string Show(string s) => Paths.KataPath.Show(s);

    [GeneratedRegex(@"^\d+[KMG]B$")]
    private static partial Regex PageSizeRegex();

    // cpuset list format (Documentation/admin-guide/cgroup-v2.rst "cpuset.cpus"): ranges and numbers separated by
    // commas. The kernel's parser (lib/bitmap.c bitmap_parselist) also takes empty entries and spaces around them
    // ("0,,1", "0-1,", "0 ,1": all 0-1), so they are accepted as it accepts them.
    [GeneratedRegex(@"^ *(\d+(-\d+)?)? *(, *(\d+(-\d+)?)? *)*$")]
    private static partial Regex CpuListRegex();
}
