using KataCgroups.Model;
using KataCgroups.Errors;
using KataCgroups.Paths;

namespace KataCgroups;

/// <summary>One path offered for a partly typed <c>-Path</c>: the text to put on the line, and what it names.</summary>
/// <param name="Text">The path as the user types it (a Kata cgroup without its <c>kata_</c> prefix; a directory with a trailing <c>/</c>).</param>
/// <param name="Name">Its last component, for the completion list.</param>
/// <param name="CgroupPath">The hierarchy-relative directory it names.</param>
/// <param name="IsKata">A Kata cgroup (resolving <see cref="Text"/> names it), not a directory to go on from.</param>
public sealed record PathCandidate(string Text, string Name, string CgroupPath, bool IsKata);

public sealed partial class CgroupManager
{
    /// <summary>
    /// The paths a partly typed <c>-Path</c> may go on to, Kata cgroups first, by the Kata path rules
    /// (<see cref="KataPath.SplitTyped"/>, <see cref="KataPath.ToRequestedPath"/>): each Kata cgroup as the path
    /// that resolves back to it, then the directories to go on from. An empty word offers every Kata cgroup of the
    /// cgroupfs hierarchies, then the root's directories. <paramref name="directoriesOnly"/> (a <c>-Root</c>) offers
    /// directories only, without the trailing <c>/</c>. Reads directories only; never throws (completion runs on
    /// every Tab), an unreadable host offers nothing.
    /// </summary>
    public IReadOnlyList<PathCandidate> CompletePath(string word, bool directoriesOnly = false)
    {
        var results = new List<PathCandidate>();
        try
        {
            if (KataPath.HasControlCharacter(word)) return results;
            if (word.Length == 0 && !directoriesOnly)
            {
                foreach (var t in Find(new[] { "/" }, DriverSelection.Cgroupfs))
                    results.Add(new PathCandidate(t.RequestedPath, CgroupPathText.Base(t.RequestedPath), t.CgroupPath, true));
                AddDirectories(results, "/", "", relative: false, directoriesOnly);
                return results;
            }
            var (parent, prefix, relative) = KataPath.SplitTyped(word);
            var kata = new List<PathCandidate>();
            foreach (var name in ChildCgroups(parent))
            {
                if (directoriesOnly || !KataPath.IsKataLeaf(name)) continue;
                var dir = CgroupPathText.Join(parent, name);
                var typed = KataPath.ToRequestedPath(dir)!;
                if (CgroupPathText.Base(typed).StartsWith(prefix, StringComparison.Ordinal) || name.StartsWith(prefix, StringComparison.Ordinal))
                    kata.Add(new PathCandidate(KataPath.AsTyped(typed, relative), CgroupPathText.Base(typed), dir, true));
            }
            results.AddRange(kata);
            AddDirectories(results, parent, prefix, relative, directoriesOnly);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CgroupException)
        {
        }
        return results;
    }

    private void AddDirectories(List<PathCandidate> results, string parent, string prefix, bool relative, bool directoriesOnly)
    {
        foreach (var name in ChildCgroups(parent))
        {
            if (!name.StartsWith(prefix, StringComparison.Ordinal)) continue;
            var dir = CgroupPathText.Join(parent, name);
            results.Add(new PathCandidate(KataPath.AsTyped(dir, relative) + (directoriesOnly ? "" : "/"), name + "/", dir, false));
        }
    }

    /// <summary>
    /// The names <see cref="GetPaths"/> gives the hierarchies of this host (<c>cpu</c>, <c>memory</c>…,
    /// <c>name=systemd</c>, <c>unified</c>), in its order; empty when no hierarchy is mounted.
    /// </summary>
    public IReadOnlyList<string> ControllerNames()
    {
        if (_fsDriver is null) return Array.Empty<string>();
        return _fsDriver.GetPaths(new CgroupTarget("/", "/", null)).Select(p => p.Controller).Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// Throws <see cref="ErrorIds.ControllerNotFound"/> for the first of <paramref name="names"/> that is not one of
    /// <see cref="ControllerNames"/> (case-insensitive, as the cmdlets match them), naming the host's.
    /// </summary>
    public void CheckControllerNames(IEnumerable<string> names)
    {
        var known = ControllerNames();
        foreach (var name in names)
        {
            if (known.Contains(name, StringComparer.OrdinalIgnoreCase)) continue;
            throw new CgroupException(ErrorIds.ControllerNotFound, CgroupErrorKind.NotFound,
                $"'{KataPath.Show(name)}' is not a controller of this host: it has {string.Join(", ", known)}", name);
        }
    }
}
