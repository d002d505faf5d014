using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using KataCgroups.Devices;

namespace KataCgroups.Resources;

/// <summary>
/// A live cgroup written back out as runtime-spec <c>linux.resources</c> (Export-KataCgroup), with what could not be
/// said in them. Applied with New-KataCgroup on another path, the resources reproduce the same files.
/// </summary>
/// <param name="Resources">The resources, every value the cgroup's files hold explicitly (a default too).</param>
/// <param name="Warnings">What the export cannot carry, each a full sentence.</param>
public sealed record ResourceExport(LinuxResources Resources, IReadOnlyList<string> Warnings)
{
    /// <summary>The OCI version a config.json fragment declares (runtime-spec v1.0.2, which runc 1.1 implements).</summary>
    public const string OciVersion = "1.0.2";

    /// <summary>The resources as JSON (the <c>linux.resources</c> object), indented.</summary>
    public string ToJson() => JsonSerializer.Serialize(Resources, OciJsonContext.Default.LinuxResources);

    /// <summary>
    /// A config.json fragment: <c>ociVersion</c> and <c>linux</c> with <c>cgroupsPath</c> and <c>resources</c>, which
    /// New-KataCgroup -OciConfig reads whole (the path too, unless -Path is given).
    /// </summary>
    public string ToConfigJson(string cgroupsPath)
    {
        var root = new JsonObject
        {
            ["ociVersion"] = OciVersion,
            ["linux"] = new JsonObject
            {
                ["cgroupsPath"] = cgroupsPath,
                ["resources"] = JsonNode.Parse(ToJson()),
            },
        };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }
}

/// <summary>
/// Reads a cgroup's files back into OCI resources: the inverse of <see cref="CgroupV1Plan"/> and
/// <see cref="CgroupV2Plan"/>. Each value is chosen so that compiling it again writes the value the file holds now:
/// v1 files hold the OCI numbers themselves; v2 weights are converted back to the smallest OCI value that converts
/// forward to the same weight, and memory+swap is memory.max plus memory.swap.max. The file reader is a parameter
/// (controller and file name → content, null when the file is not there), so the rules are tested without a kernel.
/// </summary>
public static class ResourceReader
{
    /// <summary>The files of a v1 cgroup, one hierarchy per controller.</summary>
    public static ResourceExport FromV1(Func<string, string, string?> read, IReadOnlyList<string> hugePageSizes)
    {
        var r = new LinuxResources();
        var warnings = new List<string>();
        // v1 shows an unlimited memory value as PAGE_COUNTER_MAX pages and pids.max as "max": both are OCI's -1.
        long? Num(string controller, string file) => ParseMax(read(controller, file)) is { } n ? (n == CgroupV1Plan.UnlimitedMemory ? -1 : n) : null;

        // memory (fs/memory.go)
        if (Num("memory", "memory.limit_in_bytes") is { } limit)
        {
            var m = r.Memory = new LinuxMemory { Limit = limit };
            m.Reservation = Num("memory", "memory.soft_limit_in_bytes");
            m.Swap = Num("memory", "memory.memsw.limit_in_bytes");
            if (Num("memory", "memory.swappiness") is { } sw and >= 0) m.Swappiness = (ulong)sw;
            if (Field(read("memory", "memory.oom_control"), "oom_kill_disable") == 1) m.DisableOomKiller = true;
        }
        // cpu (fs/cpu.go): the realtime pair and the burst only when set, as the kernel's defaults are not OCI values
        if (Num("cpu", "cpu.shares") is { } shares)
        {
            var c = r.Cpu = new LinuxCpu { Shares = (ulong)Math.Max(0, shares) };
            c.Period = Num("cpu", "cpu.cfs_period_us") is { } p and > 0 ? (ulong)p : null;
            c.Quota = Num("cpu", "cpu.cfs_quota_us");
            if (Num("cpu", "cpu.rt_runtime_us") is { } rt and not 0)
            {
                c.RealtimeRuntime = rt;
                c.RealtimePeriod = Num("cpu", "cpu.rt_period_us") is { } rp and > 0 ? (ulong)rp : null;
            }
            if (Num("cpu", "cpu.cfs_burst_us") is { } burst and > 0) c.Burst = (ulong)burst;
        }
        // cpuset (fs/cpuset.go)
        if (Cpusets(read("cpuset", "cpuset.cpus"), read("cpuset", "cpuset.mems")) is var (cpus, mems) && (cpus ?? mems) is not null)
        {
            r.Cpu ??= new LinuxCpu();
            r.Cpu.Cpus = cpus;
            r.Cpu.Mems = mems;
        }
        if (Num("pids", "pids.max") is { } pids) r.Pids = new LinuxPids { Limit = pids };
        // blkio (fs/blkio.go): CFQ's or BFQ's weight, and the throttles
        var blkio = new LinuxBlockIO();
        var weightText = read("blkio", "blkio.weight") ?? read("blkio", "blkio.bfq.weight");
        if (DefaultWeight(weightText) is { } weight and > 0) blkio.Weight = (ushort)weight;
        blkio.ThrottleReadBpsDevice = Throttles(read("blkio", "blkio.throttle.read_bps_device"));
        blkio.ThrottleWriteBpsDevice = Throttles(read("blkio", "blkio.throttle.write_bps_device"));
        blkio.ThrottleReadIopsDevice = Throttles(read("blkio", "blkio.throttle.read_iops_device"));
        blkio.ThrottleWriteIopsDevice = Throttles(read("blkio", "blkio.throttle.write_iops_device"));
        if (blkio.Weight is not null || blkio.ThrottleReadBpsDevice is not null || blkio.ThrottleWriteBpsDevice is not null
            || blkio.ThrottleReadIopsDevice is not null || blkio.ThrottleWriteIopsDevice is not null)
            r.BlockIO = blkio;
        // hugetlb (fs/hugetlb.go): the limits that are set
        foreach (var size in hugePageSizes)
            if (Num("hugetlb", $"hugetlb.{size}.limit_in_bytes") is { } h and >= 0)
                (r.HugepageLimits ??= new()).Add(new LinuxHugepageLimit { PageSize = size, Limit = (ulong)h });
        // net_cls / net_prio (fs/net_cls.go, fs/net_prio.go): a class id and the priorities that are set
        if (Num("net_cls", "net_cls.classid") is { } classId and > 0) (r.Network ??= new()).ClassId = (uint)classId;
        if (read("net_prio", "net_prio.ifpriomap") is { } map)
            foreach (var line in Lines(map))
                if (line.Split(' ') is [var name, var prio] && uint.TryParse(prio, NumberStyles.None, CultureInfo.InvariantCulture, out var pr) && pr > 0)
                    ((r.Network ??= new()).Priorities ??= new()).Add(new LinuxInterfacePriority { Name = name, Priority = pr });
        // devices (devices/v1.go): the effective rules, as devices.list shows them
        if (read("devices", "devices.list") is { } list) r.Devices = ToOci(DeviceRuleSet.ParseList(list));
        return new ResourceExport(r, warnings);
    }

    /// <summary>
    /// The files of a v2 cgroup (<paramref name="read"/> takes the file name), with the device rules this module
    /// recorded for its eBPF program, or null when there are none (<paramref name="devicesWhyNot"/> says why).
    /// </summary>
    public static ResourceExport FromV2(Func<string, string?> read, IReadOnlyList<string> hugePageSizes, DeviceRuleSet? devices, string? devicesWhyNot)
    {
        var r = new LinuxResources();
        var warnings = new List<string>();

        // memory (fs2/memory.go): max, low, and memory+swap = max + swap.max
        if (ParseMax(read("memory.max")) is { } limit)
        {
            var m = r.Memory = new LinuxMemory { Limit = limit };
            if (ParseMax(read("memory.low")) is { } low and not 0) m.Reservation = low;
            if (ParseMax(read("memory.swap.max")) is { } swap)
            {
                if (swap < 0) m.Swap = -1;
                else if (limit > 0) m.Swap = limit + swap;
                else warnings.Add($"memory.swap.max {swap} is not exported: OCI memory.swap is memory+swap, which needs a memory limit (memory.max is max)");
            }
        }
        // cpu (fs2/cpu.go): the smallest shares giving this weight; quota and period from cpu.max
        var c = new LinuxCpu();
        if (ParseLong(read("cpu.weight")) is { } weight and > 0) c.Shares = SharesFor((ulong)weight);
        if (read("cpu.max")?.Trim().Split(' ') is [var q, var p] && ulong.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var period))
        {
            c.Quota = q == "max" ? -1 : ParseLong(q);
            c.Period = period;
        }
        if (ParseLong(read("cpu.max.burst")) is { } burst and > 0) c.Burst = (ulong)burst;
        if (ParseLong(read("cpu.idle")) is { } idle and not 0) c.Idle = idle;
        var (cpus, mems) = Cpusets(read("cpuset.cpus"), read("cpuset.mems"));
        c.Cpus = cpus;
        c.Mems = mems;
        if (c.Shares is not null || c.Quota is not null || c.Period is not null || c.Burst is not null || c.Idle is not null || cpus is not null || mems is not null)
            r.Cpu = c;
        if (ParseMax(read("pids.max")) is { } pids) r.Pids = new LinuxPids { Limit = pids };
        // io (fs2/io.go): BFQ's weight as is, io.weight back to the blkio weight that gives it; io.max back to throttles
        var blkio = new LinuxBlockIO();
        if (DefaultWeight(read("io.bfq.weight")) is { } bfq and > 0 and not DefaultIoWeight) blkio.Weight = (ushort)bfq;
        else if (DefaultWeight(read("io.weight")) is { } iow and > 0 and not DefaultIoWeight)
        {
            if (BlkioWeightFor((ulong)iow) is { } bw) blkio.Weight = bw;
            else warnings.Add($"io.weight {iow} is not exported: no blkio weight (10-1000) converts to it");
        }
        if (read("io.max") is { } ioMax)
        {
            foreach (var line in Lines(ioMax))
            {
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length < 2 || !TryDevice(parts[0], out var major, out var minor)) continue;
                foreach (var kv in parts.Skip(1))
                {
                    if (kv.Split('=') is not [var key, var value] || !ulong.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var rate)) continue;
                    var list = key switch { "rbps" => blkio.ThrottleReadBpsDevice ??= new(), "wbps" => blkio.ThrottleWriteBpsDevice ??= new(),
                        "riops" => blkio.ThrottleReadIopsDevice ??= new(), "wiops" => blkio.ThrottleWriteIopsDevice ??= new(), _ => null };
                    list?.Add(new LinuxThrottleDevice { Major = major, Minor = minor, Rate = rate });
                }
            }
        }
        if (blkio.Weight is not null || blkio.ThrottleReadBpsDevice is not null || blkio.ThrottleWriteBpsDevice is not null
            || blkio.ThrottleReadIopsDevice is not null || blkio.ThrottleWriteIopsDevice is not null)
            r.BlockIO = blkio;
        foreach (var size in hugePageSizes)
            if (ParseMax(read($"hugetlb.{size}.max")) is { } h and >= 0)
                (r.HugepageLimits ??= new()).Add(new LinuxHugepageLimit { PageSize = size, Limit = (ulong)h });
        if (devices is not null) r.Devices = ToOci(devices);
        else if (devicesWhyNot is not null) warnings.Add($"the device rules are not exported: {devicesWhyNot}");
        return new ResourceExport(r, warnings);
    }

    /// <summary>What io.weight and io.bfq.weight are in a new cgroup (Documentation/admin-guide/cgroup-v2.rst, "IO Interface Files").</summary>
    private const long DefaultIoWeight = 100;

    /// <summary>
    /// The OCI shares that convert to <paramref name="weight"/> (<see cref="CgroupV2Conversions.SharesToWeight"/>):
    /// 1024, the default, when it does; else the smallest that does (the conversion is monotonic).
    /// </summary>
    public static ulong SharesFor(ulong weight)
    {
        if (CgroupV2Conversions.SharesToWeight(1024) == weight) return 1024;
        ulong lo = 2, hi = 262144;
        while (lo < hi)
        {
            ulong mid = lo + (hi - lo) / 2;
            if (CgroupV2Conversions.SharesToWeight(mid) < weight) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    /// <summary>The blkio weight (10–1000) that converts to <paramref name="ioWeight"/>, or null when none does.</summary>
    public static ushort? BlkioWeightFor(ulong ioWeight)
    {
        for (ulong w = ResourceValidator.MinBlkioWeight; w <= ResourceValidator.MaxBlkioWeight; w++)
            if (CgroupV2Conversions.BlkioWeightToIoWeight(w) == ioWeight) return (ushort)w;
        return null;
    }

    /// <summary>A rule set as OCI device entries: the default first (deny all, or allow all), then each exception.</summary>
    public static List<LinuxDeviceCgroup> ToOci(DeviceRuleSet set)
    {
        var list = new List<LinuxDeviceCgroup> { new() { Allow = set.DefaultAllow, Access = "rwm" } };
        list.AddRange(set.Exceptions.Select(e => (e with { Allow = !set.DefaultAllow }).ToOci()));
        return list;
    }

    private static (string? Cpus, string? Mems) Cpusets(string? cpus, string? mems) =>
        (string.IsNullOrWhiteSpace(cpus) ? null : cpus.Trim(), string.IsNullOrWhiteSpace(mems) ? null : mems.Trim());

    private static IEnumerable<string> Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static long? ParseLong(string? text) =>
        long.TryParse(text?.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) ? n : null;

    /// <summary>A v2 value: <c>max</c> is −1 (unlimited), else the number.</summary>
    private static long? ParseMax(string? text) => text?.Trim() == "max" ? -1 : ParseLong(text);

    /// <summary>A weight file: a bare number (v1 CFQ) or its <c>default N</c> line (BFQ, v2 io.weight).</summary>
    private static long? DefaultWeight(string? text)
    {
        if (text is null) return null;
        foreach (var line in Lines(text))
        {
            if (line.StartsWith("default ", StringComparison.Ordinal)) return ParseLong(line[8..]);
            if (ParseLong(line) is { } n) return n;
        }
        return null;
    }

    /// <summary>A <c>key value</c> line of a flat keyed file (memory.oom_control).</summary>
    private static long? Field(string? text, string key)
    {
        if (text is null) return null;
        foreach (var line in Lines(text))
            if (line.StartsWith(key + " ", StringComparison.Ordinal)) return ParseLong(line[(key.Length + 1)..]);
        return null;
    }

    private static List<LinuxThrottleDevice>? Throttles(string? text)
    {
        if (text is null) return null;
        List<LinuxThrottleDevice>? list = null;
        foreach (var line in Lines(text))
            if (line.Split(' ') is [var dev, var rate] && TryDevice(dev, out var major, out var minor)
                && ulong.TryParse(rate, NumberStyles.None, CultureInfo.InvariantCulture, out var n))
                (list ??= new()).Add(new LinuxThrottleDevice { Major = major, Minor = minor, Rate = n });
        return list;
    }

    private static bool TryDevice(string text, out long major, out long minor)
    {
        major = minor = 0;
        return text.Split(':') is [var a, var b]
            && long.TryParse(a, NumberStyles.None, CultureInfo.InvariantCulture, out major)
            && long.TryParse(b, NumberStyles.None, CultureInfo.InvariantCulture, out minor);
    }
}
