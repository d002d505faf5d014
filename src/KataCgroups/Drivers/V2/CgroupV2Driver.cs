using System.Globalization;
using KataCgroups.Devices;
using KataCgroups.Errors;
using KataCgroups.Host;
using KataCgroups.Interop;
using KataCgroups.Model;
using KataCgroups.Paths;
using KataCgroups.Resources;

namespace KataCgroups.Drivers.V2;

/// <summary>
/// cgroupfs driver for the unified hierarchy (model: opencontainers/cgroups fs2). One directory per cgroup;
/// controllers enabled top-down through <c>cgroup.subtree_control</c>; devices through eBPF.
/// </summary>
public sealed partial class CgroupV2Driver : ICgroupDriver
{
    private readonly Hierarchy _h;

    /// <summary>
    /// Creates the driver for a host whose cgroup2 mount is <paramref name="unified"/>, working beneath the hierarchy
    /// roots of <paramref name="fs"/>, which the caller (<see cref="CgroupManager"/>) owns and disposes.
    /// </summary>
    internal CgroupV2Driver(HostInfo host, Hierarchy unified, CgroupFs fs)
    {
        Host = host;
        _h = unified;
        Fs = fs;
    }

    /// <summary>The cgroupfs primitives beneath this host's hierarchies.</summary>
    private CgroupFs Fs { get; }

    /// <inheritdoc/>
    public DriverKind Kind => DriverKind.CgroupfsV2;

    /// <inheritdoc/>
    public HostInfo Host { get; }

    private string Dir(CgroupTarget t) => _h.DirectoryOf(t.CgroupPath);

    /// <inheritdoc/>
    public bool Exists(CgroupTarget target) => Fs.DirectoryExists(Dir(target));

    /// <inheritdoc/>
    public CgroupCompleteness Check(CgroupTarget target)
    {
        bool exists = Exists(target);
        bool marked = exists && CreateMark.IsSet(Dir(target));
        bool killInterrupted = exists && KillMark.IsSet(Dir(target)) && Fs.TryReadValue(Path.Combine(Dir(target), "cgroup.freeze")) == "1";
        return new CgroupCompleteness(exists, marked, Array.Empty<string>(), marked && CreateMark.CreatorAlive(Dir(target)), killInterrupted);
    }

    /// <inheritdoc/>
    public IReadOnlyList<ControllerPath> GetPaths(CgroupTarget target) => new[] { new ControllerPath("unified", Dir(target)) };

    /// <summary>The nearest existing strict ancestor's directory (what the new levels inherit from).</summary>
    private string ExistingAncestor(string cgroupPath)
    {
        var p = CgroupPathText.Dir(cgroupPath);
        while (p != "/" && !Directory.Exists(_h.DirectoryOf(p))) p = CgroupPathText.Dir(p);
        return _h.DirectoryOf(p);
    }

    /// <summary>
    /// A non-root cgroup to learn which interface files this kernel offers (the root cgroup hides most of
    /// them, e.g. memory.swap.max and io.bfq.weight): the cgroup itself, an existing ancestor, or any child of
    /// the root. Read-only.
    /// </summary>
    private string? ReferenceDir(CgroupTarget target)
    {
        if (Exists(target)) return Dir(target);
        var anc = ExistingAncestor(target.CgroupPath);
        if (anc != _h.MountPoint) return anc;
        try { return Directory.EnumerateDirectories(_h.MountPoint).FirstOrDefault(); }
        catch (IOException) { return null; }
    }

    private static HashSet<string> Words(string? text) =>
        new((text ?? "").Split(new[] { ' ', '\n' }, StringSplitOptions.RemoveEmptyEntries), StringComparer.Ordinal);

    /// <inheritdoc/>
    public CgroupPlan Plan(CgroupTarget target, LinuxResources resources, IReadOnlyList<DeviceRule>? devices, bool create = false)
    {
        // What may be enabled is what the root offers (runc's libcontainer/cgroups/fs2/create.go reads the root's
        // cgroup.controllers too): a parent's own file lists only what was enabled above it so far, and Execute
        // enables the rest top-down (EnableControllers), for a later Set as for a create.
        var available = Words(Fs.TryRead(Path.Combine(_h.MountPoint, "cgroup.controllers")));
        var reference = ReferenceDir(target);
        var weights = reference is null ? null : BlockIoWeights.DetectV2(reference);
        bool swap = reference is not null && File.Exists(Path.Combine(reference, "memory.swap.max"));
        return CgroupV2Plan.Compile(resources, devices, new V2PlanContext(available, weights, swap));
    }

    /// <inheritdoc/>
    public IReadOnlyList<ProcessOutcome> Create(CgroupTarget target, CgroupPlan plan, IReadOnlyList<int> pids, ICgroupLog log)
    {
        bool fresh = plan.MustBeNew;   // a create: the cgroup must be new, and the leaf mkdir decides it
        var dir = Dir(target);
        bool marked = false;
        CgroupTree.Transactional(Fs, target, log, created =>
        {
            if (!CgroupTree.MakeLevels(Fs, _h.DirectoryOf, target.CgroupPath, created, log, exclusive: fresh)) throw CgroupErrors.AlreadyExists(target.CgroupPath, target.RequestedPath);
            // Marked right after the mkdir that made it ours (CreateMark: on a unified-only host these two calls are
            // the one window, where the new leaf is empty and bounded by its parent).
            marked = CreateMark.SetOrWarn(Fs, dir, log);
            CrashPoint.Hit("create:marked");
            Execute(target, plan, log);
            CrashPoint.Hit("create:written");
        }, lost: () => marked && !CreateMark.IsOwn(dir));
        var outcomes = pids.Count == 0 ? Array.Empty<ProcessOutcome>() : AddProcesses(target, pids, log);
        CrashPoint.Hit("create:moved");
        CreateMark.ClearOrWarn(Fs, dir, log);   // the very last step: now it is complete
        return outcomes;
    }

    /// <summary>
    /// Enables the controllers the plan's files belong to in every ancestor's <c>cgroup.subtree_control</c>,
    /// top-down (cgroup-v2.rst "Enabling and Disabling": a controller is usable in a cgroup only when its
    /// parent enables it). Only what is needed and not yet enabled is written — all at once, then one at a time
    /// if the batch fails, so the error names the controller that could not be enabled.
    /// </summary>
    private void EnableControllers(CgroupTarget target, CgroupPlan plan, ICgroupLog log)
    {
        var needed = plan.Writes.Select(w => w.Controller).Where(c => c != "cgroup").Distinct(StringComparer.Ordinal).ToList();
        if (needed.Count == 0) return;
        string parentPath = "/";
        foreach (var level in CgroupTree.Levels(target.CgroupPath))
        {
            var dir = _h.DirectoryOf(parentPath);
            var file = Path.Combine(dir, "cgroup.subtree_control");
            var enabled = Words(Fs.TryRead(file));
            var missing = needed.Where(c => !enabled.Contains(c)).ToList();
            if (missing.Count > 0)
            {
                var batch = string.Join(' ', missing.Select(c => "+" + c));
                if (Fs.TryWrite(file, batch, log) != 0)
                {
                    foreach (var c in missing)
                    {
                        int errno = Fs.TryWrite(file, "+" + c, log);
                        if (errno != 0)
                            throw CgroupFs.WriteFailed(file, "+" + c, errno, errno == Errno.EBUSY
                                ? "the cgroup has processes of its own, and cgroup v2 only lets a cgroup without processes enable controllers for its children"
                                : $"the {c} controller cannot be enabled here");
                    }
                }
            }
            parentPath = level;
        }
    }

    /// <inheritdoc/>
    public void Apply(CgroupTarget target, CgroupPlan plan, ICgroupLog log)
    {
        if (!Exists(target)) throw CgroupErrors.NotFound(target.CgroupPath, target.RequestedPath);
        Execute(target, plan, log);
    }

    private void Execute(CgroupTarget target, CgroupPlan plan, ICgroupLog log)
    {
        EnableControllers(target, plan, log);
        var dir = Dir(target);
        foreach (var w in plan.Writes)
        {
            var file = Path.Combine(dir, w.File);
            int errno = Fs.TryWrite(file, w.Value, log);
            if (errno == 0) continue;
            if (errno == Errno.EBUSY && w.File == "memory.max")
            {
                var usage = Fs.TryReadValue(Path.Combine(dir, "memory.current")) ?? "?";
                var peak = Fs.TryReadValue(Path.Combine(dir, "memory.peak")) ?? "?";
                throw new CgroupException(ErrorIds.MemoryLimitBusy, CgroupErrorKind.ResourceBusy,
                    $"unable to set memory limit to {w.Value} (current usage {usage}, peak usage {peak}): {Errno.Describe(errno)}", file, errno);
            }
            if (CpusetWriteFailed(target, w, errno) is { } cpusetError) throw cpusetError;
            throw CgroupFs.WriteFailed(file, w.Value, errno,
                errno == Errno.ENOENT ? $"the {w.Controller} controller is not enabled for this cgroup" : null);
        }
        // The program, and the rule list it was built from for hot updates (CgroupV2Driver.Devices.cs).
        if (plan.DeviceTarget is { } devices) ApplyDevices(dir, devices, log);
    }

    /// <inheritdoc/>
    public IReadOnlyList<ProcessOutcome> AddProcesses(CgroupTarget target, IReadOnlyList<int> pids, ICgroupLog log)
    {
        if (!Exists(target)) throw CgroupErrors.NotFound(target.CgroupPath, target.RequestedPath);
        var outcomes = new List<ProcessOutcome>(pids.Count);
        foreach (var pid in pids)
        {
            outcomes.Add(CgroupTree.AddOutcome(Fs, pid, Fs.TryAddProcess(Dir(target), pid, log), Dir(target)));
        }
        return outcomes;
    }

    /// <inheritdoc/>
    public IReadOnlyList<int> GetProcesses(CgroupTarget target) => TaskMoves.Sorted(ProcessesIn(Dir(target)));

    /// <inheritdoc/>
    public CgroupSnapshot Read(CgroupTarget target)
    {
        var dir = Dir(target);
        if (!Fs.DirectoryExists(dir)) throw CgroupErrors.NotFound(target.CgroupPath, target.RequestedPath);
        long? Num(string file) => Fs.TryReadNumberIn(dir, file, out _);
        string? Str(string file) => Fs.TryReadIn(dir, file)?.Trim();
        long? quota = null, period = null;
        if (Str("cpu.max") is { } cpuMax)
        {
            var f = cpuMax.Split(' ');
            quota = f[0] == "max" ? -1 : long.TryParse(f[0], NumberStyles.None, CultureInfo.InvariantCulture, out var q) ? q : null;
            if (f.Length > 1 && long.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out var p)) period = p;
        }
        string? freezer = Str("cgroup.freeze") switch { "1" => Frozen(dir) ? "FROZEN" : "FREEZING", "0" => "THAWED", _ => null };
        var membership = Membership(dir);
        IReadOnlyList<string> devices;
        try { devices = DevicePrograms.Attached(Fs, dir).Select(id => $"eBPF program {id}").ToList(); }
        catch (CgroupException) { devices = Array.Empty<string>(); }
        return new CgroupSnapshot
        {
            Target = target,
            Driver = Kind,
            Mode = Host.Mode,
            Paths = GetPaths(target),
            Marked = CreateMark.IsSet(dir),
            KillInterrupted = KillMark.Interrupted(dir, freezer),
            Pids = membership.Pids,
            Threads = membership.Threads,
            MemoryLimit = Num("memory.max"),
            MemorySwap = Num("memory.swap.max"),
            MemoryReservation = Num("memory.low"),
            MemoryUsage = Num("memory.current"),
            CpuShares = Num("cpu.weight"),
            CpuQuota = quota,
            CpuPeriod = period,
            Cpus = Str("cpuset.cpus"),
            Mems = Str("cpuset.mems"),
            PidsLimit = Num("pids.max"),
            PidsCurrent = Num("pids.current"),
            BlkioWeight = Num("io.bfq.weight") ?? Num("io.weight"),
            Devices = devices,
            FreezerState = freezer,
        };
    }

    private bool Frozen(string dir) =>
        (Fs.TryRead(Path.Combine(dir, "cgroup.events")) ?? "").Split('\n').Any(l => l.Trim() == "frozen 1");

    /// <inheritdoc/>
    public RemoveOutcome Remove(CgroupTarget target, RemoveOptions options, ICgroupLog log)
    {
        var dir = Dir(target);
        var moved = new HashSet<int>();
        var killed = new HashSet<int>();
        if (options.Kill)
        {
            var killFile = Path.Combine(dir, "cgroup.kill");
            foreach (var d in CgroupTree.PostOrder(dir)) killed.UnionWith(ProcessesIn(d));
            // cgroup.kill (Linux 5.14) kills the whole subtree atomically, forks included. A threaded cgroup refuses it
            // (EOPNOTSUPP, kernel/cgroup/cgroup.c cgroup_kill_write: killing is process-directed): there the processes
            // of its threads get SIGKILL, which ends every thread of each (signal(7)), under the freezer.
            if (File.Exists(killFile) && !Threaded(dir))
            {
                Fs.Write(killFile, "1", log);
            }
            else
            {
                KillMark.Set(Fs, dir, log);   // a kill cut short from here to the thaw leaves it frozen: say so (KillMark)
                SetFreezer(target, FreezerState.Frozen, log);
                foreach (var pid in killed.Where(p => !TaskMoves.OutOfReach(p))) { log.Verbose($"kill -KILL {pid}"); Libc.Kill(pid, 9); }
                SetFreezer(target, FreezerState.Thawed, log);
                KillMark.Clear(Fs, dir, log);
            }
            for (int i = 0; i < 200 && CgroupTree.PostOrder(dir).Any(d => Fs.ReadTasksToMove(d).Ids.Count > 0); i++) Thread.Sleep(10);
        }
        var parentDir = _h.DirectoryOf(CgroupPathText.Dir(target.CgroupPath));
        var failures = new List<string>();
        int failedErrno = 0;
        int removed = CgroupTree.RemoveSubtree(Fs, dir, parentDir, moved, log, Host.Options.ProcRoot, _h.MountPoint, failures, ref failedErrno);
        if (failures.Count > 0) throw CgroupErrors.RemoveFailed(target.CgroupPath, failures, failedErrno);
        return new RemoveOutcome(moved.Count, killed.Count, removed);
    }

    /// <inheritdoc/>
    public void SetFreezer(CgroupTarget target, FreezerState state, ICgroupLog log)
    {
        var dir = Dir(target);
        var file = Path.Combine(dir, "cgroup.freeze");
        if (!File.Exists(file)) throw CgroupErrors.NotFound(target.CgroupPath, target.RequestedPath);
        Fs.Write(file, state == FreezerState.Frozen ? "1" : "0", log);
        if (state == FreezerState.Thawed) return;
        // The kernel sets "frozen 1" in cgroup.events once every task stopped (cgroup-v2.rst "cgroup.freeze").
        for (int i = 0; i < 1000; i++)
        {
            if (Frozen(dir)) return;
            Thread.Sleep(i < 10 ? 1 : 10);
        }
        throw new CgroupException(ErrorIds.FreezeFailed, CgroupErrorKind.ResourceBusy, $"{dir} did not report frozen within 10 s", dir);
    }

    /// <inheritdoc/>
    public IReadOnlyList<CgroupTarget> Find(string root) => CgroupTree.FindKata(Fs, new[] { _h.DirectoryOf(root) }, root);
}
