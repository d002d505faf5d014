using System.Text;
using System.Text.RegularExpressions;
using KataCgroups.Errors;

namespace KataCgroups.Paths;

/// <summary>
/// Wildcards in a cgroup path, with PowerShell's wildcard language (about_Wildcards): <c>*</c> any run of characters,
/// <c>?</c> one character, <c>[abc]</c>/<c>[a-c]</c> one of a set, and a backtick before any character to take it
/// literally. A path is matched component by component against the cgroups that exist, as PowerShell's FileSystem
/// provider globs (a wildcard never crosses a <c>/</c>; a component with a wildcard matches case-insensitively, one
/// without must be equal), after the Kata rules turned it into a cgroup path: <c>/p/pod*/sb1</c> →
/// <c>/p/pod*/kata_sb1</c>, <c>sb*</c> → <c>/vc/kata_sb*</c>. A systemd-form pattern (<c>slice:prefix:name*</c>) is
/// matched whole against the paths the units were created with.
/// </summary>
public sealed class CgroupWildcard
{
    private const char Escape = '`';

    private readonly Regex? _whole;
    private readonly Func<string, bool>[]? _components;

    private CgroupWildcard(string pattern, string root, Regex? whole, Func<string, bool>[]? components)
    {
        Pattern = pattern;
        Root = root;
        _whole = whole;
        _components = components;
    }

    /// <summary>The path as given.</summary>
    public string Pattern { get; }

    /// <summary>
    /// The deepest hierarchy-relative directory every match is at or below (the components before the first one with
    /// a wildcard): where a listing needs to look. <c>/</c> for a systemd-form pattern.
    /// </summary>
    public string Root { get; }

    /// <summary>True for a systemd-form pattern (matched against <see cref="CgroupTarget.RequestedPath"/>).</summary>
    public bool Systemd => _whole is not null;

    /// <summary>True when <paramref name="path"/> has a wildcard character that no backtick escapes.</summary>
    public static bool ContainsWildcard(string path)
    {
        for (int i = 0; i < path.Length; i++)
        {
            if (path[i] == Escape) { i++; continue; }
            if (path[i] is '*' or '?' or '[') return true;
        }
        return false;
    }

    /// <summary>
    /// <paramref name="literal"/> written so that, as a pattern, it matches only itself: a backtick before each
    /// <c>*</c>, <c>?</c>, <c>[</c>, <c>]</c> and backtick (PowerShell's WildcardPattern.Escape). The same string
    /// when it has none, which is every path Kata itself makes.
    /// </summary>
    public static string EscapeLiteral(string literal)
    {
        if (literal.IndexOfAny(Special) < 0) return literal;
        var sb = new StringBuilder(literal.Length + 4);
        foreach (var c in literal)
        {
            if (Array.IndexOf(Special, c) >= 0) sb.Append(Escape);
            sb.Append(c);
        }
        return sb.ToString();
    }

    private static readonly char[] Special = { '*', '?', '[', ']', Escape };

    /// <summary>The literal a pattern without wildcards names: its backtick escapes removed.</summary>
    public static string Unescape(string path)
    {
        if (path.IndexOf(Escape) < 0) return path;
        var sb = new StringBuilder(path.Length);
        for (int i = 0; i < path.Length; i++)
        {
            if (path[i] == Escape && i + 1 < path.Length) i++;
            sb.Append(path[i]);
        }
        return sb.ToString();
    }

    /// <summary>
    /// Compiles a path with wildcards. The Kata rules apply to it as to any path (so <paramref name="systemdMode"/> as
    /// for <see cref="CgroupTarget.Resolve"/>); an unclosed <c>[</c> is <see cref="ErrorIds.InvalidCgroupPath"/>.
    /// </summary>
    public static CgroupWildcard Compile(string pattern, bool systemdMode = false)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        if (KataPath.HasControlCharacter(pattern))
            throw Invalid(pattern, "it contains a NUL or control character");
        if (SystemdPath.IsSystemdForm(pattern))
            return new CgroupWildcard(pattern, "/", ToRegex(pattern, pattern), null);
        if (systemdMode)
            throw new CgroupException(ErrorIds.MalformedSystemdPath, CgroupErrorKind.InvalidArgument,
                $"malformed systemd path '{KataPath.Show(pattern)}': expected to be of form 'slice:prefix:name'", pattern);
        // The Kata rules are lexical ('/' and '..' only), so they apply to a pattern as to a path; escapes stay put.
        var cgroupPattern = KataPath.Validate(pattern);
        var parts = cgroupPattern.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var matchers = new Func<string, bool>[parts.Length];
        var root = new StringBuilder();
        bool literalSoFar = true;
        for (int i = 0; i < parts.Length; i++)
        {
            var part = parts[i];
            if (ContainsWildcard(part))
            {
                literalSoFar = false;
                var regex = ToRegex(part, pattern);
                matchers[i] = regex.IsMatch;
            }
            else
            {
                var literal = Unescape(part);
                matchers[i] = name => string.Equals(name, literal, StringComparison.Ordinal);
                // The last component is the Kata leaf itself, never a directory to search below.
                if (literalSoFar && i < parts.Length - 1) root.Append('/').Append(literal);
            }
        }
        return new CgroupWildcard(pattern, root.Length == 0 ? "/" : root.ToString(), null, matchers);
    }

    /// <summary>True when the cgroup <paramref name="target"/> (one found on the host) matches.</summary>
    public bool IsMatch(CgroupTarget target)
    {
        if (_whole is not null) return target.Systemd is not null && _whole.IsMatch(target.RequestedPath);
        if (target.Systemd is not null) return false;
        var parts = target.CgroupPath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != _components!.Length) return false;
        for (int i = 0; i < parts.Length; i++)
            if (!_components[i](parts[i])) return false;
        return true;
    }

    /// <summary>
    /// One component (or a whole systemd path) as an anchored regular expression, case-insensitive as PowerShell's
    /// FileSystem provider matches wildcards (WildcardOptions.IgnoreCase).
    /// </summary>
    private static Regex ToRegex(string part, string pattern)
    {
        var sb = new StringBuilder("^");
        for (int i = 0; i < part.Length; i++)
        {
            char c = part[i];
            switch (c)
            {
                case Escape when i + 1 < part.Length:
                    sb.Append(Regex.Escape(part[++i].ToString()));
                    break;
                case '*':
                    sb.Append(".*");
                    break;
                case '?':
                    sb.Append('.');
                    break;
                case '[':
                    int close = i + 1;
                    var set = new StringBuilder();
                    for (; close < part.Length && part[close] != ']'; close++)
                    {
                        char s = part[close];
                        if (s == Escape && close + 1 < part.Length) s = part[++close];
                        else if (s == '-' && set.Length > 0 && close + 1 < part.Length && part[close + 1] != ']') { set.Append('-'); continue; }
                        set.Append(s is '\\' or ']' or '[' or '^' or '-' ? "\\" + s : s.ToString());
                    }
                    if (close >= part.Length || set.Length == 0)
                        throw Invalid(pattern, $"the wildcard '{part}' has a '[' without its closing ']' (write `[ for a literal '[')");
                    sb.Append('[').Append(set).Append(']');
                    i = close;
                    break;
                default:
                    sb.Append(Regex.Escape(c.ToString()));
                    break;
            }
        }
        sb.Append('$');
        return new Regex(sb.ToString(), RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Singleline);
    }

    private static CgroupException Invalid(string path, string why) =>
        new(ErrorIds.InvalidCgroupPath, CgroupErrorKind.InvalidArgument, $"invalid cgroup path '{KataPath.Show(path)}': {why}", path);
}

/// <summary>What one <c>-Path</c> value named (<see cref="CgroupManager.Expand"/>).</summary>
/// <param name="Given">The value as given.</param>
/// <param name="Wildcard">True when it had wildcards: <paramref name="Targets"/> are the existing cgroups that match, maybe none.</param>
/// <param name="Targets">The cgroups, sorted by directory; exactly one (existing or not) when <paramref name="Wildcard"/> is false.</param>
public sealed record PathExpansion(string Given, bool Wildcard, IReadOnlyList<CgroupTarget> Targets);
