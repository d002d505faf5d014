using KataCgroups.Cpusets;
using KataCgroups.Devices;
using KataCgroups.Errors;
using KataCgroups.Host;
using KataCgroups.Interop;
using KataCgroups.Paths;
using KataCgroups.Resources;

namespace KataCgroups.Drivers.V1;

/// <summary>Hot device updates and cpuset checks on v1.</summary>
public sealed partial class CgroupV1Driver
{
    /// <inheritdoc/>
    public DeviceChange PlanDeviceChange(CgroupTarget target, DeviceRule rule, DeviceChangeKind kind)
    {
        if (!_layout.TryGet("devices", out var h))
            throw new CgroupException(ErrorIds.ControllerNotMounted, CgroupErrorKind.NotSupported, "the devices controller is not mounted on this host", "devices");
        var dir = h.DirectoryOf(target.CgroupPath);
        if (!Directory.Exists(dir)) throw CgroupErrors.NotFound(target.CgroupPath, target.RequestedPath);
        var before = DeviceRuleSet.ParseList(Fs.Read(Path.Combine(dir, "devices.list")));
        return DeviceRuleEdit.ChangeOfListWrite(dir, before, rule, kind);
    }

    /// <inheritdoc/>
    public void ApplyDeviceChange(CgroupTarget target, DeviceChange change, ICgroupLog log)
    {
        try
        {
            // The re-read of devices.list after the write (Execute) proves the kernel holds exactly change.After.
            Apply(target, new CgroupPlan(change.Writes, Array.Empty<string>(), null, change.After.DefaultAllow ? null : change.After), log);
        }
        catch (CgroupException e) when (e.Errno == Errno.EPERM && e.Target?.EndsWith("devices.allow", StringComparison.Ordinal) == true)
        {
            // security/device_cgroup.c: an allow the parent does not grant itself is EPERM (parent_has_perm).
            throw new CgroupException(e.ErrorId, e.Kind,
                $"{e.Message}; the parent cgroup does not allow '{change.Rule.ToKernelString()}' itself, and a devices cgroup can only allow what its parent allows",
                e.Target, e.Errno, e);
        }
    }

    /// <inheritdoc/>
    public void CheckCpuset(CgroupTarget target, string? cpus, string? mems)
    {
        if (!_layout.TryGet("cpuset", out var h) || target.CgroupPath == "/") return;
        var dir = h.DirectoryOf(target.CgroupPath);
        bool exists = Directory.Exists(dir);
        // A new level copies its values from the nearest existing ancestor (InitCpuset), which therefore bounds it.
        var parent = exists ? h.DirectoryOf(CgroupPathText.Dir(target.CgroupPath)) : NearestExisting(h, CgroupPathText.Dir(target.CgroupPath));
        foreach (var (file, value) in new[] { ("cpuset.cpus", cpus), ("cpuset.mems", mems) })
        {
            if (string.IsNullOrEmpty(value)) continue;
            CpusetCheck.Check(V1Bounds(dir, parent, file, value, exists));
        }
    }

    private CpusetBounds V1Bounds(string dir, string parent, string file, string value, bool exists)
    {
        var children = exists
            ? Directory.GetDirectories(dir).Order(StringComparer.Ordinal).Select(c => (c, Fs.TryReadValue(Path.Combine(c, file)) ?? "")).ToList()
            : new List<(string, string)>();
        return new CpusetBounds(file, value, parent, Fs.TryReadValue(Path.Combine(parent, file)) ?? "", file,
            OnlineCpus.For(file), children);
    }

    /// <summary>
    /// A cpuset write the kernel refused (EACCES: not within the parent; EBUSY: a child uses what would go; ERANGE: no
    /// such CPU; EINVAL: no such memory node), explained with the cgroups involved; null when the cause is not one of those.
    /// </summary>
    internal CgroupException? CpusetWriteFailed(string dir, CgroupWrite w, int errno)
    {
        if (w.File is not ("cpuset.cpus" or "cpuset.mems")) return null;
        try
        {
            CpusetCheck.Check(V1Bounds(dir, Path.GetDirectoryName(dir)!, w.File, w.Value, Directory.Exists(dir)));
        }
        catch (CgroupException e)
        {
            return new CgroupException(e.ErrorId, e.Kind, $"{e.Message} (the kernel answered {Errno.Describe(errno)} writing {Path.Combine(dir, w.File)})", e.Target, errno, e);
        }
        return null;
    }
}
