using System.Globalization;
using KataCgroups.Devices;

namespace KataCgroups.Drivers.Systemd;

/// <summary>
/// systemd's DeviceAllow entries for hot updates (systemd.resource-control(5) "DeviceAllow="). A non-empty DeviceAllow
/// list in SetUnitProperties adds to the unit's list (an entry for a path already listed is updated), an empty one
/// resets it; so Add sends one entry and Remove resets and sends the rest (opencontainers/cgroups systemd/devices.go).
/// </summary>
public static class SystemdDeviceAllow
{
    /// <summary>
    /// The entry path naming <paramref name="rule"/>: <c>/dev/char/M:m</c>, <c>char-&lt;name&gt;</c> for <c>M:*</c>
    /// (the /proc/devices name), <c>char-*</c> for <c>*:*</c>; null when DeviceAllow cannot name it.
    /// </summary>
    public static string? EntryPath(DeviceRule rule, Func<char, long, string?> deviceGroup)
    {
        string kind = rule.Type == 'b' ? "block" : "char";
        if (rule.Major == DeviceRule.Wildcard)
            return rule.Minor == DeviceRule.Wildcard ? $"{kind}-*" : null;
        if (rule.Minor == DeviceRule.Wildcard)
            return deviceGroup(rule.Type, rule.Major) is { } name ? $"{kind}-{name}" : null;
        return $"/dev/{kind}/{rule.Major.ToString(CultureInfo.InvariantCulture)}:{rule.Minor.ToString(CultureInfo.InvariantCulture)}";
    }

    /// <summary>The entries after adding <paramref name="access"/> on <paramref name="path"/> (merged with what is there).</summary>
    public static List<(string Path, string Access)> Add(IReadOnlyList<(string Path, string Access)> entries, string path, DeviceAccess access)
    {
        var have = entries.Where(e => e.Path == path).Aggregate(DeviceAccess.None, (a, e) => a | DeviceRule.ParseSystemdAccess(e.Access, e.Access));
        var list = entries.Where(e => e.Path != path).ToList();
        list.Add((path, DeviceRule.AccessString(have | access)));
        return list;
    }

    /// <summary>The entries after revoking <paramref name="access"/> on <paramref name="path"/> (an entry left with no access goes).</summary>
    public static List<(string Path, string Access)> Remove(IReadOnlyList<(string Path, string Access)> entries, string path, DeviceAccess access)
    {
        var list = new List<(string, string)>();
        bool placed = false;
        var have = entries.Where(e => e.Path == path).Aggregate(DeviceAccess.None, (a, e) => a | DeviceRule.ParseSystemdAccess(e.Access, e.Access));
        foreach (var e in entries)
        {
            if (e.Path != path) { list.Add(e); continue; }
            if (placed) continue;
            placed = true;
            var left = have & ~access;
            if (left != DeviceAccess.None) list.Add((path, DeviceRule.AccessString(left)));
        }
        return list;
    }
}
