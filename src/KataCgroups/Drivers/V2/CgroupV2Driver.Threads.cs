using KataCgroups.Errors;
using KataCgroups.Model;
using KataCgroups.Interop;
using KataCgroups.Paths;

namespace KataCgroups.Drivers.V2;

/// <summary>
/// Threads on v2 (cgroup-v2.rst "Threads"): a domain cgroup holds whole processes — every thread of a process is in
/// the same domain cgroup, and writing any thread id to <c>cgroup.procs</c> moves its whole thread group. Only inside
/// a threaded subtree (<c>cgroup.type</c> <c>threaded</c>, which supports only the threaded controllers: cpu, cpuset,
/// perf_event, pids) can a thread sit apart from its process, through <c>cgroup.threads</c>. So a thread id given for
/// a threaded cgroup is placed alone; for a domain cgroup — every cgroup this module creates — it moves its whole
/// process, which is what Kata's AddThread does on v2 (cgroupsv2 AddProc) and is reported as
/// <see cref="ThreadPlacement.WholeProcess"/>, never silently.
/// </summary>
public sealed partial class CgroupV2Driver
{
    private bool Threaded(string dir) => Fs.TryReadValue(Path.Combine(dir, "cgroup.type")) == "threaded";

    /// <inheritdoc/>
    public IReadOnlyList<ThreadOutcome> AddThreads(CgroupTarget target, IReadOnlyList<int> tids, ICgroupLog log)
    {
        if (!Exists(target)) throw CgroupErrors.NotFound(target.CgroupPath, target.RequestedPath);
        var dir = Dir(target);
        bool threaded = Threaded(dir);
        var outcomes = new List<ThreadOutcome>(tids.Count);
        foreach (var tid in tids)
        {
            int tgid = TaskMoves.ProcessOf(Host.Options.ProcRoot, tid);
            if (tgid == 0)
            {
                outcomes.Add(TaskMoves.Gone(tid));
                continue;
            }
            var file = threaded ? "cgroup.threads" : "cgroup.procs";
            outcomes.Add(TaskMoves.ThreadWritten(tid, tgid, dir, file, Fs.TryAddId(dir, file, tid, log),
                threaded ? ThreadPlacement.Thread : ThreadPlacement.WholeProcess));
        }
        return outcomes;
    }

    /// <inheritdoc/>
    public MovePass MoveOnce(CgroupTarget from, CgroupTarget to, ICgroupLog log)
    {
        var pass = new TaskMoves.PassBuilder(Fs, log);
        var toDir = Dir(to);
        bool toThreaded = Threaded(toDir);
        foreach (var dir in CgroupTree.PostOrder(Dir(from)))
        {
            if (Threaded(dir))
            {
                // A threaded cgroup lists threads, not processes (reading its cgroup.procs fails with EOPNOTSUPP). Into
                // a threaded destination each goes alone; into a domain one a thread id takes its whole process.
                var tids = Fs.TryReadIds(dir, "cgroup.threads") ?? new List<int>();
                pass.Found += tids.Count;
                foreach (var tid in tids)
                    pass.Write(dir, toDir, toThreaded ? "cgroup.threads" : "cgroup.procs", tid, alone: toThreaded,
                        toThreaded ? tid : TaskMoves.ProcessOf(Host.Options.ProcRoot, tid) is int p and > 0 ? p : tid);
                continue;
            }
            var procs = Fs.ReadProcs(dir);
            pass.Found += procs.Count;
            foreach (var pid in procs) pass.Write(dir, toDir, "cgroup.procs", pid, alone: false);
        }
        return pass.ToPass();
    }

    /// <summary>
    /// The processes with a task in the directory (not below it): its <c>cgroup.procs</c>, or for a threaded cgroup,
    /// whose <c>cgroup.procs</c> cannot be read, the processes of the threads it lists — as v1's <c>cgroup.procs</c>
    /// lists a process when any of its threads is there. Unsorted; a thread gone meanwhile is left out.
    /// </summary>
    private List<int> ProcessesIn(string dir)
    {
        var (ids, file) = Fs.ReadTasksToMove(dir);
        if (file == "cgroup.procs") return ids;
        return ids.Select(tid => TaskMoves.ProcessOf(Host.Options.ProcRoot, tid)).Where(p => p > 0).Distinct().ToList();
    }

    /// <summary>
    /// A read's processes and lone threads: a domain cgroup's <c>cgroup.procs</c> (no lone threads: its threads are all
    /// with their process); a threaded cgroup lists threads only, so its processes are those whose leader is among
    /// them and the rest are threads placed alone.
    /// </summary>
    private (IReadOnlyList<int> Pids, IReadOnlyList<int> Threads) Membership(string dir)
    {
        if (!Threaded(dir))
        {
            var procs = Fs.ReadProcs(dir);
            procs.Sort();
            return (procs, Array.Empty<int>());
        }
        var pids = new List<int>();
        var threads = new List<int>();
        foreach (var tid in Fs.TryReadIds(dir, "cgroup.threads") ?? new List<int>())
            (TaskMoves.ProcessOf(Host.Options.ProcRoot, tid) == tid ? pids : threads).Add(tid);
        var threadsOfLeaders = new HashSet<int>(pids.SelectMany(p => TaskMoves.ThreadsOf(Host.Options.ProcRoot, p) ?? new List<int>()));
        return (TaskMoves.Sorted(pids), TaskMoves.Sorted(threads.Where(t => !threadsOfLeaders.Contains(t))));
    }

    /// <inheritdoc/>
    public IReadOnlyList<int> GetTasks(CgroupTarget target)
    {
        var all = new HashSet<int>();
        foreach (var dir in CgroupTree.PostOrder(Dir(target)))
            all.UnionWith(Fs.TryReadIds(dir, "cgroup.threads") ?? new List<int>());
        return TaskMoves.Sorted(all);
    }
}
