using KataCgroups.Errors;
using KataCgroups.Interop;
using KataCgroups.Model;
using KataCgroups.Paths;

namespace KataCgroups.Drivers;

/// <summary>Directory-tree helpers every cgroupfs driver uses: levels, post-order walks, the Kata search, errors.</summary>
internal static class CgroupTree
{
    /// <summary>"/a/b/c" → "/a", "/a/b", "/a/b/c" (the directories to create, top-down).</summary>
    internal static IEnumerable<string> Levels(string cgroupPath)
    {
        int i = 0;
        while ((i = cgroupPath.IndexOf('/', i + 1)) > 0) yield return cgroupPath[..i];
        if (cgroupPath != "/") yield return cgroupPath;
    }

    /// <summary>
    /// Makes the directory of <paramref name="cgroupPath"/> in one hierarchy (<paramref name="dirOf"/> maps a cgroup path
    /// to its directory there) and records each directory made in <paramref name="created"/>. The common case — the
    /// parent exists, the leaf does not — costs one mkdir; otherwise every level is made top-down, as mkdir -p.
    /// <paramref name="onLevel"/> runs for each level top-down with (directory, parent directory, made by this call).
    /// <paramref name="exclusive"/> (Create): a leaf that is already there is not ours — return false at once,
    /// before <paramref name="onLevel"/> could touch it; ancestors made on the way are in <paramref name="created"/>.
    /// </summary>
    internal static bool MakeLevels(CgroupFs fs, Func<string, string> dirOf, string cgroupPath, List<string> created, ICgroupLog log,
        Action<string, string, bool>? onLevel = null, bool exclusive = false)
    {
        var leaf = dirOf(cgroupPath);
        int errno = fs.TryMkdir(leaf, log);
        if (errno == 0)
        {
            created.Add(leaf);
            onLevel?.Invoke(leaf, dirOf(CgroupPathText.Dir(cgroupPath)), true);
            return true;
        }
        if (errno == Errno.EEXIST && exclusive) return false;
        if (errno is not (Errno.ENOENT or Errno.EEXIST)) throw CgroupFs.MkdirFailed(leaf, errno);
        foreach (var level in Levels(cgroupPath))
        {
            var dir = dirOf(level);
            bool made = fs.Mkdir(dir, log);
            if (made) created.Add(dir);
            else if (exclusive && level.Length == cgroupPath.Length) return false;
            if (made && level.Length != cgroupPath.Length) ParentMark.Set(fs, dir, log);   // for -RemoveEmptyParent
            onLevel?.Invoke(dir, dirOf(CgroupPathText.Dir(level)), made);
        }
        return true;
    }

    /// <summary>
    /// Moves the processes of <paramref name="dir"/> and its descendants to <paramref name="parentDir"/>, then removes
    /// the directories, children first. One walk and one cgroup.procs read per directory in the common case: a
    /// directory whose rmdir says EBUSY because processes appeared meanwhile (a fork during the move) gets them moved
    /// and is tried again; one the kernel is still freeing gets upstream's backoff from 1 ms, doubling, ten tries
    /// (opencontainers/cgroups utils.go RemovePath). Failures are collected, not thrown. Returns the number removed.
    /// </summary>
    internal static int RemoveSubtree(CgroupFs fs, string dir, string parentDir, HashSet<int> moved, ICgroupLog log, string procRoot, string? mountPoint,
        List<string> failures, ref int failedErrno)
    {
        // The common case first: no child cgroups, so move this directory's processes and remove it — no walk.
        // A directory with children refuses with EBUSY and gets the full treatment below.
        MoveProcesses(fs, dir, parentDir, moved, log, procRoot, mountPoint);
        int first = fs.TryRmdirOnce(dir, log);
        if (first == 0) return 1;
        if (first == Errno.ENOENT) return 0;
        // cgroupfs says EBUSY for a cgroup with children; an ordinary directory (test roots) ENOTEMPTY.
        if (first is not (Errno.EBUSY or Errno.ENOTEMPTY))
        {
            failedErrno = first;
            failures.Add(RmdirFailure(fs, dir, first));
            return 0;
        }
        var dirs = PostOrder(dir);
        foreach (var d in dirs) MoveProcesses(fs, d, parentDir, moved, log, procRoot, mountPoint);
        int removed = 0;
        foreach (var d in dirs)
        {
            int errno = 0;
            for (int attempt = 0, delayMs = 1; attempt < 10; attempt++)
            {
                errno = fs.TryRmdirOnce(d, log);
                if (errno == Errno.ENOENT) errno = 0;   // gone already: as good as removed
                if (errno != Errno.EBUSY) break;
                if (MoveProcesses(fs, d, parentDir, moved, log, procRoot, mountPoint) > 0) continue;
                log.Debug($"rmdir {d}: EBUSY, retry in {delayMs} ms");
                Thread.Sleep(delayMs);
                delayMs *= 2;
            }
            if (errno == 0) { removed++; continue; }
            failedErrno = errno;
            failures.Add(RmdirFailure(fs, d, errno));
        }
        return removed;
    }

    /// <summary>
    /// False only when a directory certainly has no subdirectories: its link count is 2 (itself and "."; each
    /// subdirectory adds its ".."). cgroupfs keeps that count exactly (kernfs sets a directory's nlink to its number
    /// of subdirectories + 2, fs/kernfs/inode.c), so a listing of thousands of leaf cgroups costs one statx each
    /// instead of an open, two getdents over some thirty files and a close. Any other count, or a failed stat,
    /// means look (file systems such as btrfs always report 1).
    /// </summary>
    internal static bool MayHaveSubdirectories(CgroupFs fs, string dir) => !(fs.TryGetLinkCount(dir, out var n) && n == 2);

    /// <summary>Subdirectories; empty when the directory vanished meanwhile.</summary>
    internal static List<string> Subdirs(string dir)
    {
        try { return Directory.EnumerateDirectories(dir).ToList(); }
        catch (DirectoryNotFoundException) { return new List<string>(); }
        catch (IOException) { return new List<string>(); }
    }

    /// <summary>A directory and its descendants, children before parents (rmdir order).</summary>
    internal static List<string> PostOrder(string dir)
    {
        var result = new List<string>();
        if (!Directory.Exists(dir)) return result;
        void Walk(string d)
        {
            foreach (var sub in Subdirs(d)) Walk(sub);
            result.Add(d);
        }
        Walk(dir);
        return result;
    }

    /// <summary>
    /// The kata_* directories at or below <paramref name="root"/> in any of the hierarchies whose directory for
    /// <paramref name="root"/> is in <paramref name="startDirs"/> (the union, sorted by path): a cgroup half made or
    /// half removed can be missing in any hierarchy but one, and it must still be listed. A directory no Kata path can
    /// produce (e.g. one named just <c>kata_</c>) is not ours to list.
    /// <para>
    /// The first hierarchy is walked in full (a stat per subdirectory says whether to go down: MayHaveSubdirectories).
    /// The others are read directory by directory too — a Kata cgroup, or a whole parent, may be gone from the first —
    /// but a kata_* directory the first hierarchy already showed as a leaf is not stat'ed again there: the Kata leaves are
    /// the thousands in a listing, and Kata does not nest sandboxes. The one thing this can miss is a kata_* cgroup
    /// nested in another kata_* cgroup and left only outside the first hierarchy; removing the outer one removes it with
    /// its subtree in every hierarchy (RemoveSubtree).
    /// </para>
    /// </summary>
    internal static List<CgroupTarget> FindKata(CgroupFs fs, IReadOnlyList<string> startDirs, string root)
    {
        var paths = new HashSet<string>(StringComparer.Ordinal);
        List<string>? first = null;
        var leaves = new HashSet<string>(StringComparer.Ordinal);
        foreach (var startDir in startDirs)
        {
            var some = FindKataPaths(fs, startDir, root, first is null ? null : leaves, first is null ? leaves : null);
            if (first is null) first = some;
            else if (!some.SequenceEqual(first, StringComparer.Ordinal)) paths.UnionWith(some);   // the usual case: the same
        }
        List<string> all;
        if (paths.Count == 0 || first is null) all = first ?? new List<string>();
        else
        {
            paths.UnionWith(first);
            all = paths.ToList();
            all.Sort(StringComparer.Ordinal);
        }
        var found = new List<CgroupTarget>(all.Count);
        foreach (var p in all)
            if (CgroupTarget.FromCgroupPath(p) is { } t) found.Add(t);
        return found;
    }

    /// <summary>
    /// One hierarchy's kata_* paths, sorted. <paramref name="leavesOut"/> collects the kata_* paths found without
    /// subdirectories; a kata_* path in <paramref name="knownLeaves"/> is taken as a leaf without a stat.
    /// </summary>
    private static List<string> FindKataPaths(CgroupFs fs, string startDir, string root, HashSet<string>? knownLeaves, HashSet<string>? leavesOut)
    {
        var result = new List<string>();
        if (!Directory.Exists(startDir)) return result;
        if (CgroupPathText.Base(root).StartsWith(KataPath.Prefix, StringComparison.Ordinal) && !IsOverheadParent(root)) result.Add(root);
        var stack = new Stack<(string Dir, string Path)>();
        stack.Push((startDir, root));
        while (stack.Count > 0)
        {
            var (dir, path) = stack.Pop();
            foreach (var sub in Subdirs(dir))
            {
                var name = Path.GetFileName(sub);
                var subPath = path == "/" ? "/" + name : path + "/" + name;
                bool kata = name.StartsWith(KataPath.Prefix, StringComparison.Ordinal) && !IsOverheadParent(subPath);
                if (kata) result.Add(subPath);
                if (kata && knownLeaves is not null && knownLeaves.Contains(subPath)) continue;
                if (MayHaveSubdirectories(fs, sub)) stack.Push((sub, subPath));
                else if (kata) leavesOut?.Add(subPath);
            }
        }
        result.Sort(StringComparer.Ordinal);
        return result;
    }

    /// <summary>
    /// Why -RemoveEmptyParent must keep the parent <paramref name="dir"/>, or null when it may go: it is gone, a create
    /// did not make it (<see cref="ParentMark"/>: it may be the host's own, meant for something an empty directory
    /// does not show), it has a child cgroup other than <paramref name="ignoredChild"/> (the removed cgroup's own
    /// directory, when asking ahead for -WhatIf), or a process. The kernel refuses the rmdir of a cgroup that gained a
    /// child or a task meanwhile (EBUSY), so these reads only have to be right for what they can see.
    /// </summary>
    internal static string? WhyKeepParent(CgroupFs fs, string dir, string? ignoredChild)
    {
        if (!Directory.Exists(dir)) return "it is not there";
        if (!ParentMark.IsSet(dir)) return $"no create made it ({ParentMark.Name} is not set), so it may be the host's own";
        var others = Subdirs(dir).Where(d => d != ignoredChild).ToList();
        if (others.Count > 0) return $"it has {others.Count} other child cgroup(s), e.g. {Path.GetFileName(others[0])}";
        // A cgroup.procs that cannot be read means the directory is going: the rmdir then says so.
        var (tasks, file) = fs.ReadTasksToMove(dir);
        if (tasks.Count > 0) return $"it has {tasks.Count} {Tasks(file)}";
        return null;
    }

    /// <summary>
    /// Kata's overhead parent <c>/kata_overhead</c> (virtcontainers sandbox.go resCtrlKataOverheadID) holds the overhead
    /// cgroups of every sandbox; its kata_ name makes no sandbox cgroup of it, so a listing does not offer it (a removal
    /// of it would take every sandbox's overhead cgroup along).
    /// </summary>
    private static bool IsOverheadParent(string cgroupPath) => cgroupPath == OverheadParent;

    /// <summary>Kata's overhead parent (sandbox.go resCtrlKataOverheadID); the sandboxes' default overhead root.</summary>
    internal const string OverheadParent = "/kata_overhead";

    /// <summary>
    /// Moves every process of <paramref name="dir"/> and its descendants into <paramref name="parentDir"/>
    /// (a vanished one is skipped); returns how many were found. Callers repeat until none is found: a process
    /// that forks while being moved leaves its child behind.
    /// </summary>
    internal static int MoveSubtree(CgroupFs fs, string dir, string parentDir, HashSet<int> moved, ICgroupLog log, string procRoot, string? mountPoint = null)
    {
        int found = 0;
        foreach (var d in PostOrder(dir)) found += MoveProcesses(fs, d, parentDir, moved, log, procRoot, mountPoint);
        return found;
    }

    /// <summary>"process(es)", or "thread(s)" for what a threaded cgroup lists (<see cref="CgroupFs.ReadTasksToMove"/>).</summary>
    private static string Tasks(string listFile) => listFile == "cgroup.threads" ? "thread(s)" : "process(es)";

    /// <summary>
    /// Moves the processes of one directory to <paramref name="parentDir"/>; returns how many were found. The threads
    /// of a threaded cgroup (cgroup v2) move alone, and <paramref name="moved"/> counts their processes (read from
    /// <paramref name="procRoot"/>).
    /// </summary>
    private static int MoveProcesses(CgroupFs fs, string d, string parentDir, HashSet<int> moved, ICgroupLog log, string procRoot, string? mountPoint)
    {
        var (pids, file) = fs.ReadTasksToMove(d);
        bool threads = file == "cgroup.threads";
        using var progress = new CountedProgress(log, "Moving processes", $"{d} → {parentDir}", pids.Count);
        for (int i = 0; i < pids.Count; i++)
        {
            int pid = pids[i];
            progress.Step(i);
            if (TaskMoves.OutOfReach(pid)) continue;   // stays; the rmdir then fails naming it (RmdirFailure)
            var to = parentDir;
            int process = threads ? TaskMoves.ProcessOf(procRoot, pid) : pid;
            int errno = fs.TryAddId(to, file, pid, log);
            // A thread moves alone only inside its threaded subtree (EOPNOTSUPP outside it, cgroup-v2.rst "Threads"):
            // out of it, when the cgroup removed is the subtree's root, the thread takes its whole process, as from a
            // domain cgroup; every other thread of that process is in the removed subtree too.
            if (threads && errno == Errno.EOPNOTSUPP) errno = fs.TryAddProcess(to, pid, log);
            // cgroup v2 "no internal processes" (cgroup-v2.rst): a parent that enables controllers for its
            // children refuses processes with EBUSY. Go up to the nearest ancestor that takes them; the root
            // always does.
            while (errno == Errno.EBUSY && mountPoint is not null && to.Length > mountPoint.Length)
            {
                to = Path.GetDirectoryName(to)!;
                errno = fs.TryAddProcess(to, pid, log);
                if (errno == 0) log.Warning($"process {pid} moved to {to}: the parent {parentDir} has controllers enabled for its children and cannot hold processes (cgroup v2)");
            }
            if (errno == 0) moved.Add(process > 0 ? process : pid);
            else if (errno != Errno.ESRCH) throw CgroupErrors.ProcessMoveFailed(pid, d, parentDir, errno);
        }
        return pids.Count;
    }

    /// <summary>More processes than this in one move get a progress bar.</summary>
    internal const int ProgressThreshold = 16;

    /// <summary>
    /// The progress bar of a loop over many processes: shown only past <see cref="ProgressThreshold"/> items, as
    /// "<c>what: i of n</c>", and always completed when disposed — also when the loop throws.
    /// </summary>
    internal readonly struct CountedProgress : IDisposable
    {
        private readonly ICgroupLog _log;
        private readonly string _activity, _what;
        private readonly int _total;

        internal CountedProgress(ICgroupLog log, string activity, string what, int total)
        {
            _log = log;
            _activity = activity;
            _what = what;
            _total = total;
        }

        private bool Shown => _total > ProgressThreshold;

        /// <summary>Item <paramref name="done"/> (0-based) is being worked on.</summary>
        internal void Step(int done)
        {
            if (Shown) _log.Progress(_activity, $"{_what}: {done + 1} of {_total}", 100 * done / _total, completed: false);
        }

        public void Dispose()
        {
            if (Shown) _log.Progress(_activity, "", 100, completed: true);
        }
    }

    /// <summary>
    /// True when an operation on cgroup file <paramref name="file"/> failed with <paramref name="errno"/> because another
    /// process removed its cgroup meanwhile. Either errno counts when the file's directory is gone now, or when the file
    /// is there again (removed and made anew by another process meanwhile): ENOENT then cannot be a file this kernel
    /// lacks, and ENODEV is kernfs saying the node it opened was deactivated by an rmdir (fs/kernfs/file.c) — except in
    /// the files whose values name a block or RDMA device, where ENODEV is the kernel refusing a device it does not have
    /// (blk-cgroup.c blkg_conf_prep, rdma_cgroup.c).
    /// </summary>
    internal static bool RemovedUnder(CgroupFs fs, string? file, int errno)
    {
        if (errno is not (Errno.ENOENT or Errno.ENODEV) || file is null || Path.GetDirectoryName(file) is not { } dir) return false;
        if (!fs.DirectoryExists(dir)) return true;
        var name = Path.GetFileName(file);
        bool namesDevice = name.StartsWith("blkio.", StringComparison.Ordinal) || name.StartsWith("io.", StringComparison.Ordinal)
                           || name.StartsWith("rdma.", StringComparison.Ordinal);
        return File.Exists(file) && !(errno == Errno.ENODEV && namesDevice);
    }

    /// <summary>
    /// Runs a create all or nothing: <paramref name="body"/> records each directory it makes in the list it is
    /// given; if it throws, those are removed again, newest first, and the error says so. A write that found its file
    /// gone (ENOENT, or ENODEV from a file whose directory kernfs deactivated) in a directory this create made, which is
    /// no longer there, means another process removed the cgroup meanwhile (a Remove-KataCgroup racing this create):
    /// that is <see cref="ErrorIds.CgroupRemovedConcurrently"/>, not a failed write. So is any failure after
    /// <paramref name="lost"/> says the create's own mark is gone from its directory (<see cref="CreateMark.IsOwn"/>):
    /// another process removed the directories and may have made them again for its own create, so they are not
    /// rolled back — they are not this call's any more.
    /// </summary>
    internal static void Transactional(CgroupFs fs, CgroupTarget target, ICgroupLog log, Action<List<string>> body, Func<bool>? lost = null)
    {
        var created = new List<string>();
        try { body(created); }
        catch (Exception e)
        {
            bool lostToAnother = e is CgroupException && lost?.Invoke() == true;
            bool removedMeanwhile = lostToAnother || (e is CgroupException ce0
                                    && (RemovedUnder(fs, ce0.Target, ce0.Errno) || (ce0.ErrorId == ErrorIds.CgroupNotFound && created.Any(d => !fs.DirectoryExists(d)))));
            if (lostToAnother)
            {
                log.Verbose($"not rolling back {target.CgroupPath}: its directories were removed by another process and are not this create's any more");
                created.Clear();
            }
            for (int i = created.Count - 1; i >= 0; i--)
            {
                int errno = fs.Rmdir(created[i], log);
                if (errno != 0) log.Warning($"rollback: could not remove {created[i]}: {Errno.Describe(errno)}");
            }
            if (e is CgroupException { ErrorId: ErrorIds.CgroupAlreadyExists }) throw;   // it is there, and not ours
            if (removedMeanwhile) throw CgroupErrors.RemovedConcurrently(target.CgroupPath, target.RequestedPath, "was being created", (CgroupException)e);
            if (e is CgroupException ce)
                throw new CgroupException(ce.ErrorId, ce.Kind,
                    $"creating cgroup {target.CgroupPath} failed, nothing was left behind: {ce.Message}", ce.Target, ce.Errno, ce);
            throw;
        }
    }

    /// <summary>Why an rmdir failed, in words a user can act on.</summary>
    internal static string RmdirFailure(CgroupFs fs, string dir, int errno)
    {
        var why = Errno.Describe(errno);
        if (errno != Errno.EBUSY) return $"{dir} ({why})";
        var (left, file) = fs.ReadTasksToMove(dir);
        int children = Subdirs(dir).Count, outOfReach = left.Count(TaskMoves.OutOfReach);
        return $"{dir} ({why}: " + (left.Count > 0 ? $"{left.Count} {Tasks(file)} are still in it" +
                (outOfReach > 0 ? $"; {outOfReach} of them belong to another PID namespace (listed as 0) and cannot be moved from this one)" : ")")
            : children > 0 ? $"it has {children} child cgroup(s) created meanwhile by someone else)"
            : "the kernel still holds it)");
    }

    internal static ProcessOutcome AddOutcome(CgroupFs fs, int pid, int errno, string dir) => errno switch
    {
        0 => new ProcessOutcome(pid, true),
        Errno.ESRCH => new ProcessOutcome(pid, false, $"process {pid} does not exist (or exited during the move)", Vanished: true),
        // A kernel thread has an empty cmdline and refuses to move (EINVAL): say so rather than leave a bare errno.
        Errno.EINVAL when CgroupFs.TryReadSystemFile($"/proc/{pid}/cmdline") is "" =>
            new ProcessOutcome(pid, false, $"failed to move process {pid} into {dir}: {Errno.Describe(errno)}: it is a kernel thread, which cannot change cgroups"),
        // cgroup.procs gone (ENOENT), or deactivated by kernfs as its directory went (ENODEV): another process removed
        // the cgroup while this one moved processes in.
        Errno.ENOENT or Errno.ENODEV when RemovedUnder(fs, Path.Combine(dir, "cgroup.procs"), errno) =>
            new ProcessOutcome(pid, false, $"could not move process {pid} into {dir}: the cgroup was removed by another process meanwhile ({Errno.Describe(errno)})",
                ErrorId: ErrorIds.CgroupNotFound),
        Errno.ENOSPC => EmptyCpuset(fs, pid, dir, $"failed to move process {pid} into {dir}: {Errno.Describe(errno)}"),
        _ => new ProcessOutcome(pid, false, $"failed to move process {pid} into {dir}: {Errno.Describe(errno)}"),
    };

    /// <summary>
    /// Why a move was ENOSPC: a v1 cpuset whose cpuset.cpus or cpuset.mems is empty has nowhere to run a task, and
    /// the kernel refuses to attach one (kernel/cgroup/cpuset.c cpuset_can_attach; cgroup-v1/cpusets.rst). The files
    /// are read again to name the empty one. When neither is empty any more, another process was creating the cgroup
    /// (a create writes them right after its mkdir) and has written them since: that is an unfinished cgroup, not one
    /// to set CPUs on; when the directory is gone, another process removed it.
    /// </summary>
    private static ProcessOutcome EmptyCpuset(CgroupFs fs, int pid, string dir, string failed)
    {
        if (!fs.DirectoryExists(dir))
            return new ProcessOutcome(pid, false, $"{failed}: the cgroup was removed by another process meanwhile", ErrorId: ErrorIds.CgroupNotFound);
        var values = new[] { "cpuset.cpus", "cpuset.mems" }.Select(f => (File: f, Value: Read(Path.Combine(dir, f)))).ToList();
        if (values.All(v => !string.IsNullOrEmpty(v.Value)))
            return new ProcessOutcome(pid, false, $"{failed}: the cgroup was unfinished at that moment — another process was creating it, " +
                "and has written its cpuset.cpus and cpuset.mems since", ErrorId: ErrorIds.CgroupUnfinished);
        var empty = values.Where(v => v.Value is "").Select(v => v.File).ToList();
        var which = empty.Count > 0 ? string.Join(" and ", empty) : "cpuset.cpus or cpuset.mems";
        return new ProcessOutcome(pid, false, $"{failed}: its {which} is empty, and the kernel puts no process into a cpuset without CPUs " +
            "or memory nodes; set them with Set-KataCgroupResource -Cpus/-Mems", ErrorId: ErrorIds.CpusetEmpty);

        string? Read(string file)
        {
            try { return fs.TryReadValue(file); }
            catch (CgroupException) { return null; }   // unreadable: the message then names both files
        }
    }
}
