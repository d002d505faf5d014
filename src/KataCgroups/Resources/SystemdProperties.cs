using System.Globalization;
using System.Text;
using KataCgroups.Devices;
using KataCgroups.Errors;

namespace KataCgroups.Resources;

/// <summary>
/// One property of a systemd unit as sent in <c>StartTransientUnit</c>/<c>SetUnitProperties</c> (a(sv)).
/// <paramref name="Value"/> is one of: bool, ulong, string, byte[] (ay), uint[] (au), (string, string)[] (a(ss)).
/// </summary>
public sealed record UnitProperty(string Name, object Value)
{
    /// <summary>systemd.resource-control(5) spelling, e.g. <c>MemoryMax=268435456</c>, <c>AllowedCPUs=0-1</c>.</summary>
    public override string ToString() => Name + "=" + Format(Value);

    private static string Format(object v) => v switch
    {
        bool b => b ? "yes" : "no",
        ulong u => u == ulong.MaxValue ? "infinity" : u.ToString(CultureInfo.InvariantCulture),
        byte[] bits => SystemdProperties.BitsToList(bits),
        uint[] pids => string.Join(' ', pids),
        (string, string)[] pairs => string.Join(' ', pairs.Select(p => $"{p.Item1}:{p.Item2}")),
        _ => Convert.ToString(v, CultureInfo.InvariantCulture) ?? "",
    };
}

/// <summary>What systemd could express and what must still go through cgroupfs.</summary>
/// <param name="Properties">Unit properties, in the order they are sent.</param>
/// <param name="Residual">Resources systemd has no property for (written through cgroupfs afterwards, as upstream does).</param>
/// <param name="Warnings">Rules that could not be expressed.</param>
public sealed record SystemdResourcePlan(IReadOnlyList<UnitProperty> Properties, LinuxResources Residual, IReadOnlyList<string> Warnings);

/// <summary>
/// OCI resources → systemd unit properties (semantics §6; opencontainers/cgroups systemd/v1.go
/// genV1ResourcesProperties, systemd/v2.go genV2ResourcesProperties, systemd/devices.go). The v1 set uses the
/// legacy names (MemoryLimit, CPUShares, BlockIOWeight), the v2 set the unified ones (MemoryMax, CPUWeight…).
/// </summary>
public static class SystemdProperties
{
    /// <summary>USEC_INFINITY / CGROUP_LIMIT_MAX in systemd.</summary>
    public const ulong Infinity = ulong.MaxValue;

    /// <summary>
    /// <c>CPUQuotaPerSecUSec</c> = quota·10⁶/period (period default 100000), rounded up to a multiple of 10000 µs
    /// because systemd keeps the quota as a whole percentage of a CPU (systemd/common.go addCpuQuota); a
    /// non-positive quota is infinity.
    /// </summary>
    public static ulong CpuQuotaPerSecUSec(long quota, ulong period)
    {
        if (quota <= 0) return Infinity;
        if (period == 0) period = 100000;
        ulong perSec = (ulong)quota * 1_000_000UL / period;
        if (perSec % 10000 != 0) perSec = (perSec / 10000 + 1) * 10000;
        return perSec;
    }

    /// <summary>A cpuset list ("0-3,7") as the little-endian bit mask systemd's AllowedCPUs takes (ay).</summary>
    public static byte[] ListToBits(string list)
    {
        var bits = new List<byte>();
        foreach (var part in list.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var range = part.Split('-');
            int from = int.Parse(range[0], CultureInfo.InvariantCulture);
            int to = range.Length > 1 ? int.Parse(range[1], CultureInfo.InvariantCulture) : from;
            if (to < from || to > 65535)
                throw new CgroupException(ErrorIds.InvalidResourceValue, CgroupErrorKind.InvalidArgument, $"invalid cpuset range '{part}'", "cpu.cpus");
            for (int i = from; i <= to; i++)
            {
                while (bits.Count <= i / 8) bits.Add(0);
                bits[i / 8] |= (byte)(1 << (i % 8));
            }
        }
        return bits.ToArray();
    }

    /// <summary>The inverse of <see cref="ListToBits"/>, for display.</summary>
    public static string BitsToList(byte[] bits)
    {
        var sb = new StringBuilder();
        int i = 0, n = bits.Length * 8;
        while (i < n)
        {
            if ((bits[i / 8] & (1 << (i % 8))) == 0) { i++; continue; }
            int start = i;
            while (i + 1 < n && (bits[(i + 1) / 8] & (1 << ((i + 1) % 8))) != 0) i++;
            if (sb.Length > 0) sb.Append(',');
            sb.Append(start == i ? $"{start}" : $"{start}-{i}");
            i++;
        }
        return sb.ToString();
    }

    /// <summary>
    /// Compiles resources. <paramref name="unified"/> picks the v2 property names. <paramref name="devices"/> is
    /// the final rule list or null; <paramref name="deviceGroup"/> maps (type, major) to a /proc/devices name for
    /// <c>n:*</c> rules.
    /// </summary>
    public static SystemdResourcePlan Compile(LinuxResources r, bool unified, IReadOnlyList<DeviceRule>? devices,
        Func<char, long, string?> deviceGroup)
    {
        var warnings = ResourceValidator.Validate(r);
        var p = new List<UnitProperty>();
        var residual = new LinuxResources { Unified = r.Unified };

        if (r.Memory is { } m)
        {
            long limit = m.Limit ?? 0;
            if (unified)
            {
                if (limit != 0) p.Add(new("MemoryMax", limit < 0 ? Infinity : (ulong)limit));
                if (m.Reservation is { } res && res != 0) p.Add(new("MemoryLow", res < 0 ? Infinity : (ulong)res));
                long swap = CgroupV2Conversions.MemorySwapToV2(m.Swap ?? 0, limit);
                if (swap != 0 || (m.Swap ?? 0) > 0) p.Add(new("MemorySwapMax", swap < 0 ? Infinity : (ulong)swap));
            }
            else
            {
                if (limit != 0) p.Add(new("MemoryLimit", limit < 0 ? Infinity : (ulong)limit));
                // systemd's v1 set has no swap, soft limit, swappiness or OOM property: cgroupfs it is.
                residual.Memory = new LinuxMemory
                {
                    Swap = m.Swap, Reservation = m.Reservation, Swappiness = m.Swappiness, DisableOomKiller = m.DisableOomKiller,
                };
            }
        }
        if (r.Cpu is { } c)
        {
            if (c.Shares is { } sh && sh != 0)
                p.Add(unified ? new("CPUWeight", CgroupV2Conversions.SharesToWeight(sh)) : new("CPUShares", sh));
            long quota = c.Quota ?? 0;
            ulong period = c.Period ?? 0;
            if (period != 0) p.Add(new("CPUQuotaPeriodUSec", period));
            if (quota != 0 || period != 0) p.Add(new("CPUQuotaPerSecUSec", CpuQuotaPerSecUSec(quota, period)));
            if (!string.IsNullOrEmpty(c.Cpus)) p.Add(new("AllowedCPUs", ListToBits(c.Cpus)));
            if (!string.IsNullOrEmpty(c.Mems)) p.Add(new("AllowedMemoryNodes", ListToBits(c.Mems)));
            if (c.RealtimePeriod is not null || c.RealtimeRuntime is not null || c.Burst is not null || c.Idle is not null)
                residual.Cpu = new LinuxCpu { RealtimePeriod = c.RealtimePeriod, RealtimeRuntime = c.RealtimeRuntime, Burst = c.Burst, Idle = c.Idle };
        }
        if (r.Pids?.Limit is { } pl && pl != 0)
            p.Add(new("TasksMax", pl < 0 ? Infinity : (ulong)pl));
        if (r.BlockIO is { } b)
        {
            if (b.Weight is { } w && w != 0)
                p.Add(unified ? new("IOWeight", CgroupV2Conversions.BlkioWeightToIoWeight(w)) : new("BlockIOWeight", (ulong)w));
            residual.BlockIO = new LinuxBlockIO
            {
                LeafWeight = b.LeafWeight, WeightDevice = b.WeightDevice, ThrottleReadBpsDevice = b.ThrottleReadBpsDevice,
                ThrottleWriteBpsDevice = b.ThrottleWriteBpsDevice, ThrottleReadIopsDevice = b.ThrottleReadIopsDevice,
                ThrottleWriteIopsDevice = b.ThrottleWriteIopsDevice,
            };
        }
        residual.HugepageLimits = r.HugepageLimits;
        residual.Network = r.Network;
        residual.Rdma = r.Rdma;

        if (devices is not null) p.AddRange(DeviceProperties(DeviceRuleSet.FromRules(devices), deviceGroup, warnings));
        return new SystemdResourcePlan(p, residual, warnings);
    }

    /// <summary>
    /// Device rules as systemd's DeviceAllow (systemd/devices.go): <c>DeviceAllow=</c> cleared, then
    /// <c>DevicePolicy=strict</c> and one entry per allowed node — <c>/dev/char/M:m</c>, <c>char-*</c> for any
    /// major, <c>char-&lt;name&gt;</c> for <c>M:*</c> (name from /proc/devices). An allow-by-default state is
    /// <c>DevicePolicy=auto</c>, whose deny exceptions systemd cannot express.
    /// </summary>
    public static List<UnitProperty> DeviceProperties(DeviceRuleSet state, Func<char, long, string?> deviceGroup, List<string> warnings)
    {
        var entries = new List<(string, string)>();
        if (state.DefaultAllow)
        {
            foreach (var deny in state.Exceptions)
                warnings.Add($"device rule 'deny {deny.ToKernelString()}' cannot be expressed through systemd (DevicePolicy=auto allows everything)");
            return new List<UnitProperty> { new("DeviceAllow", Array.Empty<(string, string)>()), new("DevicePolicy", "auto") };
        }
        foreach (var rule in state.Exceptions)
        {
            string kind = rule.Type == 'b' ? "block" : "char";
            string access = DeviceRule.AccessString(rule.Access);
            if (rule.Type == 'a')
            {
                entries.Add(("char-*", access));
                entries.Add(("block-*", access));
            }
            else if (rule.Major == DeviceRule.Wildcard)
                entries.Add(($"{kind}-*", access));
            else if (rule.Minor == DeviceRule.Wildcard)
            {
                if (deviceGroup(rule.Type, rule.Major) is { } name) entries.Add(($"{kind}-{name}", access));
                else warnings.Add($"device rule '{rule.ToKernelString()}' skipped for systemd: major {rule.Major} is not in /proc/devices");
            }
            else
                entries.Add(($"/dev/{kind}/{rule.Major}:{rule.Minor}", access));
        }
        return new List<UnitProperty>
        {
            new("DeviceAllow", Array.Empty<(string, string)>()),
            new("DevicePolicy", "strict"),
            new("DeviceAllow", entries.ToArray()),
        };
    }

    /// <summary>Reads /proc/devices: the driver name of a (type, major), e.g. ('b', 253) → "device-mapper".</summary>
    public static Func<char, long, string?> ProcDevices(string procRoot)
    {
        var table = new Dictionary<(char, long), string>();
        try
        {
            char section = ' ';
            foreach (var line in File.ReadAllLines(Path.Combine(procRoot, "devices")))
            {
                if (line.StartsWith("Character", StringComparison.Ordinal)) { section = 'c'; continue; }
                if (line.StartsWith("Block", StringComparison.Ordinal)) { section = 'b'; continue; }
                var f = line.Trim().Split(' ', 2, StringSplitOptions.RemoveEmptyEntries);
                if (f.Length == 2 && long.TryParse(f[0], NumberStyles.None, CultureInfo.InvariantCulture, out var major))
                    table.TryAdd((section, major), f[1]);
            }
        }
        catch (IOException) { }
        return (type, major) => table.TryGetValue((type, major), out var n) ? n : null;
    }
}
