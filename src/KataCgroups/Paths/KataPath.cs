using KataCgroups.Errors;

namespace KataCgroups.Paths;

/// <summary>
/// Kata's cgroup path rules (kata runtime virtcontainers/pkg/cgroups/utils.go):
/// every cgroupfs path ends in a <c>kata_</c>-prefixed directory, relative paths live under <c>/vc</c>,
/// and lexical cleaning keeps every result inside the hierarchy root.
/// </summary>
public static class KataPath
{
    /// <summary>Prefix of the leaf directory of every Kata cgroup.</summary>
    public const string Prefix = "kata_";

    /// <summary>Base directory of relative paths.</summary>
    public const string DefaultBase = "/vc";

    /// <summary>NAME_MAX: the kernel refuses longer directory names with ENAMETOOLONG.</summary>
    public const int NameMax = 255;

    /// <summary><c>RenameCgroupPath</c>: <c>Join(Dir(p), "kata_" + Base(p))</c>; empty is an error.</summary>
    public static string Rename(string path)
    {
        if (path.Length == 0)
            throw Invalid(path, "the path is empty");
        return CgroupPathText.Join(CgroupPathText.Dir(path), Prefix + CgroupPathText.Base(path));
    }

    /// <summary>
    /// <c>ValidCgroupPath</c>: systemd form unchanged; in systemd mode anything else is malformed; absolute →
    /// <c>Rename(Clean(p))</c>; relative → <c>Rename(Join("/vc", Clean("/" + p)))</c>.
    /// Additionally (not in Kata's Go manager, which let the kernel fail later) rejects NUL/control characters and
    /// names longer than NAME_MAX, so nothing is written for such input.
    /// </summary>
    public static string Validate(string path, bool systemd = false)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (HasControlCharacter(path))
            throw Invalid(path, "it contains a NUL or control character");
        if (SystemdPath.IsSystemdForm(path))
        {
            SystemdPath.Parse(path);
            return path;
        }
        if (systemd)
            throw new CgroupException(ErrorIds.MalformedSystemdPath, CgroupErrorKind.InvalidArgument,
                $"malformed systemd path '{path}': expected to be of form 'slice:prefix:name'", path);

        string result = path.StartsWith('/')
            ? Rename(CgroupPathText.Clean(path))
            : Rename(CgroupPathText.Join(DefaultBase, CgroupPathText.Clean("/" + path)));
        foreach (var component in result.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (System.Text.Encoding.UTF8.GetByteCount(component) > NameMax)
                throw Invalid(path, $"the component '{component[..Math.Min(32, component.Length)]}…' is longer than {NameMax} bytes");
        }
        return result;
    }

    /// <summary>
    /// The inverse of <see cref="Validate"/> for a cgroupfs path whose leaf has the kata_ prefix: the path a user
    /// passes to get this cgroup again (<c>/vc/kata_foo</c> → <c>/vc/foo</c>), or null if the leaf is not a Kata one.
    /// </summary>
    public static string? ToRequestedPath(string cgroupPath)
    {
        var leaf = CgroupPathText.Base(cgroupPath);
        if (!leaf.StartsWith(Prefix, StringComparison.Ordinal)) return null;
        // A bare "kata_" leaf only comes from the root: Validate("/") = Join("/", "kata_" + Base("/")) = "/kata_".
        if (leaf.Length == Prefix.Length) return CgroupPathText.Dir(cgroupPath) == "/" ? "/" : null;
        return CgroupPathText.Join(CgroupPathText.Dir(cgroupPath), leaf[Prefix.Length..]);
    }

    /// <summary>True when a directory name is a Kata leaf: the <c>kata_</c> prefix and a name after it.</summary>
    public static bool IsKataLeaf(string name) => name.StartsWith(Prefix, StringComparison.Ordinal) && name.Length > Prefix.Length;

    /// <summary>
    /// Where a partly typed path goes on, read as <see cref="Validate"/> reads a path: the hierarchy-relative
    /// directory its last component is in (a relative path is under <see cref="DefaultBase"/>), the part of that
    /// component typed so far (empty after a trailing <c>/</c>), and whether the path was relative.
    /// </summary>
    public static (string Parent, string NamePrefix, bool Relative) SplitTyped(string typed)
    {
        bool relative = !typed.StartsWith('/');
        bool more = typed.Length == 0 || typed.EndsWith('/');
        var absolute = relative ? CgroupPathText.Join(DefaultBase, CgroupPathText.Clean("/" + typed)) : CgroupPathText.Clean(typed);
        return more ? (absolute, "", relative) : (CgroupPathText.Dir(absolute), CgroupPathText.Base(absolute), relative);
    }

    /// <summary>
    /// A hierarchy-relative path in the form the user is typing: below <see cref="DefaultBase"/> and typed relative, it
    /// loses the base (<c>/vc/pod1</c> → <c>pod1</c>), as <see cref="Validate"/> puts it back; otherwise as it is.
    /// </summary>
    public static string AsTyped(string cgroupPath, bool relative) =>
        relative && cgroupPath.StartsWith(DefaultBase + "/", StringComparison.Ordinal) ? cgroupPath[(DefaultBase.Length + 1)..] : cgroupPath;

    internal static bool HasControlCharacter(string s)
    {
        foreach (var c in s)
            if (char.IsControl(c)) return true;
        return false;
    }

    internal static CgroupException Invalid(string path, string why) =>
        new(ErrorIds.InvalidCgroupPath, CgroupErrorKind.InvalidArgument, $"invalid cgroup path '{Show(path)}': {why}", path);

    internal static string Show(string s)
    {
        var sb = new System.Text.StringBuilder();
        foreach (var c in s)
            sb.Append(char.IsControl(c) ? $"\\x{(int)c:x2}" : c.ToString());
        return sb.ToString();
    }
}
