using System.Globalization;
using KataCgroups.Devices;
using KataCgroups.Errors;
using KataCgroups.Host;
using KataCgroups.Interop;
using KataCgroups.Model;
using KataCgroups.Paths;
using KataCgroups.Resources;

namespace KataCgroups.Drivers.V1;

/// <summary>
/// cgroupfs driver for v1 and hybrid hosts (model: opencontainers/cgroups fs/fs.go manager). A cgroup is one
/// directory per mounted hierarchy — every v1 controller runc manages, the <c>name=systemd</c> tracking
/// hierarchy, and on hybrid hosts the cgroup2 <c>unified</c> tree — created and joined in the same order.
/// </summary>
public sealed partial class CgroupV1Driver : ICgroupDriver
{
    /// <summary>runc's subsystem order (fs/fs.go <c>subsystems</c>): creation, writes and joins follow it.</summary>
    public static IReadOnlyList<string> SubsystemOrder => HierarchyLayout.SubsystemOrder;

    private readonly HierarchyLayout _layout;
    private readonly BlkioWeightFile _blkioWeightFile = new();

    /// <summary>
    /// Creates the driver for a probed host, working beneath the hierarchy roots of <paramref name="fs"/>, which the
    /// caller (<see cref="CgroupManager"/>) owns and disposes.
    /// </summary>
    internal CgroupV1Driver(HostInfo host, CgroupFs fs)
    {
        Host = host;
        Fs = fs;
        _layout = new HierarchyLayout(host, fs);
    }

    /// <summary>The cgroupfs primitives beneath this host's hierarchies.</summary>
    private CgroupFs Fs { get; }

    /// <inheritdoc/>
    public DriverKind Kind => DriverKind.CgroupfsV1;

    /// <inheritdoc/>
    public HostInfo Host { get; }

    /// <summary>The v1 controllers this driver manages on this host.</summary>
    public IReadOnlySet<string> Controllers => _layout.Controllers;

    /// <summary>The hierarchies, in creation order; the first one is where <see cref="Find"/> looks.</summary>
    public IReadOnlyList<Hierarchy> Hierarchies => _layout.All;

    /// <summary>Where the create mark goes: the leaf in the first hierarchy, the one made first and removed last.</summary>
    private string? MarkDir(CgroupTarget target) => _layout.All.Length == 0 ? null : _layout.All[0].DirectoryOf(target.CgroupPath);

    /// <inheritdoc/>
    public CgroupCompleteness Check(CgroupTarget target)
    {
        bool any = false;
        var missing = new List<string>();
        foreach (var h in _layout.All)
        {
            if (Fs.DirectoryExists(h.DirectoryOf(target.CgroupPath))) any = true;
            else missing.Add(h.Name);
        }
        bool marked = any && MarkDir(target) is { } m && CreateMark.IsSet(m);
        bool killInterrupted = any && _layout.TryGet("freezer", out var fz) && fz.DirectoryOf(target.CgroupPath) is var fzDir
                               && KillMark.IsSet(fzDir) && Fs.TryReadValue(Path.Combine(fzDir, "freezer.state")) is "FROZEN" or "FREEZING";
        return new CgroupCompleteness(any, marked, missing, marked && CreateMark.CreatorAlive(MarkDir(target)!), killInterrupted);
    }

    /// <inheritdoc/>
    public bool Exists(CgroupTarget target) => _layout.ExistsAnywhere(target.CgroupPath);   // every create, update, add and remove asks

    /// <inheritdoc/>
    public IReadOnlyList<ControllerPath> GetPaths(CgroupTarget target)
    {
        var paths = new ControllerPath[_layout.RowCount];
        for (int i = 0; i < paths.Length; i++)
        {
            var (controller, h, _) = _layout.Row(i);
            paths[i] = new ControllerPath(controller, h.DirectoryOf(target.CgroupPath));
        }
        return paths;
    }

    /// <inheritdoc/>
    public CgroupPlan Plan(CgroupTarget target, LinuxResources resources, IReadOnlyList<DeviceRule>? devices, bool create = false)
    {
        // Only what the compiler will look at for these resources is read (CgroupV1Plan.Compile): a create with a
        // memory limit and no swap reads nothing here; an update with devices reads the list it must diff against.
        long currentLimit = CgroupV1Plan.UnlimitedMemory;
        bool hasMemsw = false;
        var weights = BlockIoWeightInterface.None;
        var currentDevices = DeviceRuleSet.DenyAll();
        var m = resources.Memory;
        if (m is not null && _layout.TryGet("memory", out var mem))
        {
            long limit = m.Limit ?? 0, swap = m.Swap ?? 0;
            // Swap accounting (swapaccount=1) is a property of the kernel: every memory cgroup, the root included,
            // has memory.memsw.* or none does.
            if (limit == -1 || swap != 0) hasMemsw = File.Exists(Path.Combine(mem.MountPoint, "memory.memsw.limit_in_bytes"));
            // The write order of memory and memsw depends on the current limit only when both change.
            if (limit != 0 && swap > 0 && Fs.TryReadNumber(Path.Combine(mem.DirectoryOf(target.CgroupPath), "memory.limit_in_bytes")) is { } l)
                currentLimit = l;
        }
        if (resources.BlockIO is not null && _layout.TryGet("blkio", out var blkio))
        {
            // fs/blkio.go detectWeightFilenames: CFQ's blkio.weight, else BFQ's blkio.bfq.weight (kernel >= 5.0
            // has no CFQ), else none (no BFQ either). Asked of the cgroup, or the ancestor it will inherit from.
            weights = BlockIoWeights.DetectV1(NearestExisting(blkio, target.CgroupPath));
        }
        if (devices is not null && create)
        {
            // A new devices cgroup starts as a copy of its parent (security/device_cgroup.c devcgroup_online), but
            // runc's minimal transition (devices/v1.go) exists so that a *running* container never sees a moment of
            // deny-all; a create writes into a cgroup no process has joined yet (Create moves them in after the
            // plan). So a create starts from "unknown": the reset rule, then the wanted exceptions — the same writes
            // as from the usual allow-all parent, without reading and parsing any devices.list first.
            currentDevices = DeviceRuleSet.AllowAll();
        }
        else if (devices is not null && _layout.TryGet("devices", out var dev))
        {
            // An update diffs against the cgroup's own list (or, half-made, the nearest ancestor's it was copied
            // from) — read, not stat'ed first.
            for (var p = target.CgroupPath; ; p = CgroupPathText.Dir(p))
            {
                if (Fs.TryRead(Path.Combine(dev.DirectoryOf(p), "devices.list")) is { } list)
                {
                    currentDevices = DeviceRuleSet.ParseList(list);
                    break;
                }
                if (p == "/") break;
            }
        }
        return CgroupV1Plan.Compile(resources, devices,
            new V1PlanContext(Controllers, currentLimit, hasMemsw, weights, currentDevices));
    }

    /// <summary>The cgroup's directory in <paramref name="h"/>, or its nearest existing ancestor.</summary>
    private string NearestExisting(Hierarchy h, string cgroupPath)
    {
        var p = cgroupPath;
        while (true)
        {
            var dir = h.DirectoryOf(p);
            if (p == "/" || Fs.DirectoryExists(dir)) return dir;
            p = CgroupPathText.Dir(p);
        }
    }

    /// <inheritdoc/>
    public IReadOnlyList<ProcessOutcome> Create(CgroupTarget target, CgroupPlan plan, IReadOnlyList<int> pids, ICgroupLog log)
    {
        bool fresh = plan.MustBeNew;   // a create: the cgroup must be new, and the leaf mkdirs decide it
        var markDir = MarkDir(target);
        bool marked = false;
        CgroupTree.Transactional(Fs, target, log, created =>
        {
            // Whoever made the leaf owns it: one found there already (before, or made by a racing creator) fails
            // the create before anything is written into it, and only this call's directories are rolled back.
            // The first hierarchy's leaf is marked unfinished before any other hierarchy's mkdir (CreateMark), and a
            // rollback removes it last (newest first), so no moment shows a leaf that looks complete and is not.
            _layout.MakeDirectories(target, created, log, exclusive: fresh, afterFirst: () =>
            {
                marked = CreateMark.SetOrWarn(Fs, markDir!, log);
                CrashPoint.Hit("create:marked");
            });
            CrashPoint.Hit("create:dirs");
            Execute(target, plan, log);
            CrashPoint.Hit("create:written");
        }, lost: () => marked && !CreateMark.IsOwn(markDir!));
        // Just made: no existence check before the moves.
        var outcomes = pids.Count == 0 ? Array.Empty<ProcessOutcome>() : (IReadOnlyList<ProcessOutcome>)_layout.MoveIn(target, pids, log, null);
        CrashPoint.Hit("create:moved");
        CreateMark.ClearOrWarn(Fs, markDir!, log);   // the very last step: now it is complete
        return outcomes;
    }

    /// <inheritdoc/>
    public void Apply(CgroupTarget target, CgroupPlan plan, ICgroupLog log)
    {
        if (!Exists(target)) throw CgroupErrors.NotFound(target.CgroupPath, target.RequestedPath);
        Execute(target, plan, log);
    }

    private void Execute(CgroupTarget target, CgroupPlan plan, ICgroupLog log)
    {
        var writes = plan.Writes;
        bool quotaWritten = false;
        string? dirController = null, dir = null;   // consecutive writes mostly go to one controller's directory
        for (int i = 0; i < writes.Count; i++)
        {
            var w = writes[i];
            if (w.Controller != dirController)
                (dirController, dir) = (w.Controller, _layout[w.Controller].DirectoryOf(target.CgroupPath));
            if (w.File == "cpu.cfs_quota_us" && quotaWritten) continue;
            int errno = Fs.TryWriteIn(dir!, w.File, w.Value, log);
            if (errno == 0) continue;
            var file = Path.Combine(dir!, w.File);

            // fs/cpu.go: a new period can be EINVAL against the old quota; write the quota first, then retry.
            if (errno == Errno.EINVAL && w.File == "cpu.cfs_period_us"
                && writes.Skip(i + 1).FirstOrDefault(x => x.File == "cpu.cfs_quota_us") is { } quota)
            {
                log.Debug($"{file}: EINVAL, writing cpu.cfs_quota_us first");
                Fs.Write(Path.Combine(dir!, quota.File), quota.Value, log);
                quotaWritten = true;
                Fs.Write(file, w.Value, log);
                continue;
            }
            // fs/cpu.go: cpu.cfs_burst_us arrived in Linux 5.14; runc ignores its absence.
            if (errno == Errno.ENOENT && w.File == "cpu.cfs_burst_us")
            {
                log.Warning($"cpu.burst = {w.Value} ignored: this kernel has no cpu.cfs_burst_us");
                continue;
            }
            // fs/memory.go: EBUSY means usage is above the new limit; say so with the numbers.
            if (errno == Errno.EBUSY && w.File is "memory.limit_in_bytes" or "memory.memsw.limit_in_bytes")
            {
                var usage = Fs.TryReadValue(Path.Combine(dir!, "memory.usage_in_bytes")) ?? "?";
                var peak = Fs.TryReadValue(Path.Combine(dir!, "memory.max_usage_in_bytes")) ?? "?";
                throw new CgroupException(ErrorIds.MemoryLimitBusy, CgroupErrorKind.ResourceBusy,
                    $"unable to set memory limit to {w.Value} (current usage {usage}, peak usage {peak}): {Errno.Describe(errno)}", file, errno);
            }
            // cpuset: name the parent or child cgroup behind EACCES/EBUSY/ERANGE (CgroupV1Driver.Devices.cs).
            if (CpusetWriteFailed(dir!, w, errno) is { } cpusetError) throw cpusetError;
            throw CgroupFs.WriteFailed(file, w.Value, errno);
        }

        // devices/v1.go: re-read devices.list and make sure the kernel holds exactly what was asked.
        if (plan.DeviceTarget is { } want && _layout.TryGet("devices", out var devH))
        {
            var listFile = Path.Combine(devH.DirectoryOf(target.CgroupPath), "devices.list");
            var have = DeviceRuleSet.ParseList(Fs.Read(listFile));
            bool ok = want.DefaultAllow ? have.DefaultAllow : have.SameAs(want);
            if (!ok)
                throw new CgroupException(ErrorIds.DevicesMismatch, CgroupErrorKind.WriteFailed,
                    $"the devices cgroup does not hold the requested rules after the update; {listFile} has [{have.ToListText().Replace('\n', ',')}], wanted [{want.ToListText().Replace('\n', ',')}]",
                    listFile);
        }
    }

    /// <inheritdoc/>
    public IReadOnlyList<ProcessOutcome> AddProcesses(CgroupTarget target, IReadOnlyList<int> pids, ICgroupLog log)
    {
        if (!Exists(target)) throw CgroupErrors.NotFound(target.CgroupPath, target.RequestedPath);
        return _layout.MoveIn(target, pids, log, null);
    }

    /// <inheritdoc/>
    /// <remarks>
    /// The union over every hierarchy, the unified tree included: a process left in one hierarchy only is what a
    /// removal has to move, and what a -WhatIf counts (runc's fs.go GetPids reads only the devices hierarchy).
    /// </remarks>
    public IReadOnlyList<int> GetProcesses(CgroupTarget target) => _layout.Processes(target.CgroupPath);

    /// <inheritdoc/>
    public CgroupSnapshot Read(CgroupTarget target) => Read(target, null);

    /// <summary>
    /// Reads the cgroup back; with <paramref name="index"/> (a listing: <see cref="IndexProcesses"/>) its processes come
    /// from the index instead of a cgroup.procs read per hierarchy.
    /// </summary>
    internal CgroupSnapshot Read(CgroupTarget target, ProcessIndex? index)
    {
        // The files first, then the processes; a stat only where nothing was read (HierarchyReads).
        var reads = new HierarchyReads(_layout, target.CgroupPath);
        long? Num(string controller, string file) => reads.Number(controller, file);
        string? Str(string controller, string file) => reads.Text(controller, file);

        long? memoryLimit = Num("memory", "memory.limit_in_bytes"), memorySwap = Num("memory", "memory.memsw.limit_in_bytes"),
            memoryReservation = Num("memory", "memory.soft_limit_in_bytes"), memoryUsage = Num("memory", "memory.usage_in_bytes"),
            cpuShares = Num("cpu", "cpu.shares"), cpuQuota = Num("cpu", "cpu.cfs_quota_us"), cpuPeriod = Num("cpu", "cpu.cfs_period_us"),
            pidsLimit = Num("pids", "pids.max"), pidsCurrent = Num("pids", "pids.current"),
            blkioWeight = _blkioWeightFile.Read(reads);
        string? cpus = Str("cpuset", "cpuset.cpus")?.Trim(), mems = Str("cpuset", "cpuset.mems")?.Trim(), freezer = Str("freezer", "freezer.state")?.Trim();
        var devices = Str("devices", "devices.list") is { } text
            ? text.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList()
            : new List<string>();

        // The processes of every hierarchy (the union, GetProcesses): a readable cgroup.procs, even an empty one,
        // proves the directory is there, so it also stands in for the stat of a hierarchy nothing was read from.
        // pids.current counts the tasks of the pids cgroup and its descendants (pids.rst): read as 0, that hierarchy
        // holds no process and its cgroup.procs is not read.
        int pidsIndex = pidsCurrent == 0 && _layout.TryGetIndex("pids", out int pi) ? pi : -1;
        var pidSet = new HashSet<int>();
        HashSet<int>? threadSet = null;   // threads here whose process is not (CgroupV1Driver.Threads.cs)
        TaskMoves.SingleThreaded? single = null;
        for (int i = 0; i < _layout.All.Length; i++)
        {
            if (index is not null)
            {
                if (index.Placement(i, target.CgroupPath) is { } indexed)
                {
                    pidSet.UnionWith(indexed.Pids);
                    if (indexed.Threads.Count > 0) (threadSet ??= new()).UnionWith(indexed.Threads);
                }
                reads.Confirm(i);
                continue;
            }
            if (i == pidsIndex) continue;
            if (Fs.TryReadProcs(reads.Directory(i)) is { } procs)
            {
                reads.Found(i);
                PlaceThreads(_layout.All[i], reads.Directory(i), target.CgroupPath, procs, pidSet, ref threadSet, ref single);
            }
            else reads.Confirm(i);
        }
        var allPids = pidSet.ToList();
        allPids.Sort();
        var threads = threadSet is null ? (IReadOnlyList<int>)Array.Empty<int>() : TaskMoves.Sorted(threadSet);

        var paths = new List<ControllerPath>(_layout.RowCount);
        var missing = new List<string>();
        for (int r = 0; r < _layout.RowCount; r++)
        {
            var (controller, h, i) = _layout.Row(r);
            if (reads.IsThere(i)) paths.Add(new ControllerPath(controller, reads.Directory(i)));
            else if (!missing.Contains(h.Name)) missing.Add(h.Name);
        }
        if (paths.Count == 0) throw CgroupErrors.NotFound(target.CgroupPath, target.RequestedPath);
        // The create mark (CreateMark): one size-only getxattr on the first hierarchy's directory.
        bool marked = reads.IsThere(0) && CreateMark.IsSet(reads.Directory(0));
        return new CgroupSnapshot
        {
            Target = target,
            Driver = Kind,
            Mode = Host.Mode,
            Paths = paths,
            MissingIn = missing,
            Marked = marked,
            KillInterrupted = freezer is "FROZEN" or "FREEZING" && _layout.TryGet("freezer", out var fz) && KillMark.Interrupted(fz.DirectoryOf(target.CgroupPath), freezer),
            Pids = allPids,
            Threads = threads,
            MemoryLimit = memoryLimit,
            MemorySwap = memorySwap,
            MemoryReservation = memoryReservation,
            MemoryUsage = memoryUsage,
            CpuShares = cpuShares,
            CpuQuota = cpuQuota,
            CpuPeriod = cpuPeriod,
            Cpus = cpus,
            Mems = mems,
            PidsLimit = pidsLimit,
            PidsCurrent = pidsCurrent,
            BlkioWeight = blkioWeight,
            Devices = devices,
            FreezerState = freezer,
        };
    }

    /// <inheritdoc/>
    public RemoveOutcome Remove(CgroupTarget target, RemoveOptions options, ICgroupLog log)
    {
        var killed = new HashSet<int>();
        var moved = new HashSet<int>();
        if (options.Kill) KillAll(target, killed, log);

        // Move every process of the cgroup and its descendants to the cgroup's parent, then remove the directories,
        // in every hierarchy; a process that forks while being moved is caught when its directory refuses rmdir.
        string parentPath = CgroupPathText.Dir(target.CgroupPath);
        int removed = 0;
        var failures = new List<string>();
        int failedErrno = 0;
        bool movedOut = !options.Kill && MoveOutByProcCgroup(target, parentPath, moved, log);
        // The first hierarchy last: it holds the create mark and is the one made first, so a removal cut short leaves
        // a directory there that the listing finds and that shows the cgroup as unfinished (missing elsewhere).
        var all = _layout.All;
        for (int k = 1; k <= all.Length; k++)
        {
            var h = all[k % all.Length];
            var dir = h.DirectoryOf(target.CgroupPath);
            if (k == 2) CrashPoint.Hit("remove:partial");   // one hierarchy removed, the rest not yet
            if (movedOut)
            {
                // Emptied already in the common case: one rmdir. A directory that still holds something (a process
                // only in this hierarchy, a fork meanwhile, child cgroups) refuses and gets the full treatment.
                int errno = Fs.TryRmdirOnce(dir, log);
                if (errno == 0) { removed++; continue; }
                if (errno == Errno.ENOENT) continue;
            }
            removed += CgroupTree.RemoveSubtree(Fs, dir, h.DirectoryOf(parentPath), moved, log, Host.Options.ProcRoot, null, failures, ref failedErrno);
        }
        if (failures.Count > 0) throw CgroupErrors.RemoveFailed(target.CgroupPath, failures, failedErrno);
        return new RemoveOutcome(moved.Count, killed.Count, removed);
    }

    /// <summary>
    /// Moves the cgroup's processes to its parent with one cgroup.procs read instead of one per hierarchy: the
    /// processes the devices hierarchy lists (runc's GetPids reads the same one), and for each, from
    /// <c>/proc/&lt;pid&gt;/cgroup</c>, the hierarchies where it is in exactly this cgroup — only there is it moved, so
    /// a process that is elsewhere in some hierarchy stays where it is. What this misses (a process in this cgroup
    /// in one hierarchy only, one in a child cgroup, a fork meanwhile) keeps its directory busy, and the caller's
    /// full pass handles it. False when the paths in /proc/&lt;pid&gt;/cgroup cannot be taken as ours (a hierarchy
    /// mounted from a subtree) or nothing lists the processes.
    /// </summary>
    private bool MoveOutByProcCgroup(CgroupTarget target, string parentPath, HashSet<int> moved, ICgroupLog log)
    {
        if (!_layout.MountedFromRoots) return false;
        var source = _layout.TryGet("devices", out var dev) ? dev : _layout.All[0];
        var pids = Fs.ReadProcs(source.DirectoryOf(target.CgroupPath));
        using var progress = new CgroupTree.CountedProgress(log, "Moving processes", $"{target.CgroupPath} → {parentPath}", pids.Count);
        for (int i = 0; i < pids.Count; i++)
        {
            progress.Step(i);
            MoveOutOne(target, parentPath, pids[i], moved, log);
        }
        return true;
    }

    /// <summary>
    /// One line of /proc/pid/cgroup, "hierarchy-ID:controller-list:cgroup-path" (cgroups(7); "0::path" is cgroup2): the
    /// hierarchy of this driver it names, or null, and the path.
    /// </summary>
    private Hierarchy? HierarchyOfLine(ReadOnlySpan<char> line, out ReadOnlySpan<char> path)
    {
        path = default;
        int a = line.IndexOf(':');
        if (a < 0) return null;
        int b = line[(a + 1)..].IndexOf(':');
        if (b < 0) return null;
        var controllers = line.Slice(a + 1, b);
        path = line[(a + b + 2)..];
        Hierarchy? h = null;
        if (controllers.IsEmpty) h = Host.Mode == CgroupMode.Hybrid ? Host.Unified : null;
        else
        {
            int comma = controllers.IndexOf(',');
            _layout.TryGet((comma < 0 ? controllers : controllers[..comma]).ToString(), out h);
        }
        return h is not null && _layout.IndexOf(h) >= 0 ? h : null;
    }

    /// <summary>One process of <see cref="MoveOutByProcCgroup"/>: to the parent wherever it is in exactly this cgroup.</summary>
    private void MoveOutOne(CgroupTarget target, string parentPath, int pid, HashSet<int> moved, ICgroupLog log)
    {
        // "hierarchy-ID:controller-list:cgroup-path" per hierarchy (cgroups(7)); "0::path" is cgroup2.
        var text = CgroupFs.TryReadSystemFile(Path.Combine(Host.Options.ProcRoot, pid.ToString(System.Globalization.CultureInfo.InvariantCulture), "cgroup"));
        if (text is null) return;   // exited
        foreach (var line in text.AsSpan().EnumerateLines())
        {
            if (HierarchyOfLine(line, out var path) is not { } h || !path.SequenceEqual(target.CgroupPath)) continue;
            var to = h.DirectoryOf(parentPath);
            int errno = Fs.TryAddProcess(to, pid, log);
            if (errno == 0) moved.Add(pid);
            else if (errno != Errno.ESRCH) throw CgroupErrors.ProcessMoveFailed(pid, h.DirectoryOf(target.CgroupPath), to, errno);
        }
    }

    /// <summary>v1 has no cgroup.kill: freeze so nothing forks, SIGKILL every task, thaw so they can die.</summary>
    private void KillAll(CgroupTarget target, HashSet<int> killed, ICgroupLog log)
    {
        var freezerDir = _layout.TryGet("freezer", out var freezer) ? freezer.DirectoryOf(target.CgroupPath) : null;
        bool canFreeze = freezerDir is not null && Directory.Exists(freezerDir);
        if (canFreeze)
        {
            KillMark.Set(Fs, freezerDir!, log);   // a kill cut short from here to the thaw leaves it frozen: say so (KillMark)
            SetFreezer(target, FreezerState.Frozen, log);
            CrashPoint.Hit("remove:frozen");
        }
        try
        {
            foreach (var h in _layout.All)
                foreach (var dir in CgroupTree.PostOrder(h.DirectoryOf(target.CgroupPath)))
                    foreach (var pid in Fs.ReadProcs(dir))
                        if (!TaskMoves.OutOfReach(pid) && killed.Add(pid))
                        {
                            log.Verbose($"kill -KILL {pid}");
                            Libc.Kill(pid, 9);
                        }
        }
        finally
        {
            if (canFreeze)
            {
                SetFreezer(target, FreezerState.Thawed, log);
                KillMark.Clear(Fs, freezerDir!, log);
            }
        }
        // Killed tasks leave cgroup.procs once reaped; wait up to ~2 s.
        for (int i = 0; i < 200 && GetProcesses(target).Count > 0; i++) Thread.Sleep(10);
    }

    /// <inheritdoc/>
    public void SetFreezer(CgroupTarget target, FreezerState state, ICgroupLog log)
    {
        if (!_layout.TryGet("freezer", out var h))
            throw new CgroupException(ErrorIds.ControllerNotMounted, CgroupErrorKind.NotSupported, "the freezer controller is not mounted on this host", "freezer");
        var file = Path.Combine(h.DirectoryOf(target.CgroupPath), "freezer.state");
        if (!File.Exists(file)) throw CgroupErrors.NotFound(target.CgroupPath, target.RequestedPath);
        if (state == FreezerState.Thawed)
        {
            Fs.Write(file, "THAWED", log);
            return;
        }
        // fs/freezer.go: writing FROZEN may leave the cgroup FREEZING when a task is in an uninterruptible
        // state; keep writing, thaw briefly every 50 tries to unstick it, give up after 1000 tries.
        for (int i = 0; i < 1000; i++)
        {
            if (i % 50 == 49)
            {
                Fs.Write(file, "THAWED", log);
                Thread.Sleep(10);
            }
            Fs.Write(file, "FROZEN", log);
            if (i % 25 == 24) Thread.Sleep(10);
            var now = Fs.TryReadValue(file);
            if (now == "FROZEN") return;
            log.Debug($"{file} is {now}, retrying");
        }
        Fs.Write(file, "THAWED", log);
        throw new CgroupException(ErrorIds.FreezeFailed, CgroupErrorKind.ResourceBusy, $"unable to freeze {file}: still FREEZING after 1000 attempts", file);
    }

    /// <summary>
    /// Which processes are in which cgroup, in every hierarchy, from one pass over <c>/proc/*/task/*/cgroup</c>
    /// ("hierarchy-ID:controller-list:cgroup-path" per hierarchy, cgroups(7)) — what a listing of thousands of cgroups
    /// asks instead of a cgroup.procs read per cgroup and hierarchy (ten per cgroup on a hybrid host): the union of
    /// <c>Pids</c> over every hierarchy then costs one read per task on the host, not per cgroup. Each task counts for
    /// its thread group, as cgroup.procs lists a process when any of its threads is in the cgroup. Null when the paths
    /// in /proc cannot be taken as ours (a hierarchy mounted from a subtree, as in MoveOutByProcCgroup) or /proc
    /// cannot be read; the caller then reads cgroup.procs.
    /// </summary>
    internal ProcessIndex? IndexProcesses()
    {
        if (!_layout.MountedFromRoots) return null;
        var index = new ProcessIndex(_layout.All.Length);
        IEnumerable<string> procDirs;
        try { procDirs = Directory.EnumerateDirectories(Host.Options.ProcRoot).ToList(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
        foreach (var procDir in procDirs)
        {
            if (!int.TryParse(Path.GetFileName(procDir), NumberStyles.None, CultureInfo.InvariantCulture, out int tgid)) continue;
            List<string> tasks;
            try { tasks = Directory.EnumerateDirectories(Path.Combine(procDir, "task")).ToList(); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { continue; }   // exited
            foreach (var task in tasks)
            {
                if (CgroupFs.TryReadSystemFile(Path.Combine(task, "cgroup")) is not { } text) continue;
                int tid = int.TryParse(Path.GetFileName(task), NumberStyles.None, CultureInfo.InvariantCulture, out int t) ? t : tgid;
                foreach (var line in text.AsSpan().EnumerateLines())
                {
                    if (HierarchyOfLine(line, out var path) is not { } h) continue;
                    index.Add(_layout.IndexOf(h), path.ToString(), tgid, tid);
                }
            }
        }
        return index;
    }

    /// <summary>The processes of every cgroup per hierarchy, from /proc (<see cref="IndexProcesses"/>).</summary>
    internal sealed class ProcessIndex
    {
        private readonly Dictionary<string, Entry>[] _byPath;

        /// <summary>One cgroup of one hierarchy: its processes (any thread there), and which of them have their leader there.</summary>
        private sealed class Entry
        {
            internal readonly List<int> Procs = new();
            internal readonly List<int> Leaders = new();
            internal List<(int Tgid, int Tid)>? Others;   // threads other than a leader
        }

        internal ProcessIndex(int hierarchies)
        {
            _byPath = new Dictionary<string, Entry>[hierarchies];
            for (int i = 0; i < hierarchies; i++) _byPath[i] = new Dictionary<string, Entry>(StringComparer.Ordinal);
        }

        internal void Add(int hierarchy, string cgroupPath, int tgid, int tid)
        {
            if (!_byPath[hierarchy].TryGetValue(cgroupPath, out var e)) _byPath[hierarchy][cgroupPath] = e = new Entry();
            if (e.Procs.Count == 0 || e.Procs[^1] != tgid) e.Procs.Add(tgid);   // a process's tasks come one after another
            if (tid == tgid) e.Leaders.Add(tgid);
            else (e.Others ??= new()).Add((tgid, tid));
        }

        /// <summary>The processes in <paramref name="cgroupPath"/> of hierarchy <paramref name="hierarchy"/>, or null.</summary>
        internal List<int>? Of(int hierarchy, string cgroupPath) => _byPath[hierarchy].TryGetValue(cgroupPath, out var e) ? e.Procs : null;

        /// <summary>
        /// The processes whose leader is in the cgroup, and the threads there whose process's leader is not (placed
        /// alone: Snapshot.Threads); null when nothing of the cgroup is in the index.
        /// </summary>
        internal (IReadOnlyList<int> Pids, IReadOnlyList<int> Threads)? Placement(int hierarchy, string cgroupPath)
        {
            if (!_byPath[hierarchy].TryGetValue(cgroupPath, out var e)) return null;
            if (e.Leaders.Count == e.Procs.Count) return (e.Procs, Array.Empty<int>());
            var leaders = new HashSet<int>(e.Leaders);
            var pids = e.Procs.Where(leaders.Contains).ToList();
            var threads = (e.Others ?? new()).Where(o => !leaders.Contains(o.Tgid)).Select(o => o.Tid).ToList();
            return (pids, threads);
        }
    }

    /// <inheritdoc/>
    public IReadOnlyList<CgroupTarget> Find(string root) =>
        CgroupTree.FindKata(Fs, _layout.All.Select(h => h.DirectoryOf(root)).ToList(), root);
}
