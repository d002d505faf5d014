using KataCgroups.Devices;
using KataCgroups.Drivers;
using KataCgroups.Errors;
using KataCgroups.Interop;
using KataCgroups.Model;
using KataCgroups.Paths;
using KataCgroups.Resources;

namespace KataCgroups;

/// <summary>Hot device updates (Add-/Remove-KataCgroupDevice) and the cpuset pre-check of New/Set.</summary>
public sealed partial class CgroupManager
{
    /// <summary>
    /// The rule for a device node: stat'ed (<c>statx</c>), <c>c</c> or <c>b</c> with its major:minor, and
    /// <paramref name="access"/> (default <c>rwm</c>). A path that is missing or not a device node is
    /// <see cref="ErrorIds.InvalidDeviceRule"/>.
    /// </summary>
    public static DeviceRule RuleForNode(string path, string? access)
    {
        var node = DeviceNode.TryStat(path, out var error);
        if (node is null)
            throw new CgroupException(ErrorIds.InvalidDeviceRule,
                error?.StartsWith(Errno.Name(Errno.ENOENT), StringComparison.Ordinal) == true ? CgroupErrorKind.NotFound : CgroupErrorKind.InvalidArgument,
                $"'{path}' cannot be used as a device: {error}", path);
        return DeviceRuleEdit.FromNode(node.Value, access, path);
    }

    /// <summary>
    /// Reads the cgroup's device state and plans allowing or revoking one rule. When rootless, a state that cannot be
    /// read (v2 keeps it in a <c>trusted.*</c> attribute only root may read) is the rootless outcome, not an error.
    /// </summary>
    public Outcome<DeviceChange> PlanDeviceChange(CgroupTarget target, DeviceRule rule, DeviceChangeKind kind)
    {
        var driver = DriverFor(target);
        if (!driver.Exists(target)) throw CgroupErrors.NotFound(target.CgroupPath, target.RequestedPath);
        try { return new(driver.PlanDeviceChange(target, rule, kind).WithoutNoOp(), null); }
        catch (CgroupException) when (Host.RootlessReason is { } why) { return new(null, why); }
    }

    /// <summary>Applies a planned device change and reads the cgroup back.</summary>
    public Outcome<CgroupSnapshot> ApplyDeviceChange(CgroupTarget target, DeviceChange change, ICgroupLog log)
    {
        var driver = DriverFor(target);
        if (Host.RootlessReason is { } why) return new(null, why);
        WarnIfUnfinished(driver, target, log, "changing the devices of");
        foreach (var w in change.Warnings) log.Warning(w);
        foreach (var n in change.Notes) log.Verbose(n);
        if (!change.Unchanged) driver.ApplyDeviceChange(target, change, log);
        return new(driver.Read(target), null);
    }

    /// <summary>
    /// New <c>cpus</c>/<c>mems</c> against the cpusets that bound them, before anything is written (PlanCreate and
    /// PlanUpdate call it): <see cref="ErrorIds.CpusetNotSubset"/> naming the parent's value, <see cref="ErrorIds.CpusetBusy"/>
    /// naming the child in the way.
    /// </summary>
    private static void CheckCpuset(ICgroupDriver driver, CgroupTarget target, LinuxResources resources)
    {
        if (string.IsNullOrEmpty(resources.Cpu?.Cpus) && string.IsNullOrEmpty(resources.Cpu?.Mems)) return;
        driver.CheckCpuset(target, resources.Cpu?.Cpus, resources.Cpu?.Mems);
    }
}
