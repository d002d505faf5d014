using System.Text;
using System.Text.RegularExpressions;

namespace KataCgroups.Tests.Architecture;

/// <summary>One C# source file of the tree: its path below <c>src/</c> (forward slashes) and its text.</summary>
internal sealed record SourceFile(string Path, string Text);

/// <summary>A reference a layer may not make: the file, the name it uses, and the rule it breaks.</summary>
internal sealed record LayerViolation(string File, string Name, string Rule)
{
    public override string ToString() => $"{File}: {Name} ({Rule})";
}

/// <summary>
/// The layering of docs/architecture.md as data, checked on the sources: which layer each file belongs to (by its
/// folder), which layers it may name, and the names it does name — <c>using</c> directives, qualified names and the
/// top-level types the engine declares — with comments and string literals left out. What a layer may not name is
/// reported; the engine also may not name PowerShell.
/// </summary>
internal static class LayerRules
{
    private static readonly string[] Lowest = { "Interop", "Errors", "Log" };
    private static readonly string[] Model = { "Interop", "Errors", "Log", "Host", "Paths", "Cpusets", "Resources", "Devices", "Model" };
    private static readonly string[] Observers = Model.Append("Stats").Append("Events").ToArray();
    private static readonly string[] BelowDrivers = Observers.Append("Preflight").ToArray();
    private static readonly string[] Engine = BelowDrivers.Append("Drivers").Append("Driver.V1").Append("Driver.V2").Append("Driver.Systemd").Append("Sandboxes").Append("Facade").ToArray();

    /// <summary>What each layer may name besides itself.</summary>
    internal static readonly IReadOnlyDictionary<string, string[]> MayUse = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        ["Interop"] = Array.Empty<string>(),
        ["Errors"] = new[] { "Interop" },
        ["Log"] = Array.Empty<string>(),
        ["Host"] = Lowest,
        ["Paths"] = Lowest.Append("Host").ToArray(),
        ["Cpusets"] = Lowest.Append("Host").ToArray(),
        ["Model"] = Lowest.Append("Host").Append("Paths").ToArray(),
        ["Resources"] = Model,
        ["Devices"] = Model,
        ["Stats"] = Model,
        ["Events"] = Model,
        ["Preflight"] = Observers,
        ["Drivers"] = BelowDrivers,
        ["Driver.V1"] = BelowDrivers.Append("Drivers").ToArray(),
        ["Driver.V2"] = BelowDrivers.Append("Drivers").ToArray(),
        ["Driver.Systemd"] = BelowDrivers.Append("Drivers").ToArray(),
        ["Sandboxes"] = BelowDrivers.Append("Drivers").ToArray(),
        ["Facade"] = Engine,
        ["Cmdlets"] = BelowDrivers.Append("Sandboxes").Append("Facade").ToArray(),
    };

    /// <summary>
    /// Facade members a layer may not call although it may name the facade: <c>DriverFor</c> hands out a driver, and
    /// the cmdlets reach the drivers only through the facade's own members.
    /// </summary>
    internal static readonly IReadOnlyDictionary<string, string[]> MayNotCall = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        ["Cmdlets"] = new[] { "DriverFor" },
    };

    /// <summary>The layer of a file, from its path below <c>src/</c>.</summary>
    internal static string LayerOf(string path)
    {
        var parts = path.Split('/');
        if (parts[0] == "KataCgroups.PowerShell") return "Cmdlets";
        if (parts[0] != "KataCgroups") throw new ArgumentException($"{path} is not in a project of src/", nameof(path));
        if (parts.Length == 2) return parts[1] == "CgroupLog.cs" ? "Log" : "Facade";
        if (parts[1] == "Drivers") return parts.Length == 3 ? "Drivers" : "Driver." + parts[2];
        return parts[1];
    }

    /// <summary>The layer a namespace of the engine belongs to, or null for one outside it.</summary>
    internal static string? LayerOfNamespace(string ns)
    {
        if (ns == "KataCgroups") return "Facade";
        if (!ns.StartsWith("KataCgroups.", StringComparison.Ordinal)) return null;
        var parts = ns.Split('.');
        if (parts[1] == "PowerShell") return "Cmdlets";
        if (parts[1] == "Drivers") return parts.Length == 2 ? "Drivers" : "Driver." + parts[2];
        return parts[1];
    }

    /// <summary>Every violation in <paramref name="files"/> (engine and cmdlet sources together).</summary>
    internal static List<LayerViolation> Check(IReadOnlyList<SourceFile> files)
    {
        // The engine's top-level types and the layer that declares each (a name declared in two layers is ambiguous
        // and not checked by name; its namespace still is).
        var declaredIn = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var f in files)
        {
            var layer = LayerOf(f.Path);
            if (layer == "Cmdlets") continue;
            foreach (var name in DeclaredTypes(f.Text))
            {
                if (!declaredIn.TryGetValue(name, out var set)) declaredIn[name] = set = new HashSet<string>(StringComparer.Ordinal);
                set.Add(layer);
            }
        }

        var violations = new List<LayerViolation>();
        foreach (var f in files)
        {
            var layer = LayerOf(f.Path);
            var allowed = new HashSet<string>(MayUse[layer], StringComparer.Ordinal) { layer };
            var seen = new HashSet<string>(StringComparer.Ordinal);
            void Report(string name, string rule)
            {
                if (seen.Add(name)) violations.Add(new LayerViolation(f.Path, name, rule));
            }
            var tokens = Tokens(f.Text);
            foreach (var chain in DottedChains(tokens))
            {
                if (layer != "Cmdlets" && (chain.StartsWith("System.Management.Automation", StringComparison.Ordinal) || chain.StartsWith("Microsoft.PowerShell", StringComparison.Ordinal)))
                    Report(chain, "the engine knows nothing of PowerShell");
                var ns = chain.StartsWith("KataCgroups", StringComparison.Ordinal) ? chain : "KataCgroups." + chain;
                // The longest prefix of the chain that names a layer's namespace (a using, or a qualified name).
                for (var prefix = ns; prefix.Contains('.'); prefix = prefix[..prefix.LastIndexOf('.')])
                {
                    if (!KnownNamespaces.Contains(prefix)) continue;
                    var target = LayerOfNamespace(prefix)!;
                    if (!allowed.Contains(target)) Report(prefix, $"{layer} may not use {target}");
                    break;
                }
            }
            foreach (var id in tokens)
            {
                if (MayNotCall.TryGetValue(layer, out var members) && members.Contains(id)) Report(id, $"{layer} may not call {id}: it reaches past the facade");
                if (!declaredIn.TryGetValue(id, out var layers) || layers.Count != 1) continue;
                var target = layers.First();
                if (!allowed.Contains(target)) Report(id, $"{layer} may not use {target}");
            }
        }
        return violations;
    }

    /// <summary>The namespaces of the engine and the cmdlets (folder names), which a chain of names may start with.</summary>
    private static readonly HashSet<string> KnownNamespaces = new(StringComparer.Ordinal)
    {
        "KataCgroups.Interop", "KataCgroups.Errors", "KataCgroups.Host", "KataCgroups.Paths", "KataCgroups.Cpusets",
        "KataCgroups.Model", "KataCgroups.Resources", "KataCgroups.Devices", "KataCgroups.Stats", "KataCgroups.Events",
        "KataCgroups.Preflight", "KataCgroups.Drivers", "KataCgroups.Drivers.V1", "KataCgroups.Drivers.V2",
        "KataCgroups.Drivers.Systemd", "KataCgroups.PowerShell",
    };

    private static readonly Regex Declaration = new(
        @"^(?:\[[^\]]*\]\s*)*(?:(?:public|internal|private|protected|file|static|sealed|abstract|partial|readonly|ref|unsafe|new)\s+)*(?:class|struct|interface|enum|record(?:\s+struct|\s+class)?)\s+(\w+)",
        RegexOptions.Multiline | RegexOptions.CultureInvariant);

    private static readonly Regex DelegateDeclaration = new(
        @"^(?:(?:public|internal|private|protected|file)\s+)*delegate\s+[^;(]*?(\w+)\s*(?:<[^>]*>)?\s*\(",
        RegexOptions.Multiline | RegexOptions.CultureInvariant);

    /// <summary>The names of the top-level types a file declares (file-scoped namespaces: they start in column 0).</summary>
    internal static IEnumerable<string> DeclaredTypes(string text)
    {
        var code = CodeOnly(text);
        foreach (Match m in Declaration.Matches(code)) yield return m.Groups[1].Value;
        foreach (Match m in DelegateDeclaration.Matches(code)) yield return m.Groups[1].Value;
    }

    /// <summary>The identifiers of the code, in order, with "." kept as a token of its own.</summary>
    private static List<string> Tokens(string text)
    {
        var code = CodeOnly(text);
        var tokens = new List<string>();
        for (int i = 0; i < code.Length;)
        {
            char c = code[i];
            if (char.IsLetter(c) || c == '_' || c == '@')
            {
                int start = c == '@' ? i + 1 : i;
                i++;
                while (i < code.Length && (char.IsLetterOrDigit(code[i]) || code[i] == '_')) i++;
                tokens.Add(code[start..i]);
            }
            else if (c == '.' && !(i + 1 < code.Length && code[i + 1] == '.')) { tokens.Add("."); i++; }
            else if (char.IsWhiteSpace(c)) i++;
            else { tokens.Add(c.ToString()); i++; }
        }
        return tokens;
    }

    /// <summary>Every maximal chain <c>a.b.c</c> of identifiers (at least two).</summary>
    private static IEnumerable<string> DottedChains(List<string> tokens)
    {
        for (int i = 0; i < tokens.Count; i++)
        {
            if (!IsIdentifier(tokens[i]) || (i >= 1 && tokens[i - 1] == ".")) continue;
            var sb = new StringBuilder(tokens[i]);
            int j = i;
            while (j + 2 < tokens.Count && tokens[j + 1] == "." && IsIdentifier(tokens[j + 2]))
            {
                sb.Append('.').Append(tokens[j + 2]);
                j += 2;
            }
            if (j > i) yield return sb.ToString();
        }
    }

    private static bool IsIdentifier(string token) => token.Length > 0 && (char.IsLetter(token[0]) || token[0] == '_');

    /// <summary>
    /// The text with comments, string and character literals blanked (newlines kept, so declarations stay at the start
    /// of their lines); the holes of interpolated strings stay, since they are code.
    /// </summary>
    internal static string CodeOnly(string text)
    {
        var sb = new StringBuilder(text.Length);
        int i = 0;
        void Blank(int from, int to)
        {
            for (int k = from; k < to; k++) sb.Append(text[k] == '\n' ? '\n' : ' ');
        }
        while (i < text.Length)
        {
            char c = text[i];
            if (c == '/' && i + 1 < text.Length && text[i + 1] == '/')
            {
                int end = text.IndexOf('\n', i);
                if (end < 0) end = text.Length;
                Blank(i, end);
                i = end;
            }
            else if (c == '/' && i + 1 < text.Length && text[i + 1] == '*')
            {
                int end = text.IndexOf("*/", i + 2, StringComparison.Ordinal);
                end = end < 0 ? text.Length : end + 2;
                Blank(i, end);
                i = end;
            }
            else if (c == '\'')
            {
                int end = i + 1;
                while (end < text.Length && text[end] != '\'') end += text[end] == '\\' ? 2 : 1;
                end = Math.Min(end + 1, text.Length);
                Blank(i, end);
                i = end;
            }
            else if (c == '"' || ((c == '$' || c == '@') && i + 1 < text.Length && (text[i + 1] == '"' || text[i + 1] is '$' or '@')))
            {
                i = SkipString(text, i, sb);
            }
            else
            {
                sb.Append(c);
                i++;
            }
        }
        return sb.ToString();
    }

    /// <summary>Blanks one string literal starting at <paramref name="i"/>, keeping interpolation holes; returns the index after it.</summary>
    private static int SkipString(string text, int i, StringBuilder sb)
    {
        int start = i;
        bool interpolated = false, verbatim = false;
        while (text[i] is '$' or '@')
        {
            interpolated |= text[i] == '$';
            verbatim |= text[i] == '@';
            i++;
        }
        int quotes = 0;
        while (i < text.Length && text[i] == '"') { quotes++; i++; }
        if (quotes == 2) { sb.Append(' ', i - start); return i; }   // ""
        bool raw = quotes >= 3;
        sb.Append(' ', i - start);
        while (i < text.Length)
        {
            char c = text[i];
            if (!raw && !verbatim && c == '\\') { sb.Append("  "); i += 2; continue; }
            if (c == '"')
            {
                if (raw)
                {
                    int n = 0;
                    while (i + n < text.Length && text[i + n] == '"') n++;
                    sb.Append(' ', n);
                    i += n;
                    if (n >= quotes) return i;
                    continue;
                }
                if (verbatim && i + 1 < text.Length && text[i + 1] == '"') { sb.Append("  "); i += 2; continue; }
                sb.Append(' ');
                return i + 1;
            }
            if (interpolated && c == '{')
            {
                if (i + 1 < text.Length && text[i + 1] == '{') { sb.Append("  "); i += 2; continue; }
                // A hole: code up to its matching brace (strings inside it are blanked in turn).
                sb.Append(' ');
                i++;
                int depth = 1;
                while (i < text.Length && depth > 0)
                {
                    char h = text[i];
                    if (h == '"' || ((h is '$' or '@') && i + 1 < text.Length && text[i + 1] == '"')) { i = SkipString(text, i, sb); continue; }
                    if (h == '{') depth++;
                    else if (h == '}' && --depth == 0) { sb.Append(' '); i++; break; }
                    sb.Append(h == '\n' ? '\n' : h);
                    i++;
                }
                continue;
            }
            sb.Append(c == '\n' ? '\n' : ' ');
            i++;
        }
        return i;
    }

    /// <summary>The C# sources of src/KataCgroups and src/KataCgroups.PowerShell (build output left out).</summary>
    internal static List<SourceFile> ReadTree(string repoRoot)
    {
        var src = System.IO.Path.Combine(repoRoot, "src");
        var files = new List<SourceFile>();
        foreach (var project in new[] { "KataCgroups", "KataCgroups.PowerShell" })
        {
            var dir = System.IO.Path.Combine(src, project);
            foreach (var file in Directory.EnumerateFiles(dir, "*.cs", SearchOption.AllDirectories))
            {
                var relative = System.IO.Path.GetRelativePath(src, file).Replace('\\', '/');
                if (relative.Contains("/bin/", StringComparison.Ordinal) || relative.Contains("/obj/", StringComparison.Ordinal)) continue;
                files.Add(new SourceFile(relative, File.ReadAllText(file)));
            }
        }
        files.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return files;
    }

    /// <summary>The checkout this test was built from: the nearest ancestor of the test binary with KataCgroups.psd1.</summary>
    internal static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "KataCgroups.psd1"))) return dir.FullName;
        throw new InvalidOperationException($"no KataCgroups.psd1 above {AppContext.BaseDirectory}");
    }
}
