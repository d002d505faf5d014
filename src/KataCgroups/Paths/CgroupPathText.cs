using System.Text;

namespace KataCgroups.Paths;

/// <summary>
/// Slash-path helpers with Go's <c>path</c> semantics (Clean, Dir, Base, Join), because Kata's path rules
/// (virtcontainers/pkg/cgroups/utils.go) are written in terms of them and must give byte-identical results.
/// </summary>
public static class CgroupPathText
{
    /// <summary>Go <c>path.Clean</c>: collapse separators, drop <c>.</c>, resolve <c>..</c> lexically, never above root.</summary>
    public static string Clean(string path)
    {
        if (path.Length == 0) return ".";
        bool rooted = path[0] == '/';
        var parts = new List<string>();
        foreach (var part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == ".") continue;
            if (part == "..")
            {
                if (parts.Count > 0 && parts[^1] != "..") parts.RemoveAt(parts.Count - 1);
                else if (!rooted) parts.Add("..");
                // rooted: ".." at the root stays at the root
                continue;
            }
            parts.Add(part);
        }
        var joined = string.Join('/', parts);
        if (rooted) return "/" + joined;
        return joined.Length == 0 ? "." : joined;
    }

    /// <summary>Go <c>path.Join</c>: join non-empty elements with '/', then Clean.</summary>
    public static string Join(params string[] elements)
    {
        var sb = new StringBuilder();
        foreach (var e in elements)
        {
            if (e.Length == 0) continue;
            if (sb.Length > 0) sb.Append('/');
            sb.Append(e);
        }
        return sb.Length == 0 ? "" : Clean(sb.ToString());
    }

    /// <summary>Go <c>path.Dir</c>.</summary>
    public static string Dir(string path)
    {
        int i = path.LastIndexOf('/');
        return Clean(i < 0 ? "" : path[..(i + 1)]);
    }

    /// <summary>Go <c>path.Base</c>.</summary>
    public static string Base(string path)
    {
        if (path.Length == 0) return ".";
        path = path.TrimEnd('/');
        if (path.Length == 0) return "/";
        int i = path.LastIndexOf('/');
        return i >= 0 ? path[(i + 1)..] : path;
    }

    /// <summary>True when the clean absolute <paramref name="path"/> is <paramref name="root"/> or inside it.</summary>
    public static bool IsAtOrBelow(string path, string root) =>
        root == "/" || path == root || path.StartsWith(root + "/", StringComparison.Ordinal);
}
