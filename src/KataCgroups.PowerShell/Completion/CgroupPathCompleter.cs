using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using KataCgroups.Model;
using KataCgroups.Paths;

namespace KataCgroups.PowerShell.Completion;

/// <summary>
/// Tab completion for <c>-Path</c> (and <c>-Root</c>): existing cgroups, Kata ones first; an empty word offers every
/// Kata cgroup on the host. A Kata cgroup completes to
/// the path a user types for it (<c>/kubepods/pod1/sandbox1</c> for the directory <c>kata_sandbox1</c>), so the
/// completed text resolves back to the same cgroup; other directories complete with a trailing <c>/</c> to go on
/// from. Relative paths (under <c>/vc</c>) and, on systemd hosts, our scopes in <c>slice:prefix:name</c> form
/// complete too. Completers run on every Tab: this one reads one directory listing (or asks systemd once, with a
/// short timeout) and never throws.
/// </summary>
public sealed class CgroupPathCompleter : IArgumentCompleter
{
    private static readonly TimeSpan SystemdTimeout = TimeSpan.FromSeconds(1);

    /// <inheritdoc/>
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        try { return Complete(Unquote(wordToComplete ?? ""), directoriesOnly: parameterName == "Root"); }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A completer that throws breaks the user's Tab; an empty list only means "nothing to offer".
            return Array.Empty<CompletionResult>();
        }
    }

    private static List<CompletionResult> Complete(string word, bool directoriesOnly)
    {
        var manager = CgroupManager.Default;
        var results = new List<CompletionResult>();
        if (!directoriesOnly && word.Contains(':'))
        {
            AddSystemdScopes(manager, word, results);
            return results;
        }
        // The engine reads the word with the Kata path rules (relative under /vc, kata_ leaves as the path typed).
        foreach (var c in manager.CompletePath(word, directoriesOnly))
            results.Add(Result(c.Text, c.Name, c.IsKata ? $"Kata cgroup {c.CgroupPath}" : $"cgroup directory {c.CgroupPath}"));
        if (!directoriesOnly && word.Length == 0) AddSystemdScopes(manager, word, results);
        return results;
    }

    /// <summary>Our systemd scopes, when systemd is the init system; a slow or absent systemd adds nothing.</summary>
    private static void AddSystemdScopes(CgroupManager manager, string word, List<CompletionResult> results)
    {
        if (!manager.Host.SystemdBooted) return;
        var find = Task.Run(() => manager.Find(Array.Empty<string>(), DriverSelection.Systemd));
        if (!find.Wait(SystemdTimeout)) return;
        foreach (var t in find.Result)
            if (t.RequestedPath.StartsWith(word, StringComparison.Ordinal))
                results.Add(Result(t.RequestedPath, t.RequestedPath, $"systemd scope {t.Systemd?.UnitName} ({t.CgroupPath})"));
    }

    private static CompletionResult Result(string text, string listItem, string tooltip) =>
        new(Quote(text), listItem, CompletionResultType.ParameterValue, tooltip);

    /// <summary>Single-quotes text PowerShell would otherwise split or expand.</summary>
    internal static string Quote(string text) =>
        text.Length > 0 && text.All(c => char.IsLetterOrDigit(c) || c is '/' or '.' or '_' or '-' or ':' or '+' or '=')
            ? text
            : "'" + text.Replace("'", "''") + "'";

    internal static string Unquote(string word) =>
        word.Length >= 1 && word[0] is '\'' or '"' ? word.Trim(word[0]) : word;
}
