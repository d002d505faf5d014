using System.Collections;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace KataCgroups.PowerShell.Completion;

/// <summary>
/// Tab completion for values this host defines: <c>-Controller</c> offers the host's controllers (the names
/// Get-KataCgroupPath reports), <c>-Access</c> the device access combinations of <c>r</c>, <c>w</c> and <c>m</c>, and
/// <c>-Id</c> of Add-KataCgroupProcess the running processes, as <c>Stop-Process -Id</c> offers them (the id, listed
/// with the process name). Never throws.
/// </summary>
public sealed class HostValueCompleter : IArgumentCompleter
{
    // Every non-empty combination, in the kernel's letter order, widest first.
    private static readonly (string Value, string Tooltip)[] Access =
    {
        ("rwm", "read, write and mknod"), ("rw", "read and write"), ("rm", "read and mknod"), ("wm", "write and mknod"),
        ("r", "read"), ("w", "write"), ("m", "mknod (create the node)"),
    };

    /// <inheritdoc/>
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        try
        {
            var word = CgroupPathCompleter.Unquote(wordToComplete ?? "");
            return parameterName switch
            {
                "Controller" => CgroupManager.Default.ControllerNames()
                    .Where(c => c.StartsWith(word, StringComparison.OrdinalIgnoreCase))
                    .Select(c => new CompletionResult(CgroupPathCompleter.Quote(c), c, CompletionResultType.ParameterValue, $"the {c} hierarchy"))
                    .ToList(),
                "Access" => Access.Where(a => a.Value.StartsWith(word, StringComparison.Ordinal))
                    .Select(a => new CompletionResult(a.Value, a.Value, CompletionResultType.ParameterValue, a.Tooltip))
                    .ToList(),
                "Id" => Processes(word),
                _ => new List<CompletionResult>(),
            };
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return Array.Empty<CompletionResult>();
        }
    }

    /// <summary>Running processes whose id starts with <paramref name="word"/>, by name then id, as "1234 - qemu".</summary>
    private static List<CompletionResult> Processes(string word)
    {
        var found = new List<(string Name, int Id)>();
        foreach (var p in System.Diagnostics.Process.GetProcesses())
        {
            using (p)
            {
                var id = p.Id.ToString(CultureInfo.InvariantCulture);
                if (!id.StartsWith(word, StringComparison.Ordinal)) continue;
                string name;
                try { name = p.ProcessName; }
                catch (InvalidOperationException) { continue; }   // exited meanwhile
                found.Add((name, p.Id));
            }
        }
        return found.OrderBy(f => f.Name, StringComparer.OrdinalIgnoreCase).ThenBy(f => f.Id)
            .Select(f =>
            {
                var id = f.Id.ToString(CultureInfo.InvariantCulture);
                return new CompletionResult(id, $"{id} - {f.Name}", CompletionResultType.ParameterValue, $"{id} - {f.Name}");
            })
            .ToList();
    }
}
