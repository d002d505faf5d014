using KataCgroups.Devices;
using KataCgroups.Errors;
using KataCgroups.Paths;
using KataCgroups.Resources;

namespace KataCgroups.Drivers.V2;

/// <summary>Export: the v2 files of a cgroup, and the device rules recorded for its program, read back as OCI resources.</summary>
public sealed partial class CgroupV2Driver
{
    /// <inheritdoc/>
    public ResourceExport Export(CgroupTarget target)
    {
        if (!Exists(target)) throw CgroupErrors.NotFound(target.CgroupPath, target.RequestedPath);
        var dir = Dir(target);
        // The eBPF program cannot be read back as rules; the list it was built from is in the cgroup's xattr.
        DeviceRuleSet? devices = null;
        string? whyNot = null;
        try { devices = ReadDeviceState(dir); }
        catch (CgroupException e) { whyNot = e.Message; }
        return ResourceReader.FromV2(file => Fs.TryReadIn(dir, file), CgroupFs.HugePageSizes(dir, ".max"), devices, whyNot);
    }
}
