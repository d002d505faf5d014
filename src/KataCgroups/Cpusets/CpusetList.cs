using System.Globalization;
using System.Text;
using KataCgroups.Errors;

namespace KataCgroups.Cpusets;

/// <summary>
/// A cpuset list (<c>0-3,7</c>, the format of <c>cpuset.cpus</c> and <c>cpuset.mems</c>,
/// Documentation/admin-guide/cgroup-v1/cpusets.rst) as a set of numbers, for the subset checks of a cpuset update.
/// </summary>
public sealed class CpusetList
{
    private readonly SortedSet<int> _items;

    private CpusetList(SortedSet<int> items) => _items = items;

    /// <summary>The numbers.</summary>
    public IReadOnlyCollection<int> Items => _items;

    /// <summary>True when it names nothing (an empty file: a new v1 cpuset, or a v2 cgroup that inherits).</summary>
    public bool IsEmpty => _items.Count == 0;

    /// <summary>
    /// The list as the kernel reads it: cpuset_write_resmask strips leading and trailing whitespace (strstrip, the
    /// C isspace set) before parsing, so <c>" 0"</c> means <c>0</c>. Null for null or nothing left.
    /// </summary>
    public static string? Strip(string? text)
    {
        var t = text?.Trim(' ', '\t', '\n', '\v', '\f', '\r');
        return string.IsNullOrEmpty(t) ? null : t;
    }

    /// <summary>Parses; null when <paramref name="text"/> is not a cpuset list (the kernel would answer EINVAL).</summary>
    public static CpusetList? TryParse(string? text)
    {
        var set = new SortedSet<int>();
        if (string.IsNullOrWhiteSpace(text)) return new CpusetList(set);
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var range = part.Split('-');
            if (range.Length > 2 || !Num(range[0], out int from) || !Num(range[^1], out int to) || to < from || to - from > 1 << 20)
                return null;
            for (int i = from; i <= to; i++) set.Add(i);
        }
        return new CpusetList(set);

        static bool Num(string s, out int n) => int.TryParse(s.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out n);
    }

    /// <summary>Parses or throws <see cref="ErrorIds.InvalidResourceValue"/>.</summary>
    public static CpusetList Parse(string text, string name) =>
        TryParse(text) ?? throw new CgroupException(ErrorIds.InvalidResourceValue, CgroupErrorKind.InvalidArgument,
            $"invalid {name} value '{text}': expected numbers and ranges separated by commas, e.g. '0-3,6'", name);

    /// <summary>True when every number of this list is in <paramref name="other"/>.</summary>
    public bool IsSubsetOf(CpusetList other) => _items.IsSubsetOf(other._items);

    /// <summary>The numbers of this list missing from <paramref name="other"/>.</summary>
    public CpusetList Except(CpusetList other)
    {
        var s = new SortedSet<int>(_items);
        s.ExceptWith(other._items);
        return new CpusetList(s);
    }

    /// <summary>The kernel's spelling: ascending ranges, <c>0-2,5</c>; empty for nothing.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        int? start = null, prev = null;
        foreach (var n in _items)
        {
            if (prev is { } p && n == p + 1) { prev = n; continue; }
            Flush();
            start = prev = n;
        }
        Flush();
        return sb.ToString();

        void Flush()
        {
            if (start is not { } s || prev is not { } e) return;
            if (sb.Length > 0) sb.Append(',');
            sb.Append(s == e ? s.ToString(CultureInfo.InvariantCulture) : $"{s}-{e}");
        }
    }
}

/// <summary>One cpuset file of the cgroup being changed, with what constrains it.</summary>
/// <param name="File"><c>cpuset.cpus</c> or <c>cpuset.mems</c>.</param>
/// <param name="Requested">The new value.</param>
/// <param name="ParentDirectory">The directory whose value bounds it (the parent, or the nearest existing ancestor).</param>
/// <param name="ParentValue">That directory's value (v1: its <c>cpuset.cpus</c>; v2: its <c>cpuset.cpus.effective</c>).</param>
/// <param name="ParentFile">Which file of the parent <paramref name="ParentValue"/> was read from.</param>
/// <param name="Online">The host's online CPUs or memory nodes (<c>/sys/devices/system/{cpu,node}/online</c>), when known.</param>
/// <param name="Children">Children of the cgroup (v1) with their own value of the file.</param>
public sealed record CpusetBounds(string File, string Requested, string ParentDirectory, string ParentValue, string ParentFile,
    string? Online, IReadOnlyList<(string Directory, string Value)> Children);

/// <summary>
/// The cpuset rules a request must meet, checked before anything is written so the error names the cgroup that
/// constrains it (the kernel's own answer is a bare errno). v1 (kernel/cgroup/cpuset.c validate_change_legacy;
/// cgroup-v1/cpusets.rst): a cpuset must be a subset of its parent's (EACCES otherwise), its children must stay subsets
/// of it (EBUSY), and a CPU beyond the last possible one is ERANGE, a memory node that does not exist EINVAL. v2
/// (cgroup-v2.rst "Cpuset"): the kernel takes any list but grants only what the parent has in
/// <c>cpuset.cpus.effective</c> — falling back to the parent's CPUs when nothing is left — so a request outside it
/// would silently not be honoured; it is refused with the same error.
/// </summary>
public static class CpusetCheck
{
    /// <summary>Throws <see cref="ErrorIds.CpusetNotSubset"/> or <see cref="ErrorIds.CpusetBusy"/> when the request breaks a rule.</summary>
    public static void Check(CpusetBounds b)
    {
        var want = CpusetList.Parse(b.Requested, b.File);
        if (want.IsEmpty) return;
        var parent = CpusetList.TryParse(b.ParentValue);
        string what = b.File.EndsWith(".mems", StringComparison.Ordinal) ? "memory node" : "CPU";
        if (parent is not null && !parent.IsEmpty && !want.IsSubsetOf(parent))
        {
            var missing = want.Except(parent);
            string online = b.Online is { } o && CpusetList.TryParse(o) is { } on && !missing.IsSubsetOf(on)
                ? $"; {what} {missing.Except(on)} does not exist or is offline on this host (online: {o})"
                : "";
            throw new CgroupException(ErrorIds.CpusetNotSubset, CgroupErrorKind.InvalidArgument,
                $"{b.File} '{b.Requested}' is not within the parent cgroup's {what}s: {Path.Combine(b.ParentDirectory, b.ParentFile)} is '{b.ParentValue}', "
                + $"so {what} {missing} cannot be given{online}; a cpuset may only use what its parent has",
                b.File);
        }
        foreach (var (dir, value) in b.Children)
        {
            var child = CpusetList.TryParse(value);
            if (child is null || child.IsEmpty || child.IsSubsetOf(want)) continue;
            throw new CgroupException(ErrorIds.CpusetBusy, CgroupErrorKind.ResourceBusy,
                $"{b.File} cannot be set to '{b.Requested}': child cgroup {dir} uses {what} {child.Except(want)} ({b.File} '{value}'), "
                + $"and a cpuset must keep every child's {what}s; shrink the child first",
                dir);
        }
    }
}
