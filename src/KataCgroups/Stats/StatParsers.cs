using System.Globalization;

namespace KataCgroups.Stats;

/// <summary>
/// Parsers for the cgroup statistics file formats (Documentation/admin-guide/cgroup-v2.rst "Interface Files":
/// flat keyed, nested keyed; cgroup-v1/blkio-controller.rst; accounting/psi.rst). Pure text in, values out:
/// lines that do not fit the format are skipped, so a kernel that adds keys or fields never breaks a reader.
/// </summary>
public static class StatParsers
{
    /// <summary>USER_HZ: cpuacct.stat counts in clock ticks, and Linux fixes USER_HZ at 100 (runc fs/cpuacct.go clockTicks).</summary>
    public const long UserHz = 100;

    private static bool TryNumber(string s, out long value)
    {
        // Counters are u64; a value past long.MaxValue (PAGE_COUNTER_MAX-style "unlimited") saturates.
        if (long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value)) return true;
        if (ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out _)) { value = long.MaxValue; return true; }
        return false;
    }

    /// <summary>
    /// A flat keyed file — <c>key value</c> per line: memory.stat, cpu.stat, memory.events, memory.oom_control,
    /// cpuacct.stat, hugetlb events. Later duplicates win.
    /// </summary>
    public static Dictionary<string, long> FlatKeyed(string? text)
    {
        var map = new Dictionary<string, long>(StringComparer.Ordinal);
        if (text is null) return map;
        foreach (var line in text.Split('\n'))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length == 2 && TryNumber(f[1], out var v)) map[f[0]] = v;
        }
        return map;
    }

    /// <summary>
    /// A single number, or <c>max</c> (→ -1, the OCI "unlimited"). v1 memory limits show "unlimited" as a huge
    /// number rounded to pages; <paramref name="unlimitedAbove"/> maps those to -1 too.
    /// </summary>
    public static long? Number(string? text, long unlimitedAbove = long.MaxValue)
    {
        var s = text?.Trim();
        if (string.IsNullOrEmpty(s)) return null;
        if (s == "max") return -1;
        if (!TryNumber(s, out var v)) return null;
        return v >= unlimitedAbove ? -1 : v;
    }

    /// <summary>
    /// v2 <c>io.stat</c> (nested keyed): <c>MAJ:MIN rbytes=N wbytes=N rios=N wios=N dbytes=N dios=N</c> per device.
    /// Devices the cgroup never touched do not appear; a line without any of the keys is skipped.
    /// </summary>
    public static List<IoDeviceStats> IoStat(string? text)
    {
        var rows = new List<IoDeviceStats>();
        if (text is null) return rows;
        foreach (var line in text.Split('\n'))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 2 || !TryDevice(f[0], out var major, out var minor)) continue;
            var kv = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var pair in f.Skip(1))
            {
                int eq = pair.IndexOf('=');
                if (eq > 0 && TryNumber(pair[(eq + 1)..], out var v)) kv[pair[..eq]] = v;
            }
            if (kv.Count == 0) continue;
            long Get(string k) => kv.TryGetValue(k, out var v) ? v : 0;
            rows.Add(new IoDeviceStats(major, minor, Get("rbytes"), Get("wbytes"), Get("rios"), Get("wios"),
                kv.ContainsKey("dbytes") ? Get("dbytes") : null, kv.ContainsKey("dios") ? Get("dios") : null));
        }
        return rows;
    }

    /// <summary>
    /// v1 blkio rwstat files (<c>blkio.throttle.io_service_bytes[_recursive]</c>, <c>blkio.bfq.io_serviced…</c>):
    /// <c>MAJ:MIN Op N</c> lines with Op in Read/Write/Sync/Async/Discard/Total, and a closing <c>Total N</c>.
    /// Returns Read and Write per device, in the order the devices first appear.
    /// </summary>
    public static List<(long Major, long Minor, long Read, long Write)> BlkioRwstat(string? text)
    {
        var order = new List<(long, long)>();
        var values = new Dictionary<(long, long), (long Read, long Write)>();
        if (text is null) return new();
        foreach (var line in text.Split('\n'))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length != 3 || !TryDevice(f[0], out var major, out var minor) || !TryNumber(f[2], out var v)) continue;
            var key = (major, minor);
            if (!values.TryGetValue(key, out var rw)) { order.Add(key); rw = (0, 0); }
            if (f[1] == "Read") rw.Read = v;
            else if (f[1] == "Write") rw.Write = v;
            values[key] = rw;
        }
        return order.Select(k => (k.Item1, k.Item2, values[k].Read, values[k].Write)).ToList();
    }

    /// <summary>
    /// Joins v1 bytes and ops files into device rows (a device in only one of them gets 0 for the other).
    /// </summary>
    public static List<IoDeviceStats> BlkioDevices(string? serviceBytes, string? serviced)
    {
        var bytes = BlkioRwstat(serviceBytes);
        var ops = BlkioRwstat(serviced).ToDictionary(r => (r.Major, r.Minor));
        var rows = new List<IoDeviceStats>();
        foreach (var b in bytes)
        {
            ops.Remove((b.Major, b.Minor), out var o);
            rows.Add(new IoDeviceStats(b.Major, b.Minor, b.Read, b.Write, o.Read, o.Write));
        }
        foreach (var o in ops.Values) rows.Add(new IoDeviceStats(o.Major, o.Minor, 0, 0, o.Read, o.Write));
        return rows;
    }

    /// <summary>
    /// A PSI file: <c>some avg10=0.12 avg60=0.05 avg300=0.01 total=12345</c> and, except in cpu.pressure before
    /// Linux 5.13, a <c>full …</c> line (since 5.13 cpu has one too, all zero at the system level). Null when the
    /// text holds neither line.
    /// </summary>
    public static Pressure? Pressure(string? text)
    {
        if (text is null) return null;
        PressureLine? some = null, full = null;
        foreach (var line in text.Split('\n'))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 5 || (f[0] != "some" && f[0] != "full")) continue;
            double a10 = 0, a60 = 0, a300 = 0;
            long total = 0;
            int seen = 0;
            foreach (var pair in f.Skip(1))
            {
                int eq = pair.IndexOf('=');
                if (eq <= 0) continue;
                var k = pair[..eq];
                var s = pair[(eq + 1)..];
                if (k == "total" && TryNumber(s, out total)) { seen++; continue; }
                if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)) continue;
                switch (k)
                {
                    case "avg10": a10 = d; seen++; break;
                    case "avg60": a60 = d; seen++; break;
                    case "avg300": a300 = d; seen++; break;
                }
            }
            if (seen != 4) continue;
            var parsed = new PressureLine(a10, a60, a300, total);
            if (f[0] == "some") some = parsed; else full = parsed;
        }
        return some is null && full is null ? null : new Pressure(some, full);
    }

    /// <summary>
    /// v1 <c>cpuacct.stat</c> (<c>user N</c>, <c>system N</c> in USER_HZ ticks) → (user µs, system µs).
    /// </summary>
    public static (long? UserUsec, long? SystemUsec) CpuacctStat(string? text)
    {
        var m = FlatKeyed(text);
        long? Usec(string key) => m.TryGetValue(key, out var ticks) ? ticks * (1_000_000 / UserHz) : null;
        return (Usec("user"), Usec("system"));
    }

    /// <summary>
    /// The page size of a hugetlb file name (<c>hugetlb.2MB.limit_in_bytes</c>, <c>hugetlb.1GB.max</c>) or null.
    /// </summary>
    public static string? HugetlbPageSize(string fileName)
    {
        if (!fileName.StartsWith("hugetlb.", StringComparison.Ordinal)) return null;
        var rest = fileName["hugetlb.".Length..];
        int dot = rest.IndexOf('.');
        if (dot <= 0) return null;
        var size = rest[..dot];
        return size.EndsWith('B') && char.IsDigit(size[0]) ? size : null;
    }

    private static bool TryDevice(string s, out long major, out long minor)
    {
        major = minor = 0;
        int colon = s.IndexOf(':');
        return colon > 0
            && long.TryParse(s.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out major)
            && long.TryParse(s.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out minor);
    }
}
