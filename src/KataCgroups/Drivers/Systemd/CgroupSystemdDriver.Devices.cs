using System.Globalization;
using KataCgroups.Devices;
using KataCgroups.Errors;
using KataCgroups.Paths;
using KataCgroups.Resources;

namespace KataCgroups.Drivers.Systemd;

/// <summary>
/// Hot device updates and cpuset checks for systemd units. The unit's <c>DeviceAllow</c>
/// list is the state: Add sends one entry (a non-empty DeviceAllow in SetUnitProperties adds to the list, merged here
/// with the access already listed for that path); Remove reads the list over D-Bus, drops the entry's access, resets
/// the list (an empty DeviceAllow) and sends the rest in the same call (systemd.resource-control(5)). On v1 systemd then
/// rewrites the whole devices cgroup (deny all, then its list), so the unit is frozen around it and the rules only
/// cgroupfs can hold are allowed again afterwards, as <see cref="Apply"/> does for a full update.
/// </summary>
public sealed partial class CgroupSystemdDriver
{
    private static string UnitInterface(SystemdPath unit) =>
        unit.UnitName.EndsWith(".slice", StringComparison.Ordinal) ? "org.freedesktop.systemd1.Slice" : "org.freedesktop.systemd1.Scope";

    /// <summary>The unit's DeviceAllow entries and DevicePolicy as systemd reports them.</summary>
    private (List<(string Path, string Access)> Entries, string Policy) ReadDeviceAllow(CgroupTarget target)
    {
        var unit = Unit(target);
        var value = GetUnitProperty(target, UnitInterface(unit), "DeviceAllow");
        var entries = new List<(string, string)>();
        for (int i = 0; i < value.Count; i++)
        {
            var item = value.GetItem(i);
            entries.Add((item.GetItem(0).GetString(), item.GetItem(1).GetString()));
        }
        var policy = GetUnitProperty(target, UnitInterface(unit), "DevicePolicy").GetString();
        return (entries, policy);
    }

    /// <summary>DeviceAllow entries as device rules (for the rule set shown on v2, where no devices.list exists).</summary>
    private DeviceRuleSet EntriesToRules(IEnumerable<(string Path, string Access)> entries)
    {
        var rules = new List<DeviceRule>();
        foreach (var (path, access) in entries)
        {
            var a = DeviceRule.ParseSystemdAccess(access, path);
            if (path is "char-*" or "block-*")
                rules.Add(new DeviceRule(true, path[0] == 'c' ? 'c' : 'b', DeviceRule.Wildcard, DeviceRule.Wildcard, a));
            else if ((path.StartsWith("/dev/char/", StringComparison.Ordinal) || path.StartsWith("/dev/block/", StringComparison.Ordinal))
                     && path[(path.LastIndexOf('/') + 1)..].Split(':') is [var maj, var min]
                     && long.TryParse(maj, NumberStyles.None, CultureInfo.InvariantCulture, out var major)
                     && long.TryParse(min, NumberStyles.None, CultureInfo.InvariantCulture, out var minor))
                rules.Add(new DeviceRule(true, path[5] == 'c' ? 'c' : 'b', major, minor, a));
        }
        return DeviceRuleSet.FromRules(rules);
    }

    /// <inheritdoc/>
    public DeviceChange PlanDeviceChange(CgroupTarget target, DeviceRule rule, DeviceChangeKind kind)
    {
        var unit = Unit(target);
        if (!Exists(target)) throw CgroupErrors.NotFound(target.CgroupPath, target.RequestedPath);
        var (entries, policy) = ReadDeviceAllow(target);
        if (policy == "auto" && entries.Count == 0)
            throw new CgroupException(ErrorIds.DeviceStateUnknown, CgroupErrorKind.NotSupported,
                $"{unit.UnitName} has DevicePolicy=auto and no DeviceAllow entries, so it allows every device; adding or removing one entry would deny all the others. " +
                "Give it a rule set first with Set-KataCgroupResource -Device", unit.UnitName);
        // v1: the kernel's list is the truth (it also holds the rules only cgroupfs could write).
        string? devDir = _unified ? null : _fsDriver.GetPaths(target).FirstOrDefault(p => p.Controller == "devices")?.Directory;
        var path = SystemdDeviceAllow.EntryPath(rule, _procDevices.Value);
        if (path is null)
        {
            if (devDir is null)
                throw new CgroupException(ErrorIds.UnsupportedOnHost, CgroupErrorKind.NotSupported,
                    $"'{rule.ToKernelString()}' cannot be named in systemd's DeviceAllow ({(rule.Major == DeviceRule.Wildcard ? "a minor of any major" : $"major {rule.Major} is not in /proc/devices")}), " +
                    "and on cgroup v2 systemd owns the unit's device program, so there is no other way to change it", rule.ToKernelString());
            // What DeviceAllow cannot name goes through cgroupfs, as for New/Set (CgroupSystemdDriver.Apply).
            var listed = DeviceRuleSet.ParseList(Fs.Read(Path.Combine(devDir, "devices.list")));
            return DeviceRuleEdit.ChangeOfListWrite(devDir, listed, rule, kind) with { DeviceAllowBefore = entries, DeviceAllowAfter = entries };
        }

        var access = rule.Access;
        var after = kind == DeviceChangeKind.Add
            ? SystemdDeviceAllow.Add(entries, path, access)
            : SystemdDeviceAllow.Remove(entries, path, access);
        var properties = kind == DeviceChangeKind.Add
            ? new List<UnitProperty> { new("DeviceAllow", after.Where(e => e.Path == path).Select(e => (e.Path, e.Access)).ToArray()) }
            : new List<UnitProperty>
            {
                new("DeviceAllow", Array.Empty<(string, string)>()),
                new("DeviceAllow", after.Select(e => (e.Path, e.Access)).ToArray()),
            };
        if (kind == DeviceChangeKind.Remove && after.Count == 0) properties.RemoveAt(1);

        var before = devDir is not null ? DeviceRuleSet.ParseList(Fs.Read(Path.Combine(devDir, "devices.list"))) : EntriesToRules(entries);
        var afterRules = DeviceRuleEdit.Apply(before, rule, kind);
        var warnings = new List<string>();
        var notes = new List<string>();
        var writes = new List<CgroupWrite>();
        var steps = new List<string>();
        if (devDir is not null && _v1 is not null && Host.ByController.ContainsKey("freezer"))
            steps.Add($"freeze {unit.UnitName} (systemd rewrites the whole v1 device list)");
        steps.Add($"D-Bus SetUnitProperties {unit.UnitName} runtime: {string.Join(", ", properties)}");
        if (devDir is not null)
        {
            foreach (var keep in CgroupfsOnlyDevices(target))
            {
                if (kind == DeviceChangeKind.Remove && keep.Type == rule.Type && keep.Major == rule.Major && keep.Minor == rule.Minor) continue;
                writes.Add(new CgroupWrite("devices", "devices.allow", keep.ToKernelString()));
                steps.Add($"{Path.Combine(devDir, "devices.allow")} = {keep.ToKernelString()} (a rule DeviceAllow cannot name, allowed again)");
            }
            if (steps[0].StartsWith("freeze", StringComparison.Ordinal)) steps.Add($"thaw {unit.UnitName}");
        }
        if (kind == DeviceChangeKind.Remove)
        {
            if (!entries.Any(e => e.Path == path))
                warnings.Add($"{unit.UnitName} has no DeviceAllow entry {path}, so revoking '{rule.ToKernelString()}' changes nothing there: systemd, like the device cgroup, removes only an entry for exactly that device");
            var (warning, note) = DeviceRuleEdit.DescribeRemoval(before, afterRules, rule);
            if (warning is not null && entries.Any(e => e.Path == path)) warnings.Add(warning);
            if (note is not null) notes.Add(note);
        }
        return new DeviceChange
        {
            Kind = kind, Rule = rule, Before = before, After = afterRules,
            UnitProperties = properties, Writes = writes, Steps = steps, Warnings = warnings, Notes = notes,
            DeviceAllowBefore = entries, DeviceAllowAfter = after,
        };
    }

    /// <inheritdoc/>
    public void ApplyDeviceChange(CgroupTarget target, DeviceChange change, ICgroupLog log) =>
        // Apply freezes a v1 unit around a DeviceAllow change and writes the cgroupfs rules after systemd's list.
        Apply(target, new CgroupPlan(change.Writes, Array.Empty<string>(), null, null, change.UnitProperties), log);

    /// <inheritdoc/>
    public void CheckCpuset(CgroupTarget target, string? cpus, string? mems) => _fsDriver.CheckCpuset(target, cpus, mems);
}
