using KataCgroups.Model;
using System.Globalization;
using System.Text;
using KataCgroups.Errors;
using KataCgroups.Interop;

namespace KataCgroups.Drivers;

/// <summary>
/// Threads and the moves of tasks every cgroupfs driver shares: which threads a process has (/proc/&lt;pid&gt;/task),
/// which process a thread belongs to, and how one cgroup directory's tasks are split into whole processes and single
/// threads for a move.
/// </summary>
internal static class TaskMoves
{
    /// <summary>
    /// The threads of a process: the entries of <c>/proc/&lt;pid&gt;/task</c> (proc(5)), sorted; null when the process is
    /// gone. A zombie leader of a process whose other threads still run is listed too.
    /// </summary>
    internal static List<int>? ThreadsOf(string procRoot, int pid)
    {
        List<int> tids = new();
        try
        {
            foreach (var dir in Directory.EnumerateDirectories(Path.Combine(procRoot, pid.ToString(CultureInfo.InvariantCulture), "task")))
                if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int tid)) tids.Add(tid);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }   // exited
        tids.Sort();
        return tids;
    }

    /// <summary>
    /// Whether a process has exactly one thread, from one statx of <c>/proc/&lt;pid&gt;/task</c> rather than a listing:
    /// procfs gives that directory a link count of two plus the process's threads (fs/proc/base.c, proc_task_getattr),
    /// as any directory counts its subdirectories. False when the process is gone or has more threads.
    /// </summary>
    internal static bool IsSingleThreaded(string procRoot, int pid)
    {
        var path = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{procRoot}/{pid}/task\0"));
        return Libc.TryStatxAt(Libc.AT_FDCWD, path, Libc.STATX_NLINK, out var st) && (st.Mask & Libc.STATX_NLINK) != 0 && st.NLink == 3;
    }

    /// <summary>
    /// Which processes of one read have a single thread (<see cref="IsSingleThreaded"/>), each asked once however many
    /// hierarchies list it. Such a process is whole wherever v1's <c>cgroup.procs</c> lists it — its one thread is its
    /// leader — so a hierarchy that lists only such processes needs no <c>tasks</c> read to tell processes from threads.
    /// </summary>
    internal sealed class SingleThreaded
    {
        private readonly string _procRoot;
        private readonly Dictionary<int, bool> _known = new();

        internal SingleThreaded(string procRoot) => _procRoot = procRoot;

        /// <summary>True when every process of <paramref name="pids"/> has one thread.</summary>
        internal bool All(List<int> pids)
        {
            foreach (var pid in pids)
            {
                if (!_known.TryGetValue(pid, out bool one)) _known[pid] = one = IsSingleThreaded(_procRoot, pid);
                if (!one) return false;
            }
            return true;
        }
    }

    /// <summary>
    /// The process (thread group) a thread id belongs to: the <c>Tgid:</c> line of <c>/proc/&lt;tid&gt;/status</c> — a
    /// thread's /proc entry is reachable by its id although /proc does not list it (proc(5)). 0 when it is gone.
    /// </summary>
    internal static int ProcessOf(string procRoot, int tid)
    {
        var status = CgroupFs.TryReadSystemFile(Path.Combine(procRoot, tid.ToString(CultureInfo.InvariantCulture), "status"));
        if (status is null) return 0;
        foreach (var line in status.AsSpan().EnumerateLines())
        {
            if (!line.StartsWith("Tgid:")) continue;
            return int.TryParse(line["Tgid:".Length..].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int tgid) ? tgid : 0;
        }
        return 0;
    }

    /// <summary>
    /// Splits one directory's tasks for a move. <paramref name="procs"/> are the processes its <c>cgroup.procs</c> lists
    /// (v1 lists a process when any of its threads is there), <paramref name="tasks"/> the threads its <c>tasks</c> lists.
    /// A process every thread of which is there moves whole (a <c>cgroup.procs</c> write takes the thread group at once,
    /// threads being created included: cgroup_procs_write holds the threadgroup lock); the threads of any other process
    /// move one by one (<c>tasks</c>), so a process split between cgroups — vCPU threads placed alone — stays split.
    /// <paramref name="threadsOf"/> answers a process's threads (null: it is gone). A task in neither answer (a thread
    /// created after the listing) is a single thread.
    /// </summary>
    internal static (List<int> Whole, List<int> Alone) Split(IReadOnlyList<int> procs, IReadOnlyCollection<int> tasks,
        Func<int, IReadOnlyList<int>?> threadsOf)
    {
        var here = tasks as IReadOnlySet<int> ?? new HashSet<int>(tasks);
        var whole = new List<int>();
        var covered = new HashSet<int>();
        foreach (var pid in procs)
        {
            if (!here.Contains(pid)) continue;   // its leader is elsewhere (or a zombie): its threads go alone
            var threads = threadsOf(pid);
            if (threads is null) continue;       // gone: its tasks, if still listed, go alone and vanish
            bool all = true;
            foreach (var t in threads)
                if (!here.Contains(t)) { all = false; break; }
            if (!all) continue;
            whole.Add(pid);
            covered.UnionWith(threads);
        }
        var alone = tasks.Where(t => !covered.Contains(t)).OrderBy(t => t).ToList();
        return (whole, alone);
    }

    /// <summary>
    /// True for the id a cgroup v2 list file gives a task of another PID namespace, one this process cannot see: 0
    /// (kernel/cgroup/cgroup.c cgroup_procs_show prints task_pid_vnr, which is 0 for such a task; v1's files leave
    /// those tasks out). Such an id is never written nor signalled: 0 written to <c>cgroup.procs</c> moves the writer
    /// itself, and kill(2) with pid 0 signals the caller's whole process group. Nothing in this namespace can name the
    /// task, so it stays where it is.
    /// </summary>
    internal static bool OutOfReach(int id) => id == 0;

    /// <summary>
    /// Where a task of a move failed: ESRCH is a task that exited between the listing and the write (not an error);
    /// anything else fails the move naming the task and both directories.
    /// </summary>
    internal static bool Vanished(int errno, int id, string from, string to, string file)
    {
        if (errno == 0) return false;
        if (errno == Errno.ESRCH) return true;
        throw new CgroupException(ErrorIds.ProcessMoveFailed, CgroupErrorKind.WriteFailed,
            $"could not move {(file == "cgroup.procs" ? "process" : "thread")} {id} from {from} to {to} ({file}): {Errno.Describe(errno)}" +
            (errno == Errno.EBUSY && file == "cgroup.procs"
                ? "; the destination has controllers enabled for its children, and cgroup v2 lets only a cgroup without them hold processes"
                : errno == Errno.EOPNOTSUPP ? "; cgroup v2 moves a single thread only within the threaded subtree of its process" : ""),
            from, errno);
    }

    /// <summary>A thread that is not there to move (an outcome, not an error).</summary>
    internal static ThreadOutcome Gone(int tid, int tgid = 0) => tgid == 0
        ? new ThreadOutcome(tid, 0, ThreadPlacement.None, $"thread {tid} does not exist (or exited during the move)", Vanished: true)
        : new ThreadOutcome(tid, tgid, ThreadPlacement.None, $"thread {tid} of process {tgid} exited during the move", Vanished: true);

    /// <summary>The outcome of one thread write: placed as <paramref name="placed"/>, gone, or failed naming the file.</summary>
    internal static ThreadOutcome ThreadWritten(int tid, int tgid, string dir, string file, int errno, ThreadPlacement placed) => errno switch
    {
        0 => new ThreadOutcome(tid, tgid, placed),
        Errno.ESRCH => Gone(tid, tgid),
        _ => new ThreadOutcome(tid, tgid, ThreadPlacement.None, $"failed to move thread {tid} of process {tgid} into {dir} ({file}): {Errno.Describe(errno)}" +
            (errno == Errno.EOPNOTSUPP ? "; cgroup v2 moves a single thread only within the threaded subtree its process is in" : "")),
    };

    /// <summary>
    /// Collects one pass of a move: each write (<see cref="Write"/>) is recorded as a whole process, a single thread or
    /// a task that vanished; any other failure throws (<see cref="Vanished"/>).
    /// </summary>
    internal sealed class PassBuilder
    {
        private readonly List<int> _whole = new(), _alone = new(), _vanished = new();
        private readonly CgroupFs _fs;
        private readonly ICgroupLog _log;

        internal PassBuilder(CgroupFs fs, ICgroupLog log)
        {
            _fs = fs;
            _log = log;
        }

        /// <summary>Tasks listed in the source so far.</summary>
        internal int Found { get; set; }

        /// <summary>Tasks listed that belong to another PID namespace (<see cref="OutOfReach"/>), not written.</summary>
        private int _outOfReach;

        /// <summary>
        /// Writes <paramref name="id"/> to <paramref name="file"/> of <paramref name="toDir"/>; <paramref name="reported"/>
        /// is the id to report. An id out of reach is counted, not written.
        /// </summary>
        internal void Write(string fromDir, string toDir, string file, int id, bool alone, int? reported = null)
        {
            if (OutOfReach(id)) { _outOfReach++; return; }
            int errno = _fs.TryAddId(toDir, file, id, _log);
            (TaskMoves.Vanished(errno, id, fromDir, toDir, file) ? _vanished : alone ? _alone : _whole).Add(reported ?? id);
        }

        internal MovePass ToPass() => new(Found, Sorted(_whole), Sorted(_alone), Sorted(_vanished), _outOfReach);
    }

    /// <summary>Sorted, without duplicates.</summary>
    internal static List<int> Sorted(IEnumerable<int> ids)
    {
        var list = ids.Distinct().ToList();
        list.Sort();
        return list;
    }
}
