namespace KataCgroups.Paths;

/// <summary>
/// One resolved cgroup: the path the user asked for, the hierarchy-relative path the rules turned it into,
/// and, for systemd-form paths, the parsed unit address.
/// </summary>
/// <param name="RequestedPath">As the user gave it; resolving it again gives the same target.</param>
/// <param name="CgroupPath">Hierarchy-relative directory (<c>/kubepods/pod1/kata_sandbox1</c>); for systemd form the unit's directory.</param>
/// <param name="Systemd">The systemd address when the path is in systemd form.</param>
public sealed record CgroupTarget(string RequestedPath, string CgroupPath, SystemdPath? Systemd)
{
    /// <summary>Applies the Kata rules to a user path.</summary>
    public static CgroupTarget Resolve(string path, bool systemdMode = false)
    {
        var valid = KataPath.Validate(path, systemdMode);
        if (SystemdPath.IsSystemdForm(valid))
        {
            var sd = SystemdPath.Parse(valid);
            return new CgroupTarget(path, sd.CgroupDirectory, sd);
        }
        return new CgroupTarget(path, valid, null);
    }

    /// <summary>Target for a cgroup found on the host (its leaf carries the kata_ prefix).</summary>
    public static CgroupTarget? FromCgroupPath(string cgroupPath)
    {
        var requested = KataPath.ToRequestedPath(cgroupPath);
        return requested is null ? null : new CgroupTarget(requested, cgroupPath, null);
    }
}
