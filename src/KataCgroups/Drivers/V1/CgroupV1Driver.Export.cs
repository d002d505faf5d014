using KataCgroups.Errors;
using KataCgroups.Paths;
using KataCgroups.Resources;

namespace KataCgroups.Drivers.V1;

/// <summary>Export: the v1 files of a cgroup read back as OCI resources.</summary>
public sealed partial class CgroupV1Driver
{
    /// <inheritdoc/>
    public ResourceExport Export(CgroupTarget target)
    {
        if (!Exists(target)) throw CgroupErrors.NotFound(target.CgroupPath, target.RequestedPath);
        string? Dir(string controller) => _layout.TryGetIndex(controller, out int i) ? _layout.All[i].DirectoryOf(target.CgroupPath) : null;
        string? Read(string controller, string file) => Dir(controller) is { } dir ? Fs.TryReadIn(dir, file) : null;
        return ResourceReader.FromV1(Read, CgroupFs.HugePageSizes(Dir("hugetlb"), ".limit_in_bytes"));
    }
}
