using KataCgroups.Errors;

namespace KataCgroups.Paths;

/// <summary>
/// A cgroup path in systemd form <c>slice:prefix:name</c> (Kata's virtcontainers/pkg/cgroups/utils.go). Recognition follows the fixed
/// upstream rule (kata commit ad5484ba): exactly three ':'-separated non-empty parts and the first ends in
/// <c>.slice</c>; the earlier regex rejected '-', which mangled <c>kubepods-besteffort.slice:cri-containerd:abc</c>.
/// </summary>
public sealed record SystemdPath(string Slice, string Prefix, string Name)
{
    /// <summary>True when <paramref name="path"/> has the systemd form.</summary>
    public static bool IsSystemdForm(string path)
    {
        var parts = path.Split(':');
        return parts.Length == 3
            && parts[0].Length > 0 && parts[1].Length > 0 && parts[2].Length > 0
            && parts[0].EndsWith(".slice", StringComparison.Ordinal);
    }

    /// <summary>Parses and validates a systemd-form path; throws <see cref="ErrorIds.MalformedSystemdPath"/>.</summary>
    public static SystemdPath Parse(string path)
    {
        if (!IsSystemdForm(path))
            throw Malformed(path, "expected to be of form 'slice:prefix:name'");
        var parts = path.Split(':');
        foreach (var p in parts)
        {
            if (p.Contains('/'))
                throw Malformed(path, "a part contains '/'");
            if (KataPath.HasControlCharacter(p))
                throw Malformed(path, "a part contains a control character");
        }
        try { ExpandSlice(parts[0]); }
        catch (CgroupException e)
        {
            // Name the whole path the user gave, not just its slice part.
            throw new CgroupException(e.ErrorId, e.Kind, $"malformed systemd path '{path}': {e.Message[(e.Message.IndexOf("': ", StringComparison.Ordinal) + 3)..]}", path, inner: e);
        }
        return new SystemdPath(parts[0], parts[1], parts[2]);
    }

    /// <summary>The unit this path names: <c>prefix-name.scope</c>, or the slice itself when name ends in .slice.</summary>
    public string UnitName => Name.EndsWith(".slice", StringComparison.Ordinal) ? Name : $"{Prefix}-{Name}.scope";

    /// <summary>The cgroup directory of the parent slice, e.g. <c>/a.slice/a-b.slice</c>.</summary>
    public string SliceDirectory => ExpandSlice(Slice);

    /// <summary>The cgroup directory of the unit relative to the hierarchy root.</summary>
    public string CgroupDirectory =>
        Name.EndsWith(".slice", StringComparison.Ordinal)
            ? ExpandSlice(Name)
            : CgroupPathText.Join(SliceDirectory, UnitName);

    /// <inheritdoc/>
    public override string ToString() => $"{Slice}:{Prefix}:{Name}";

    /// <summary>
    /// <c>ExpandSlice("a-b-c.slice") = "/a.slice/a-b.slice/a-b-c.slice"</c>; <c>-.slice</c> is the root.
    /// Rejects '/', empty components and a missing .slice suffix (opencontainers/cgroups systemd/common.go).
    /// </summary>
    public static string ExpandSlice(string slice)
    {
        const string suffix = ".slice";
        if (slice.Length <= suffix.Length || !slice.EndsWith(suffix, StringComparison.Ordinal))
            throw Malformed(slice, "invalid slice name");
        if (slice.Contains('/'))
            throw Malformed(slice, "invalid slice name: contains '/'");
        var name = slice[..^suffix.Length];
        if (name == "-") return "/";
        var path = new System.Text.StringBuilder();
        var prefix = "";
        foreach (var component in name.Split('-'))
        {
            if (component.Length == 0)
                throw Malformed(slice, "invalid slice name: empty component");
            path.Append('/').Append(prefix).Append(component).Append(suffix);
            prefix += component + "-";
        }
        return path.ToString();
    }

    private static CgroupException Malformed(string path, string why) =>
        new(ErrorIds.MalformedSystemdPath, CgroupErrorKind.InvalidArgument,
            $"malformed systemd path '{path}': {why}", path);
}
