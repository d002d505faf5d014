using KataCgroups.Errors;

namespace KataCgroups.Paths;

/// <summary>
/// One resolved cgroup: the path the user asked for, the hierarchy-relative path the rules turned it into,
/// and, for systemd-form paths, the parsed unit address.
/// </summary>
/// <param name="RequestedPath">As the user gave it; resolving it again gives the same target.</param>
/// <param name="CgroupPath">Hierarchy-relative directory (<c>/kubepods/pod1/kata_sandbox1</c>); for systemd form the unit's directory.</param>
/// <param name="Systemd">The systemd address when the path is in systemd form.</param>
/// <param name="Literal">
/// The path was taken as it is, without the Kata rules (<see cref="FromLiteral"/>): a cgroup Kata names without the
/// <c>kata_</c> prefix, such as its overhead cgroup <c>/kata_overhead/&lt;sandbox id&gt;</c>.
/// </param>
public sealed record CgroupTarget(string RequestedPath, string CgroupPath, SystemdPath? Systemd, bool Literal = false)
{
    /// <summary>
    /// A hierarchy-relative cgroupfs path taken literally: cleaned (so it stays inside the hierarchy), with no
    /// <c>kata_</c> prefix and no <c>/vc</c> base. The root itself, control characters and names longer than NAME_MAX
    /// are refused (<see cref="ErrorIds.InvalidCgroupPath"/>).
    /// </summary>
    public static CgroupTarget FromLiteral(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (KataPath.HasControlCharacter(path)) throw KataPath.Invalid(path, "it contains a NUL or control character");
        var clean = CgroupPathText.Clean("/" + path);
        if (clean == "/") throw KataPath.Invalid(path, "it names the root cgroup of the hierarchy");
        foreach (var component in clean.Split('/', StringSplitOptions.RemoveEmptyEntries))
            if (System.Text.Encoding.UTF8.GetByteCount(component) > KataPath.NameMax)
                throw KataPath.Invalid(path, $"the component '{component[..Math.Min(32, component.Length)]}…' is longer than {KataPath.NameMax} bytes");
        return new CgroupTarget(clean, clean, null, Literal: true);
    }

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
