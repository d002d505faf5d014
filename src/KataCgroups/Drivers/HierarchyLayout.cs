using System.Collections.Immutable;
using KataCgroups.Errors;
using KataCgroups.Host;
using KataCgroups.Model;
using KataCgroups.Paths;

namespace KataCgroups.Drivers;

/// <summary>
/// Where a cgroup lives on a v1 or hybrid host: one directory per mounted hierarchy — every v1 controller runc
/// manages, the <c>name=systemd</c> tracking hierarchy, and on hybrid hosts the cgroup2 <c>unified</c> tree — in
/// runc's creation order (opencontainers/cgroups fs/fs.go). The multi-hierarchy operations the v1 driver and the
/// systemd driver (for the hierarchies systemd does not manage, as runc's systemd/v1.go joinCgroups does) both need
/// live here, so neither driver reaches into the other.
/// </summary>
internal sealed class HierarchyLayout
{
    /// <summary>runc's subsystem order (fs/fs.go <c>subsystems</c>): creation, writes and joins follow it.</summary>
    internal static readonly IReadOnlyList<string> SubsystemOrder = new[]
    {
        "cpuset", "devices", "memory", "cpu", "cpuacct", "pids", "blkio", "hugetlb", "net_cls", "net_prio",
        "perf_event", "freezer", "rdma", "misc", "name=systemd",
    };

    private readonly Hierarchy[] _all;                                  // distinct, in creation order
    private readonly (string Controller, Hierarchy H)[] _rows;          // one per controller, for paths
    private readonly int[] _rowIndex;                                   // _rows[i]'s hierarchy, into _all
    private readonly Dictionary<string, Hierarchy> _byController = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _indexByController = new(StringComparer.Ordinal); // into _all

    /// <summary>
    /// The layout of a probed host's v1 hierarchies (and the hybrid unified tree), read and written through
    /// <paramref name="fs"/> (not owned: the driver's caller disposes it).
    /// </summary>
    internal HierarchyLayout(HostInfo host, CgroupFs fs)
    {
        Fs = fs;
        var all = new List<Hierarchy>();
        var rows = new List<(string, Hierarchy)>();
        foreach (var name in SubsystemOrder)
        {
            if (!host.ByController.TryGetValue(name, out var h)) continue;
            _byController[name] = h;
            rows.Add((name, h));
            if (!all.Contains(h)) all.Add(h);
        }
        if (host.Mode == CgroupMode.Hybrid && host.Unified is { } u)
        {
            rows.Add(("unified", u));
            all.Add(u);
        }
        _all = all.ToArray();
        _rows = rows.ToArray();
        Controllers = new HashSet<string>(_byController.Keys, StringComparer.Ordinal);
        foreach (var (name, h) in _byController) _indexByController[name] = IndexOf(h);
        _rowIndex = _rows.Select(r => IndexOf(r.H)).ToArray();
    }

    /// <summary>The cgroupfs primitives beneath the host's hierarchies.</summary>
    internal CgroupFs Fs { get; }

    /// <summary>The hierarchies, distinct, in creation order; the first one is made first and removed last.</summary>
    internal Hierarchy[] All => _all;

    /// <summary>The v1 controllers mounted on this host.</summary>
    internal IReadOnlySet<string> Controllers { get; }

    /// <summary>How many (controller, hierarchy) rows a cgroup's paths have: one per controller, plus the unified tree.</summary>
    internal int RowCount => _rows.Length;

    /// <summary>Row <paramref name="row"/>: its controller, its hierarchy, and that hierarchy's index into <see cref="All"/>.</summary>
    internal (string Controller, Hierarchy H, int Index) Row(int row) => (_rows[row].Controller, _rows[row].H, _rowIndex[row]);

    /// <summary>The hierarchy <paramref name="controller"/> is mounted in (one this layout has).</summary>
    internal Hierarchy this[string controller] => _byController[controller];

    /// <summary>The hierarchy a controller is mounted in.</summary>
    internal bool TryGet(string controller, out Hierarchy h) => _byController.TryGetValue(controller, out h!);

    /// <summary>The index into <see cref="All"/> of the hierarchy a controller is mounted in.</summary>
    internal bool TryGetIndex(string controller, out int index) => _indexByController.TryGetValue(controller, out index);

    /// <summary>The index of <paramref name="h"/> into <see cref="All"/>, or -1.</summary>
    internal int IndexOf(Hierarchy h) => Array.FindIndex(_all, x => ReferenceEquals(x, h));

    /// <summary>
    /// True when every hierarchy is mounted from its root, so the paths of <c>/proc/&lt;pid&gt;/cgroup</c> are paths
    /// of this layout (a hierarchy mounted from a subtree shows paths relative to another root).
    /// </summary>
    internal bool MountedFromRoots
    {
        get
        {
            if (_all.Length == 0) return false;
            foreach (var h in _all) if (h.Root != "/") return false;
            return true;
        }
    }

    /// <summary>True when the cgroup's directory exists in every hierarchy (not half-made), or in every one <paramref name="only"/> picks.</summary>
    internal bool ExistsEverywhere(string cgroupPath, Func<Hierarchy, bool>? only = null)
    {
        foreach (var h in _all)
            if ((only is null || only(h)) && !Fs.DirectoryExists(h.DirectoryOf(cgroupPath))) return false;
        return true;
    }

    /// <summary>True when the cgroup's directory exists in some hierarchy: one stat in the usual case (the first).</summary>
    internal bool ExistsAnywhere(string cgroupPath)
    {
        foreach (var h in _all)
            if (Fs.DirectoryExists(h.DirectoryOf(cgroupPath))) return true;
        return false;
    }

    /// <summary>
    /// Makes the cgroup's directory and its ancestors in every hierarchy where they are missing (a new cpuset level
    /// inherits its parent's cpus and mems), or in those <paramref name="only"/> picks, and adds each one made to
    /// <paramref name="created"/>. <paramref name="afterFirst"/> runs once the first hierarchy's directory is there,
    /// before any other is made.
    /// </summary>
    internal void MakeDirectories(CgroupTarget target, List<string> created, ICgroupLog log, Func<Hierarchy, bool>? only = null,
        bool exclusive = false, Action? afterFirst = null)
    {
        bool first = true;
        foreach (var h in _all)
        {
            if (only is not null && !only(h)) continue;
            bool cpuset = h.Controllers.Contains("cpuset");
            if (!CgroupTree.MakeLevels(Fs, h.DirectoryOf, target.CgroupPath, created, log,
                    cpuset ? (dir, parent, made) => InitCpuset(dir, parent, made, log) : null, exclusive))
                throw CgroupErrors.AlreadyExists(target.CgroupPath, target.RequestedPath);
            if (first && ReferenceEquals(h, _all[0])) afterFirst?.Invoke();
            first = false;
        }
    }

    private static readonly ImmutableArray<string> CpusetFiles = ImmutableArray.Create("cpuset.cpus", "cpuset.mems");

    /// <summary>
    /// A new v1 cpuset cgroup has empty cpus/mems and refuses tasks (ENOSPC) until they are set: copy the
    /// parent's values top-down, as runc's cpuset ensureParent/copyIfNeeded does.
    /// </summary>
    private void InitCpuset(string dir, string parent, bool made, ICgroupLog log)
    {
        foreach (var file in CpusetFiles)
        {
            // A directory this call just made is empty by definition; an existing one is left alone when set.
            if (!made && !string.IsNullOrEmpty(Fs.TryReadValue(Path.Combine(dir, file)))) continue;
            var inherited = Fs.TryReadValue(Path.Combine(parent, file));
            if (!string.IsNullOrEmpty(inherited)) Fs.Write(Path.Combine(dir, file), inherited, log);
        }
    }

    /// <summary>Writes each pid to cgroup.procs in every hierarchy (or those <paramref name="only"/> picks).</summary>
    internal List<ProcessOutcome> MoveIn(CgroupTarget target, IReadOnlyList<int> pids, ICgroupLog log, Func<Hierarchy, bool>? only)
    {
        var outcomes = new List<ProcessOutcome>(pids.Count);
        using var progress = new CgroupTree.CountedProgress(log, "Adding processes", target.CgroupPath, pids.Count);
        foreach (var pid in pids)
        {
            progress.Step(outcomes.Count);
            ProcessOutcome outcome = new(pid, true);
            foreach (var h in _all)
            {
                if (only is not null && !only(h)) continue;
                var dir = h.DirectoryOf(target.CgroupPath);
                int errno = Fs.TryAddProcess(dir, pid, log);
                if (errno == 0) continue;
                outcome = CgroupTree.AddOutcome(Fs, pid, errno, dir);
                break;
            }
            outcomes.Add(outcome);
        }
        return outcomes;
    }

    /// <summary>
    /// The union of cgroup.procs over every hierarchy, sorted: every add writes each pid to every hierarchy, but a
    /// half-made cgroup, a crash in the middle of an add, or another tool can leave a process in one hierarchy only.
    /// </summary>
    internal List<int> Processes(string cgroupPath)
    {
        var all = new HashSet<int>();
        foreach (var h in _all)
            if (Fs.TryReadProcs(h.DirectoryOf(cgroupPath)) is { } pids) all.UnionWith(pids);
        var list = all.ToList();
        list.Sort();
        return list;
    }
}
