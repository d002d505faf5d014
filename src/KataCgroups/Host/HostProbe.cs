using KataCgroups.Errors;
using KataCgroups.Interop;

namespace KataCgroups.Host;

/// <summary>
/// Probes the host once: cgroup mode by file-system magic, hierarchies from mountinfo, rootless from euid and
/// uid_map. Model: opencontainers/cgroups utils.go (IsCgroup2UnifiedMode, IsCgroup2HybridMode) and
/// dotnet/runtime Interop.cgroups.cs (mountinfo path as a parameter).
/// </summary>
public static class HostProbe
{
    /// <summary>CGROUP2_SUPER_MAGIC (include/uapi/linux/magic.h).</summary>
    public const long Cgroup2SuperMagic = 0x63677270;
    /// <summary>CGROUP_SUPER_MAGIC (v1).</summary>
    public const long CgroupSuperMagic = 0x27e0eb;

    /// <summary>Runs the probe.</summary>
    public static HostInfo Probe(HostOptions? options = null)
    {
        options ??= new HostOptions();
        string mountInfo;
        try { mountInfo = File.ReadAllText(options.MountInfoFile); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CgroupException(ErrorIds.HostProbeFailed, CgroupErrorKind.ReadFailed,
                $"cannot read {options.MountInfoFile}: {e.Message}", options.MountInfoFile, inner: e);
        }
        var mounts = MountInfo.ParseCgroupMounts(mountInfo);
        var mode = options.ModeOverride ?? DetectMode(options.CgroupRoot);

        // Keep one mount per hierarchy: prefer mounts beneath the cgroup root (a container runtime may have
        // bind-mounted hierarchies elsewhere), first one wins.
        string rootPrefix = options.CgroupRoot.TrimEnd('/') + "/";
        var chosen = new List<Hierarchy>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var pass in new[] { true, false })
        {
            foreach (var m in mounts)
            {
                bool beneath = m.MountPoint == options.CgroupRoot || m.MountPoint.StartsWith(rootPrefix, StringComparison.Ordinal);
                if (beneath != pass) continue;
                if (seen.Add(m.Name)) chosen.Add(m);
            }
        }
        if (mode == CgroupMode.Unified)
            chosen.RemoveAll(h => !h.IsUnified);
        else if (mode == CgroupMode.Legacy)
            chosen.RemoveAll(h => h.IsUnified);

        uint euid = options.EuidOverride ?? Libc.GetEuid();
        string? uidMap = null;
        try { uidMap = File.ReadAllText(options.UidMapFile); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return new HostInfo(options, mode, chosen, euid, Rootless.Reason(euid, uidMap));
    }

    /// <summary>Unified if the root is cgroup2; hybrid if <c>root/unified</c> is; else legacy (opencontainers/cgroups utils.go IsCgroup2UnifiedMode, runc libcontainer/cgroups).</summary>
    public static CgroupMode DetectMode(string cgroupRoot)
    {
        if (Libc.TryGetFsType(cgroupRoot, out var magic, out _) && magic == Cgroup2SuperMagic)
            return CgroupMode.Unified;
        if (Libc.TryGetFsType(Path.Combine(cgroupRoot, "unified"), out magic, out _) && magic == Cgroup2SuperMagic)
            return CgroupMode.Hybrid;
        return CgroupMode.Legacy;
    }
}
