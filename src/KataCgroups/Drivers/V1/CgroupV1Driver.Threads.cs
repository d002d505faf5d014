using KataCgroups.Errors;
using KataCgroups.Model;
using KataCgroups.Host;
using KataCgroups.Interop;
using KataCgroups.Paths;

namespace KataCgroups.Drivers.V1;

/// <summary>
/// Threads on v1: a thread joins a cgroup alone through the hierarchy's <c>tasks</c> file (cgroup-v1 cgroups.rst:
/// "writing a thread ID into the tasks file moves that thread"), which is what Kata's AddThread does (containerd
/// cgroups v1 AddTask) to put a VMM's vCPU threads in the sandbox cgroup while the rest of the VMM stays elsewhere.
/// The cgroup2 tree of a hybrid host is left alone for threads: there a domain cgroup holds whole processes
/// (cgroup-v2.rst "Threads"), and Kata's v1 manager does not use it either.
/// </summary>
public sealed partial class CgroupV1Driver
{
    /// <inheritdoc/>
    public IReadOnlyList<ThreadOutcome> AddThreads(CgroupTarget target, IReadOnlyList<int> tids, ICgroupLog log)
    {
        if (!Exists(target)) throw CgroupErrors.NotFound(target.CgroupPath, target.RequestedPath);
        var outcomes = new List<ThreadOutcome>(tids.Count);
        using var progress = new CgroupTree.CountedProgress(log, "Adding threads", target.CgroupPath, tids.Count);
        foreach (var tid in tids)
        {
            progress.Step(outcomes.Count);
            int tgid = TaskMoves.ProcessOf(Host.Options.ProcRoot, tid);
            if (tgid == 0)
            {
                outcomes.Add(TaskMoves.Gone(tid));
                continue;
            }
            var outcome = new ThreadOutcome(tid, tgid, ThreadPlacement.Thread);
            foreach (var h in _layout.All)
            {
                if (h.IsUnified) continue;
                var dir = h.DirectoryOf(target.CgroupPath);
                int errno = Fs.TryAddId(dir, "tasks", tid, log);
                if (errno == 0) continue;
                outcome = TaskMoves.ThreadWritten(tid, tgid, dir, "tasks", errno, ThreadPlacement.Thread);
                break;
            }
            outcomes.Add(outcome);
        }
        return outcomes;
    }

    /// <inheritdoc/>
    public MovePass MoveOnce(CgroupTarget from, CgroupTarget to, ICgroupLog log)
    {
        var pass = new TaskMoves.PassBuilder(Fs, log);
        var threadsOf = new Dictionary<int, List<int>?>();   // asked once per process and pass, not once per hierarchy
        IReadOnlyList<int>? ThreadsOf(int pid) =>
            threadsOf.TryGetValue(pid, out var t) ? t : threadsOf[pid] = TaskMoves.ThreadsOf(Host.Options.ProcRoot, pid);
        foreach (var h in _layout.All)
        {
            var toDir = h.DirectoryOf(to.CgroupPath);
            foreach (var dir in CgroupTree.PostOrder(h.DirectoryOf(from.CgroupPath)))
            {
                var procs = Fs.ReadProcs(dir);
                if (h.IsUnified)
                {
                    // cgroup2 of a hybrid host: processes only.
                    pass.Found += procs.Count;
                    foreach (var pid in procs) pass.Write(dir, toDir, "cgroup.procs", pid, alone: false);
                    continue;
                }
                var tasks = Fs.TryReadIds(dir, "tasks") ?? new List<int>();
                pass.Found += tasks.Count;
                if (tasks.Count == 0) continue;
                var (whole, alone) = TaskMoves.Split(procs, new HashSet<int>(tasks), ThreadsOf);
                foreach (var pid in whole) pass.Write(dir, toDir, "cgroup.procs", pid, alone: false);
                foreach (var tid in alone) pass.Write(dir, toDir, "tasks", tid, alone: true);
            }
        }
        return pass.ToPass();
    }

    /// <inheritdoc/>
    public IReadOnlyList<int> GetTasks(CgroupTarget target)
    {
        var all = new HashSet<int>();
        foreach (var h in _layout.All)
            foreach (var dir in CgroupTree.PostOrder(h.DirectoryOf(target.CgroupPath)))
                all.UnionWith(Fs.TryReadIds(dir, h.IsUnified ? "cgroup.procs" : "tasks") ?? new List<int>());
        return TaskMoves.Sorted(all);
    }

    /// <summary>
    /// One hierarchy's share of a read: the processes <c>cgroup.procs</c> lists go to <paramref name="pids"/>, except a
    /// process that is listed only because some of its threads are here (v1 lists the process of every task) while
    /// its leader is elsewhere: its threads that are here go to <paramref name="threads"/> instead. Only a hierarchy
    /// listing a process with more than one thread (<paramref name="single"/>, a stat per process and read) costs the
    /// extra <c>tasks</c> read, and only a process whose leader is missing from it a look at /proc (its leader may be
    /// a zombie, which <c>tasks</c> no longer lists: then it counts as here).
    /// </summary>
    private void PlaceThreads(Hierarchy h, string dir, string cgroupPath, List<int> procs, HashSet<int> pids, ref HashSet<int>? threads,
        ref TaskMoves.SingleThreaded? single)
    {
        if (procs.Count == 0 || h.IsUnified || (single ??= new(Host.Options.ProcRoot)).All(procs)
            || Fs.TryReadIds(dir, "tasks") is not { } tasks)
        {
            pids.UnionWith(procs);
            return;
        }
        var here = new HashSet<int>(tasks);
        foreach (var pid in procs)
        {
            if (here.Contains(pid) || LeaderIsIn(pid, h, cgroupPath))
            {
                pids.Add(pid);
                continue;
            }
            foreach (var tid in TaskMoves.ThreadsOf(Host.Options.ProcRoot, pid) ?? new List<int>())
                if (here.Contains(tid)) (threads ??= new()).Add(tid);
        }
    }

    /// <summary>Whether /proc/&lt;pid&gt;/cgroup (the leader's) names <paramref name="cgroupPath"/> in <paramref name="h"/>.</summary>
    private bool LeaderIsIn(int pid, Hierarchy h, string cgroupPath)
    {
        var text = CgroupFs.TryReadSystemFile(Path.Combine(Host.Options.ProcRoot, pid.ToString(System.Globalization.CultureInfo.InvariantCulture), "cgroup"));
        if (text is null) return false;
        foreach (var line in text.AsSpan().EnumerateLines())
            if (ReferenceEquals(HierarchyOfLine(line, out var path), h) && path.SequenceEqual(cgroupPath)) return true;
        return false;
    }
}
