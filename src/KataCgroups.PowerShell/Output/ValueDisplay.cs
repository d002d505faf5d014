using System.Globalization;

namespace KataCgroups.PowerShell;

/// <summary>
/// The one way every view (KataCgroups.Format.ps1xml) shows a value, so a limit reads the same in a table, a list,
/// a cgroup and a stats sample. The objects themselves keep the raw numbers (bytes, microseconds, counts, -1 for
/// unlimited) for scripts; only their display goes through here.
/// </summary>
public static class ValueDisplay
{
    /// <summary>What every view shows for an unlimited value: the kernel's own word (cgroup v2 files, <c>-MemoryLimit max</c>).</summary>
    public const string Unlimited = "max";

    private static readonly string[] Units = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };

    /// <summary>
    /// A byte count in the largest binary unit it reaches: exact when it divides (<c>4096</c> → <c>4 KiB</c>,
    /// <c>268435456</c> → <c>256 MiB</c>), else to one decimal (<c>1.5 GiB</c>); below 1 KiB in bytes. Negative
    /// (the OCI and module spelling of unlimited) is <see cref="Unlimited"/>; null (not available on this host) is empty.
    /// </summary>
    public static string Bytes(double? bytes)
    {
        if (bytes is not { } b || double.IsNaN(b)) return "";
        if (b < 0) return Unlimited;
        if (b < 1024) return b.ToString("0.#", CultureInfo.CurrentCulture) + " B";
        double scaled = b;
        int unit = -1;
        while (scaled >= 1024 && unit < Units.Length - 1)
        {
            scaled /= 1024;
            unit++;
        }
        return scaled.ToString("0.#", CultureInfo.CurrentCulture) + " " + Units[unit];
    }

    /// <summary>A limit that is a count or a time: the number, or <see cref="Unlimited"/> when negative; empty when null.</summary>
    public static string Limit(long? value) => value switch
    {
        null => "",
        < 0 => Unlimited,
        _ => value.Value.ToString(CultureInfo.CurrentCulture),
    };

    /// <summary>A CFS quota over its period (<c>50000/100000</c>, µs), or <see cref="Unlimited"/>; empty when null.</summary>
    public static string Quota(long? quota, long? period) => quota switch
    {
        null => "",
        < 0 => Unlimited,
        _ => period is { } p ? $"{quota.Value.ToString(CultureInfo.CurrentCulture)}/{p.ToString(CultureInfo.CurrentCulture)}" : quota.Value.ToString(CultureInfo.CurrentCulture),
    };

    /// <summary>A list (process ids, device rules, controllers) as one line, in the order given.</summary>
    public static string List(System.Collections.IEnumerable? items, string separator = ", ")
    {
        if (items is null) return "";
        if (items is string s) return s;
        var parts = new List<string>();
        foreach (var item in items)
            if (item is not null) parts.Add(Convert.ToString(item is System.Management.Automation.PSObject pso ? pso.BaseObject : item, CultureInfo.CurrentCulture) ?? "");
        return string.Join(separator, parts);
    }
}
