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
/// <param name="CgroupfsDevices">
/// Rules systemd cannot hold: allow rules DeviceAllow cannot name (a <c>M:*</c> rule whose major is not in
/// /proc/devices), and the deny exceptions of an allow-all rule set. On v1 the driver writes them to
/// <c>devices.allow</c> / <c>devices.deny</c> after systemd's own list; empty on v2 (systemd owns the device program).
/// </param>
public sealed record SystemdResourcePlan(IReadOnlyList<UnitProperty> Properties, LinuxResources Residual, IReadOnlyList<string> Warnings,
    IReadOnlyList<DeviceRule> CgroupfsDevices);

/// <summary>
/// OCI resources → systemd unit properties (opencontainers/cgroups systemd/v1.go
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

    /// <summary>
    /// A cpuset list ("0-3,7") as the little-endian bit mask systemd's AllowedCPUs takes (ay). Anything but
    /// comma-separated numbers and ascending ranges is <see cref="ErrorIds.InvalidResourceValue"/>
    /// (opencontainers/cgroups systemd/cpuset.go RangeToBits).
    /// </summary>
    public static byte[] ListToBits(string list)
    {
        var bits = new List<byte>();
        // Extra commas and spaces around an element are allowed; an empty result is not (RangeToBits).
        foreach (var part in list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var range = part.Split('-');
            if (range.Length > 2 || !TryCpu(range[0], out int from) || !TryCpu(range[^1], out int to) || to < from || to > 65535)
                throw new CgroupException(ErrorIds.InvalidResourceValue, CgroupErrorKind.InvalidArgument,
                    $"invalid cpuset list '{list}': '{part}' is not a number or an ascending range of numbers (0-65535)", "cpu.cpus");
            for (int i = from; i <= to; i++)
            {
                while (bits.Count <= i / 8) bits.Add(0);
                bits[i / 8] |= (byte)(1 << (i % 8));
            }
        }
        if (!bits.Exists(b => b != 0))
            throw new CgroupException(ErrorIds.InvalidResourceValue, CgroupErrorKind.InvalidArgument, $"invalid cpuset list '{list}': it names no CPU or node", "cpu.cpus");
        return bits.ToArray();

        static bool TryCpu(string s, out int n) =>
            int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out n);
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
                // Same rule as the v2 cgroupfs plan: these have no v2 file, so no property either.
                if (m.Swappiness is { } sw && sw != ulong.MaxValue) warnings.Add($"memory.swappiness = {sw} ignored: cgroup v2 has no per-cgroup swappiness");
                if (m.DisableOomKiller == true) warnings.Add("memory.disableOOMKiller ignored: cgroup v2 has no oom_control");
            }
            else if (limit != 0) p.Add(new("MemoryLimit", limit < 0 ? Infinity : (ulong)limit));
        }
        if (r.Cpu is { } c)
        {
            if (c.Shares is { } sh && sh != 0)
                p.Add(unified ? new("CPUWeight", CgroupV2Conversions.SharesToWeight(sh)) : new("CPUShares", sh));
            long quota = c.Quota ?? 0;
            ulong period = c.Period ?? 0;
            if (period != 0) p.Add(new("CPUQuotaPeriodUSec", period));
            if (quota != 0 || period != 0)
            {
                var perSec = CpuQuotaPerSecUSec(quota, period);
                p.Add(new("CPUQuotaPerSecUSec", perSec));
                ulong effectivePeriod = period == 0 ? 100000 : period;
                if (quota > 0 && perSec * effectivePeriod != (ulong)quota * 1_000_000UL)
                    warnings.Add(unified
                        ? $"cpu quota {quota}/{effectivePeriod} µs rounded up to CPUQuotaPerSecUSec={perSec} µs: systemd keeps the quota in whole percent of a CPU"
                        : $"cpu quota {quota}/{effectivePeriod} µs is CPUQuotaPerSecUSec={perSec} µs for systemd, which keeps the quota in whole percent of a CPU; cpu.cfs_quota_us gets the exact quota");
            }
            // Both sets carry AllowedCPUs/AllowedMemoryNodes (systemd/v1.go and v2.go addCpuset), but systemd
            // applies them "only with the unified control group hierarchy" (systemd.resource-control(5)): on v1
            // cpuset goes through cgroupfs with the rest (below).
            if (Cpusets.CpusetList.Strip(c.Cpus) is { } cpus) p.Add(new("AllowedCPUs", ListToBits(cpus)));
            if (Cpusets.CpusetList.Strip(c.Mems) is { } mems) p.Add(new("AllowedMemoryNodes", ListToBits(mems)));
            if (unified && (c.RealtimePeriod is not null || c.RealtimeRuntime is not null || c.Burst is not null || c.Idle is not null))
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
        // v1: every value goes through cgroupfs as well, after systemd, as runc's systemd v1 driver writes every
        // subsystem's files once systemd has set the unit's properties (systemd/v1.go Set → fs/*.go Set). The kernel
        // then holds exactly what was asked where systemd writes something else (a quota rounded up to whole percent
        // of a CPU; its default period when the quota is unlimited: src/core/cgroup.c
        // cgroup_apply_legacy_cpu_quota), and a value the kernel refuses fails the command as with the cgroupfs
        // driver, where systemd only logs that it could not write it (pids.max above the kernel's limit, a blkio
        // weight on a kernel with neither CFQ nor BFQ). v2 keeps what has no property only: systemd owns the files there.
        if (!unified)
            residual = new LinuxResources
            {
                Memory = r.Memory, Cpu = r.Cpu, Pids = r.Pids, BlockIO = r.BlockIO, HugepageLimits = r.HugepageLimits,
                Network = r.Network, Rdma = r.Rdma, Unified = r.Unified,
            };

        var cgroupfsDevices = new List<DeviceRule>();
        if (devices is not null)
            p.AddRange(DeviceProperties(DeviceRuleSet.FromRequested(devices), deviceGroup, warnings, unified ? null : cgroupfsDevices));
        return new SystemdResourcePlan(p, residual, warnings, cgroupfsDevices);
    }

    /// <summary>
    /// Device rules as systemd's DeviceAllow (systemd/devices.go): <c>DeviceAllow=</c> cleared, then
    /// <c>DevicePolicy=strict</c> and one entry per allowed node — <c>/dev/char/M:m</c>, <c>char-*</c> for any
    /// major, <c>char-&lt;name&gt;</c> for <c>M:*</c> (name from /proc/devices). An allow-by-default state is
    /// <c>DevicePolicy=auto</c>, whose deny exceptions systemd cannot express. A <c>M:*</c> rule whose major has no
    /// /proc/devices name, a <c>*:n</c> rule, or a deny exception of the allow-all state goes to
    /// <paramref name="cgroupfsOnly"/> when given (v1: written through cgroupfs), else it is skipped with a warning.
    /// </summary>
    public static List<UnitProperty> DeviceProperties(DeviceRuleSet state, Func<char, long, string?> deviceGroup, List<string> warnings,
        List<DeviceRule>? cgroupfsOnly = null)
    {
        var entries = new List<(string, string)>();
        if (state.DefaultAllow)
        {
            // DevicePolicy=auto allows everything and systemd has no deny list. v1: the deny exceptions go to
            // devices.deny after systemd has written its "a" allow, as runc's systemd v1 driver enforces them
            // through cgroupfs (systemd/v1.go Set → fs/devices.go); v2 has only systemd's program.
            foreach (var deny in state.Exceptions)
                if (cgroupfsOnly is not null) cgroupfsOnly.Add(deny);
                else warnings.Add($"device rule 'deny {deny.ToKernelString()}' cannot be expressed through systemd (DevicePolicy=auto allows everything)");
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
            else if (rule.Major == DeviceRule.Wildcard && rule.Minor == DeviceRule.Wildcard)
                entries.Add(($"{kind}-*", access));
            else if (rule.Major == DeviceRule.Wildcard)
            {
                // '*:n' has no DeviceAllow spelling; 'char-*' would allow every device (systemd/devices.go skips it).
                if (cgroupfsOnly is not null) cgroupfsOnly.Add(rule);
                else warnings.Add($"device rule '{rule.ToKernelString()}' skipped for systemd: DeviceAllow cannot name a minor of any major");
            }
            else if (rule.Minor == DeviceRule.Wildcard)
            {
                if (deviceGroup(rule.Type, rule.Major) is { } name) entries.Add(($"{kind}-{name}", access));
                else if (cgroupfsOnly is not null) cgroupfsOnly.Add(rule);
                else warnings.Add($"device rule '{rule.ToKernelString()}' skipped for systemd: major {rule.Major} is not in /proc/devices");
            }
            else if (!FitsDevT(rule))
            {
                // systemd parses /dev/char/M:m into a dev_t and skips what does not fit (12-bit major, 20-bit minor:
                // src/basic/devnum-util.h DEVICE_MAJOR_VALID), so the rule would be lost; the kernel's list holds it,
                // except 4294967295, which the v1 devices controller stores as its own '*' (~0: security/device_cgroup.c
                // parse_exception), so it would allow every major or minor; runc's fs driver fails on it too
                // (its check of devices.list after writing, fs/devices.go).
                if (cgroupfsOnly is not null && (rule.Major == uint.MaxValue || rule.Minor == uint.MaxValue))
                    throw new CgroupException(ErrorIds.InvalidDeviceRule, CgroupErrorKind.InvalidArgument,
                        $"invalid device rule '{rule.ToKernelString()}': the devices controller reads 4294967295 as '*' (any number)", rule.ToKernelString());
                if (cgroupfsOnly is not null) cgroupfsOnly.Add(rule);
                else warnings.Add($"device rule '{rule.ToKernelString()}' skipped for systemd: no device number has a major above 4095 or a minor above 1048575");
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

    /// <summary>
    /// True when DeviceAllow can name <paramref name="rule"/>: not an allow rule of the form <c>*:n</c> or <c>M:*</c>
    /// with an unnamed major. Used on v1 to find the rules a SetUnitProperties would wipe.
    /// </summary>
    public static bool CanExpress(DeviceRule rule, Func<char, long, string?> deviceGroup) =>
        !rule.Allow || rule.Type == 'a'
        || (rule.Major == DeviceRule.Wildcard ? rule.Minor == DeviceRule.Wildcard
            : rule.Minor != DeviceRule.Wildcard ? FitsDevT(rule) : deviceGroup(rule.Type, rule.Major) is not null);

    private static bool FitsDevT(DeviceRule rule) => rule.Major <= 4095 && rule.Minor <= 1048575;

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
