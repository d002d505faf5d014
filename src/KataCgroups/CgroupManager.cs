using KataCgroups.Devices;
using KataCgroups.Drivers;
using KataCgroups.Drivers.V1;
using KataCgroups.Drivers.V2;
using KataCgroups.Drivers.Systemd;
using KataCgroups.Errors;
using KataCgroups.Host;
using KataCgroups.Interop;
using KataCgroups.Model;
using KataCgroups.Paths;
using KataCgroups.Resources;

namespace KataCgroups;

/// <summary>
/// The result of a mutating call: a value, or the reason it was skipped. Rootless is an outcome, not an
/// exception (STYLE rule 7; opencontainers/cgroups ErrRootless): callers warn and carry on.
/// </summary>
public readonly record struct Outcome<T>(T? Value, string? SkippedReason)
{
    /// <summary>True when nothing was done.</summary>
    public bool Skipped => SkippedReason is not null;
}

/// <summary>
/// The engine's front door: resolves Kata paths, adds the hypervisor devices, picks the driver for the host
/// (probed once), guards rootless, and delegates to the driver. Everything a cmdlet does goes through here.
/// A manager owns the host's opened hierarchy roots (<see cref="CgroupFs"/>), which its drivers work beneath, and
/// closes them when disposed; the managers <see cref="ForSystemdBus"/> returns share them and are disposed with it.
/// </summary>
public sealed partial class CgroupManager : IDisposable
{
    private static readonly object CacheLock = new();
    private static (string MountInfo, CgroupManager Manager, MountWatch Watch)? _cache;

    private readonly CgroupFs _fs;
    private readonly bool _ownsFs;
    private readonly ICgroupDriver? _fsDriver;
    private readonly string? _busAddress;
    private readonly Lazy<CgroupSystemdDriver> _systemd;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, CgroupManager> _byBus = new(StringComparer.Ordinal);

    /// <summary>Creates a manager for a probed host, opening its hierarchies (closed by <see cref="Dispose"/>).</summary>
    public CgroupManager(HostInfo host) : this(host, CgroupFs.For(host), ownsFs: true, null, null) { }

    private CgroupManager(HostInfo host, CgroupFs fs, bool ownsFs, ICgroupDriver? fsDriver, string? busAddress)
    {
        Host = host;
        _fs = fs;
        _ownsFs = ownsFs;
        _fsDriver = fsDriver ?? host.Mode switch
        {
            CgroupMode.Legacy or CgroupMode.Hybrid => new CgroupV1Driver(host, fs),
            _ when host.Unified is { } unified => new CgroupV2Driver(host, unified, fs),
            _ => null,
        };
        _busAddress = busAddress;
        _systemd = new Lazy<CgroupSystemdDriver>(() => new CgroupSystemdDriver(Host, SystemdCgroupfs(), _fs, _busAddress));
    }

    /// <summary>
    /// Closes the systemd connections and, for the manager that opened them, the hierarchy roots. Calls still under way
    /// finish; later ones fail with <see cref="ObjectDisposedException"/>.
    /// </summary>
    public void Dispose()
    {
        foreach (var m in _byBus.Values) m.Dispose();
        if (_systemd.IsValueCreated) _systemd.Value.Dispose();
        if (_ownsFs) _fs.Dispose();
    }

    /// <summary>The cgroupfs driver the systemd driver reads and writes through: this host's (v1 where it has none).</summary>
    private ICgroupDriver SystemdCgroupfs() => _fsDriver ?? new CgroupV1Driver(Host, _fs);

    /// <summary>
    /// The same host with the systemd driver talking to <paramref name="address"/> (a D-Bus address such as
    /// <c>unix:path=/run/dbus/system_bus_socket</c>); null for the default choice (private socket, then the system bus).
    /// It shares this manager's hierarchy roots and is disposed with it.
    /// </summary>
    public CgroupManager ForSystemdBus(string? address) =>
        string.IsNullOrEmpty(address) || address == _busAddress ? this
            : _byBus.GetOrAdd(address, a => new CgroupManager(Host, _fs, ownsFs: false, _fsDriver, a));

    /// <summary>The systemd driver of this manager (connects on first use).</summary>
    public CgroupSystemdDriver Systemd => _systemd.Value;

    /// <summary>The host.</summary>
    public HostInfo Host { get; }

    /// <summary>Probes with the given options (no caching); the caller disposes the manager.</summary>
    public static CgroupManager ForHost(HostOptions? options = null) => new(HostProbe.Probe(options));

    /// <summary>
    /// The manager for this host, probed once per process and probed again only when the mount table changes
    /// (a hierarchy mounted or unmounted since the last call). It lives as long as the process: the cmdlets of every
    /// runspace share it (its state is the host's, read-only once probed, its hierarchy roots, plus the systemd
    /// connection, which reconnects on its own). It is never disposed: after a mount change a new one replaces it for
    /// later callers while earlier callers keep theirs (a command under way finishes on the hierarchies it started
    /// on), and the replaced one's handles are closed by their finalizers once no caller holds it. Tests and tools
    /// that want their own host use <see cref="ForHost"/> and dispose it.
    /// </summary>
    public static CgroupManager Default
    {
        get
        {
            lock (CacheLock)
            {
                // Every command asks: one poll(2) answers "no mount changed" (MountWatch); only after a change is
                // the table read again, and the host probed again only if it really differs.
                var cached = _cache;
                if (cached is { } c && !c.Watch.MayHaveChanged()) return c.Manager;
                var options = new HostOptions();
                var watch = cached?.Watch ?? new MountWatch(options.MountInfoFile);   // opened before the read: no change is missed
                try
                {
                    string mountInfo = File.ReadAllText(options.MountInfoFile);
                    if (cached is { } old && old.MountInfo == mountInfo) return old.Manager;
                    var m = new CgroupManager(HostProbe.Probe(options));
                    _cache = (mountInfo, m, watch);
                    return m;
                }
                catch when (cached is null)
                {
                    watch.Dispose();   // a failed first probe keeps no descriptor open
                    throw;
                }
            }
        }
    }

    /// <summary>
    /// Applies the Kata path rules. <see cref="DriverSelection.Systemd"/> requires the systemd form (the systemd mode
    /// of Kata's Go manager, virtcontainers/pkg/cgroups/manager.go); <see cref="DriverSelection.Cgroupfs"/> refuses it,
    /// because a systemd-form path names a unit only systemd can manage.
    /// </summary>
    public CgroupTarget Resolve(string path, DriverSelection selection = DriverSelection.Auto)
    {
        var target = CgroupTarget.Resolve(path, selection == DriverSelection.Systemd);
        if (selection == DriverSelection.Cgroupfs && target.Systemd is not null)
            throw new CgroupException(ErrorIds.InvalidCgroupPath, CgroupErrorKind.InvalidArgument,
                $"'{KataPath.Show(path)}' is a systemd path (slice:prefix:name): it names a systemd unit, which the cgroupfs driver does not manage; use -Driver Systemd or Auto",
                path);
        return target;
    }

    /// <summary>The driver for a target on this host.</summary>
    public ICgroupDriver DriverFor(CgroupTarget target)
    {
        if (target.Systemd is not null) return _systemd.Value;
        return _fsDriver ?? throw new CgroupException(ErrorIds.UnsupportedOnHost, CgroupErrorKind.NotSupported,
            $"no cgroup hierarchy is mounted under {Host.Options.CgroupRoot}",
            Host.Options.CgroupRoot);
    }

    /// <summary>Which driver manages <paramref name="target"/> on this host.</summary>
    public DriverKind DriverKindFor(CgroupTarget target) => DriverFor(target).Kind;

    /// <summary>The processes of the cgroup in any hierarchy, sorted (what a removal moves or kills).</summary>
    public IReadOnlyList<int> GetProcesses(CgroupTarget target) => DriverFor(target).GetProcesses(target);

    /// <summary>
    /// A sandbox's device rules: the caller's (kept, unlike Kata's Go manager), then the hypervisor devices found under the
    /// host's dev root (each missing one a host notice: warned once per session), then runc's default devices.
    /// </summary>
    public List<DeviceRule> SandboxDevices(LinuxResources resources, ICgroupLog log,
        Func<string, (DeviceNode? Node, string? Error)>? stat = null)
    {
        var caller = (resources.Devices ?? new()).Select(DeviceRule.FromOci);
        var hypervisor = HypervisorDevices.Build(Host.Options.DevRoot, stat ?? HypervisorDevices.Stat, log.HostNotice);
        return HypervisorDevices.ForSandbox(caller, hypervisor, log.Warning);
    }

    /// <summary>
    /// The plan for creating <paramref name="target"/> with <paramref name="resources"/> (devices always applied).
    /// A value this host cannot apply fails it (<see cref="CgroupPlan.Unsupported"/>) unless
    /// <paramref name="skipUnsupported"/>, which leaves such values out with a warning each.
    /// </summary>
    public CgroupPlan PlanCreate(CgroupTarget target, LinuxResources resources, ICgroupLog log, bool skipUnsupported = false)
    {
        // Values are validated by the driver's compiler (ResourceValidator), before anything is read or written.
        var driver = DriverFor(target);
        var plan = Enforce(driver.Plan(target, resources, SandboxDevices(resources, log), create: true), skipUnsupported);
        CheckCpuset(driver, target, resources);   // CgroupManager.Devices.cs
        return plan;
    }

    /// <summary>The plan for updating an existing cgroup; devices only when the resources carry device rules.</summary>
    public CgroupPlan PlanUpdate(CgroupTarget target, LinuxResources resources, ICgroupLog log, bool skipUnsupported = false)
    {
        var driver = DriverFor(target);
        if (!driver.Exists(target)) throw CgroupErrors.NotFound(target.CgroupPath, target.RequestedPath);
        var devices = resources.Devices is null ? null : SandboxDevices(resources, log);
        var plan = Enforce(driver.Plan(target, resources, devices), skipUnsupported);
        CheckCpuset(driver, target, resources);   // CgroupManager.Devices.cs
        return plan;
    }

    /// <summary>
    /// The plan as -WhatIf shows it, one line per step: each systemd property, each write with its absolute file,
    /// then the OCI values that landed as a different number (<c>cpu.shares 512 → cpu.weight 59</c>; a value that only
    /// changed its file name, such as v1's <c>cpu.shares 1024 → cpu.shares 1024</c>, says nothing the write does not),
    /// then the plan's warnings.
    /// </summary>
    public IReadOnlyList<string> DescribePlan(CgroupTarget target, CgroupPlan plan)
    {
        var dirs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in GetPaths(target)) dirs.TryAdd(p.Controller, p.Directory);
        string FileOf(CgroupWrite w) =>
            dirs.TryGetValue(w.Controller, out var d) || dirs.TryGetValue("unified", out d) ? Path.Combine(d, w.File) : w.File;
        var lines = new List<string>();
        lines.AddRange(plan.UnitProperties.Select(p => "systemd " + p));
        lines.AddRange(plan.Writes.Select(w => FileOf(w) + " = " + w.Value));
        lines.AddRange(plan.Conversions.Where(c => c.ChangesValue).Select(c => "(from) " + c));
        lines.AddRange(plan.Warnings.Select(w => "(warning) " + w));
        return lines;
    }

    /// <summary>
    /// A request the host cannot apply in full fails before anything is written, as runc and Kata's manager fail
    /// it (a subsystem's Set errors on the file it cannot write): a sandbox without the limit it was given is
    /// worse than no sandbox. The first such value is the error; the message names the others. Opted in, the
    /// values are left out and each is said in a warning.
    /// </summary>
    internal static CgroupPlan Enforce(CgroupPlan plan, bool skipUnsupported)
    {
        if (plan.Unsupported.Count == 0) return plan;
        if (!skipUnsupported)
        {
            var first = plan.Unsupported[0];
            if (plan.Unsupported.Count == 1) throw first;
            var others = string.Join("; ", plan.Unsupported.Skip(1).Select(e => e.Message));
            throw new CgroupException(first.ErrorId, first.Kind, $"{first.Message} (and: {others})", first.Target);
        }
        var warnings = plan.Warnings.Concat(plan.Unsupported.Select(e => $"skipped (-SkipUnsupported): {e.Message}")).ToList();
        return new CgroupPlan(plan.Writes, warnings, plan.Conversions, plan.DeviceTarget, plan.UnitProperties);
    }

    /// <summary>
    /// Creates the cgroup (all or nothing), moves <paramref name="pids"/> in, and reads it back — unless
    /// <paramref name="readBack"/> is false, when the outcome's value is null and a dozen file reads are saved.
    /// </summary>
    /// <para>
    /// A cgroup that is there but unfinished (<see cref="CgroupCompleteness.Unfinished"/>: a create or removal killed
    /// half-way) is not "already there": it fails with <see cref="ErrorIds.CgroupUnfinished"/>, or, with
    /// <paramref name="completeUnfinished"/>, is completed — the missing directories made, every requested value
    /// written again from the reset (device rules included), the processes moved in, and the mark cleared last.
    /// A complete cgroup stays <see cref="ErrorIds.CgroupAlreadyExists"/> either way.
    /// </para>
    public Outcome<CgroupSnapshot> Create(CgroupTarget target, CgroupPlan plan, ICgroupLog log, IReadOnlyList<int>? pids = null, bool readBack = true,
        bool completeUnfinished = false)
    {
        pids ??= Array.Empty<int>();
        foreach (var pid in pids) ValidatePid(pid);
        var driver = DriverFor(target);
        if (Host.RootlessReason is { } why) return new(null, why);
        // cgroupfs: the create itself is exclusive (a leaf mkdir that finds the directory there fails it, and only
        // this call's directories are rolled back), so no stat of every hierarchy first. systemd: ask first.
        if (driver.Kind == DriverKind.Systemd && driver.Exists(target)) throw CgroupErrors.AlreadyExists(target.CgroupPath, target.RequestedPath);
        ReportPlan(plan, log);
        IReadOnlyList<ProcessOutcome> outcomes;
        try { outcomes = driver.Create(target, plan.ForCreate(), pids, log); }
        catch (CgroupException e) when (e.ErrorId == ErrorIds.CgroupAlreadyExists && driver.Kind != DriverKind.Systemd
                                        && SettledState(driver, target) is { Unfinished: true, InProgress: false } state)
        {
            // A removal cut short is finished by Remove-KataCgroup, not completed as a create: -Force does not apply.
            if (!completeUnfinished || state.KillInterrupted) throw Unfinished(target, state, "create it");
            log.Warning($"completing cgroup {target.CgroupPath}: {state.Reason}; every requested value is written again");
            // Not exclusive: the directories that are there are taken as they are (the mark stays on until the end).
            outcomes = driver.Create(target, plan, pids, log);
        }
        foreach (var o in outcomes)
            if (!o.Added) log.Warning(o.Error ?? $"process {o.Pid} was not added");
        if (!readBack) return new(null, null);
        try { return new(driver.Read(target), null); }
        catch (CgroupException e) when (e.ErrorId is ErrorIds.CgroupNotFound or ErrorIds.CgroupReadFailed && !driver.Exists(target))
        {
            throw CgroupErrors.RemovedConcurrently(target.CgroupPath, target.RequestedPath, "was being read back after its create", e);
        }
    }

    /// <summary>
    /// The state of a cgroup a create found there already, told apart from a create that is running right now: a
    /// mark naming a live process is a create in progress (the caller lost the race: CgroupAlreadyExists), and a leaf
    /// that is only in the first hierarchy without a mark may be a live creator between its first mkdir and its mark —
    /// microseconds — so that state is asked again a few times before it counts as unfinished.
    /// </summary>
    private static CgroupCompleteness SettledState(ICgroupDriver driver, CgroupTarget target)
    {
        var state = driver.Check(target);
        for (int i = 0; i < 5 && state is { Unfinished: true, Marked: false }; i++)
        {
            Thread.Sleep(2);
            state = driver.Check(target);
        }
        return state;
    }

    /// <summary>
    /// Before a change to a cgroup that may be unfinished (Set, Suspend/Resume, device updates): a warning naming
    /// what is missing, so a change never lands silently on a cgroup that is not what it seems. Reads only.
    /// </summary>
    private static void WarnIfUnfinished(ICgroupDriver driver, CgroupTarget target, ICgroupLog log, string action)
    {
        if (driver.Kind == DriverKind.Systemd) return;
        if (driver.Check(target) is { Unfinished: true } state)
            log.Warning($"{action} cgroup {target.CgroupPath}, which is unfinished: {state.Reason}. Remove it with Remove-KataCgroup" +
                (state.KillInterrupted ? "" : ", or complete it with New-KataCgroup -Force"));
    }

    /// <summary><see cref="ErrorIds.CgroupUnfinished"/>, saying what to do.</summary>
    internal static CgroupException Unfinished(CgroupTarget target, CgroupCompleteness state, string action) =>
        new(ErrorIds.CgroupUnfinished, CgroupErrorKind.ResourceBusy,
            $"cannot {action}: cgroup {target.CgroupPath} is unfinished — {state.Reason}. Remove it with Remove-KataCgroup" +
            (state.KillInterrupted ? "" : ", or complete it with New-KataCgroup -Force and the same values"),
            target.RequestedPath);

    /// <summary>Applies a plan to an existing cgroup and reads it back (unless <paramref name="readBack"/> is false).</summary>
    public Outcome<CgroupSnapshot> Update(CgroupTarget target, CgroupPlan plan, ICgroupLog log, bool readBack = true)
    {
        var driver = DriverFor(target);
        if (Host.RootlessReason is { } why) return new(null, why);
        WarnIfUnfinished(driver, target, log, "changing");
        ReportPlan(plan, log);
        try { driver.Apply(target, plan, log); }
        catch (CgroupException e) when (e.Errno is Errno.ENOENT or Errno.ENODEV && driver.Kind != DriverKind.Systemd && GoneMeanwhile(driver, target, e))
        {
            // Removed by another process between the existence check and a write: not a failed write. A removal
            // takes one hierarchy after the other, so the file's own directory is what tells.
            throw new CgroupException(ErrorIds.CgroupNotFound, CgroupErrorKind.NotFound,
                $"cgroup {target.CgroupPath} was removed by another process while it was being changed ({e.Message})", target.RequestedPath, e.Errno, e);
        }
        return new(readBack ? driver.Read(target) : null, null);
    }

    /// <summary>True when a write failed because another process removed the cgroup under it (<see cref="CgroupTree.RemovedUnder"/>).</summary>
    private bool GoneMeanwhile(ICgroupDriver driver, CgroupTarget target, CgroupException e) =>
        CgroupTree.RemovedUnder(_fs, e.Target, e.Errno) || !driver.Exists(target);

    /// <summary>
    /// Says what the plan skipped and what it converted: an OCI value that lands in a file as a different number
    /// (v2: cpu.shares 512 → cpu.weight 59) is worth a warning, once per cgroup.
    /// </summary>
    private static void ReportPlan(CgroupPlan plan, ICgroupLog log)
    {
        foreach (var w in plan.Warnings) log.Warning(w);
        var changed = plan.Conversions.Where(c => c.ChangesValue).ToList();
        if (changed.Count > 0)
            log.Warning($"values converted for this host: {string.Join("; ", changed)}");
    }

    /// <summary>
    /// Moves processes into the cgroup. Pids must be positive (0 would mean "the writer itself" to the kernel). An
    /// unfinished cgroup (<see cref="CgroupCompleteness.Unfinished"/>) may lack its limits or device rules, so moving a
    /// VMM into it fails with <see cref="ErrorIds.CgroupUnfinished"/> unless <paramref name="force"/> (then a warning).
    /// </summary>
    public Outcome<IReadOnlyList<ProcessOutcome>> AddProcesses(CgroupTarget target, IReadOnlyList<int> pids, ICgroupLog log, bool force = false)
    {
        foreach (var pid in pids) ValidatePid(pid);
        var driver = DriverFor(target);
        if (Host.RootlessReason is { } why) return new(null, why);
        if (driver.Kind != DriverKind.Systemd && driver.Check(target) is { Unfinished: true } state)
        {
            if (!force) throw Unfinished(target, state, $"move process(es) {string.Join(", ", pids)} in");
            log.Warning($"moving process(es) into cgroup {target.CgroupPath}, which is unfinished (-Force): {state.Reason}");
        }
        var outcomes = driver.AddProcesses(target, pids, log);
        if (!outcomes.Any(o => o.ErrorId == ErrorIds.CpusetEmpty) || driver.Check(target) is not { Unfinished: true } now)
            return new(outcomes, null);
        return new(EmptyCpusetOfUnfinished(target, outcomes, now), null);
    }

    /// <summary>
    /// A move refused for an empty cpuset (<see cref="ErrorIds.CpusetEmpty"/>) into a cgroup that is unfinished right
    /// after the refusal: its cpuset directory is there but a create has not written <c>cpuset.cpus</c> yet — another
    /// process removed the cgroup and is making it again, or a create was cut short. That is what the user is told,
    /// with the id of an unfinished cgroup, rather than to set CPUs on a cgroup whose create will write them.
    /// </summary>
    internal static List<ProcessOutcome> EmptyCpusetOfUnfinished(CgroupTarget target, IEnumerable<ProcessOutcome> outcomes, CgroupCompleteness now) =>
        outcomes.Select(o => o.ErrorId != ErrorIds.CpusetEmpty ? o : o with
        {
            ErrorId = ErrorIds.CgroupUnfinished,
            Error = $"could not move process {o.Pid} into cgroup {target.CgroupPath}: it is unfinished — {now.Reason} " +
                (now.InProgress ? "(another process is creating it now, so its cpuset has no CPUs yet)" : "(its cpuset has no CPUs yet)") +
                ". Remove it with Remove-KataCgroup" + (now.KillInterrupted ? "" : ", or complete it with New-KataCgroup -Force"),
        }).ToList();

    /// <summary>
    /// Moves or kills the processes, then removes every directory of the cgroup; with
    /// <see cref="RemoveOptions.RemoveEmptyParent"/>, then the parents a create made that are left empty
    /// (<see cref="RemoveEmptyParents"/>).
    /// </summary>
    public Outcome<RemoveOutcome> Remove(CgroupTarget target, RemoveOptions options, ICgroupLog log)
    {
        var driver = DriverFor(target);
        if (Host.RootlessReason is { } why) return new(null, why);
        if (!driver.Exists(target)) throw CgroupErrors.NotFound(target.CgroupPath, target.RequestedPath);
        var outcome = driver.Remove(target, options, log);
        if (!options.RemoveEmptyParent) return new(outcome, null);
        return new(outcome with { RemovedParents = RemoveEmptyParents(target, options.ConfirmParent, log) }, null);
    }

    /// <summary>
    /// What <see cref="RemoveOptions.RemoveEmptyParent"/> would remove once <paramref name="target"/> is gone (for
    /// -WhatIf): the same walk as <see cref="RemoveEmptyParents"/>, with the cgroup's own directory not counted as a
    /// child. Reads only.
    /// </summary>
    public IReadOnlyList<string> EmptyParents(CgroupTarget target) => WalkParents(target, null, NullCgroupLog.Instance, dryRun: true);

    /// <summary>
    /// Removes, in every hierarchy and from the cgroup's parent upwards, each directory that a create made
    /// (<see cref="ParentMark"/>) and that holds no process and no other child cgroup, asking
    /// <paramref name="confirm"/> first; stops in that hierarchy at the first one that is not so, at the hierarchy's
    /// root (never removed), or at a refused rmdir. Returns the directories removed. systemd removes its slices itself
    /// (an empty transient slice is garbage-collected: systemd.slice(5)), so for a systemd cgroup this does nothing.
    /// </summary>
    public IReadOnlyList<string> RemoveEmptyParents(CgroupTarget target, Func<string, bool>? confirm, ICgroupLog log) =>
        WalkParents(target, confirm, log, dryRun: false);

    private List<string> WalkParents(CgroupTarget target, Func<string, bool>? confirm, ICgroupLog log, bool dryRun)
    {
        var removed = new List<string>();
        if (target.Systemd is not null)
        {
            log.Verbose($"{target.CgroupPath}: systemd removes the slices it no longer needs itself; no parent directory is removed");
            return removed;
        }
        foreach (var leaf in GetPaths(target).Select(p => p.Directory).Distinct())
        {
            if (!leaf.EndsWith(target.CgroupPath, StringComparison.Ordinal)) continue;
            var mount = leaf[..^target.CgroupPath.Length];
            var child = leaf;
            for (var level = CgroupPathText.Dir(target.CgroupPath); level != "/"; level = CgroupPathText.Dir(level))
            {
                var dir = mount + level;
                var kept = CgroupTree.WhyKeepParent(_fs, dir, dryRun ? child : null);
                if (kept is null && !dryRun && confirm is not null && !confirm(dir)) kept = "not confirmed";
                if (kept is null && !dryRun)
                {
                    int errno = _fs.TryRmdirOnce(dir, log);
                    if (errno != 0) kept = $"rmdir: {Interop.Errno.Describe(errno)}";
                }
                if (kept is not null)
                {
                    log.Verbose($"kept parent {dir}: {kept}");
                    break;
                }
                removed.Add(dir);
                child = dir;
            }
        }
        return removed;
    }

    /// <summary>Freezes or thaws.</summary>
    public Outcome<bool> SetFreezer(CgroupTarget target, FreezerState state, ICgroupLog log)
    {
        var driver = DriverFor(target);
        if (Host.RootlessReason is { } why) return new(false, why);
        driver.SetFreezer(target, state, log);
        return new(true, null);
    }

    /// <summary>Reads a cgroup back from the host.</summary>
    public CgroupSnapshot Read(CgroupTarget target) => DriverFor(target).Read(target);

    /// <summary>True when the cgroup exists.</summary>
    public bool Exists(CgroupTarget target) => DriverFor(target).Exists(target);

    /// <summary>Throws <see cref="ErrorIds.CgroupNotFound"/> unless the cgroup exists (before describing a change to it).</summary>
    public void EnsureExists(CgroupTarget target)
    {
        if (!Exists(target)) throw CgroupErrors.NotFound(target.CgroupPath, target.RequestedPath);
    }

    /// <summary>The cgroup's directory per controller (whether or not it exists yet).</summary>
    public IReadOnlyList<ControllerPath> GetPaths(CgroupTarget target) => DriverFor(target).GetPaths(target);

    /// <summary>
    /// The Kata cgroups on this host, sorted by directory. A Kata cgroup is:
    /// <list type="bullet">
    /// <item>cgroupfs: a directory, at any depth of any hierarchy, whose name is <c>kata_</c> followed by at least one
    /// character — the leaf Kata's RenameCgroupPath gives every path (<c>/kubepods/pod1/sandbox1</c> →
    /// <c>/kubepods/pod1/kata_sandbox1</c>) — or <c>/kata_</c>, what the path <c>/</c> becomes. A directory that is
    /// there in only some hierarchies (a create or removal cut short) is one too. The create mark
    /// (<see cref="CreateMark"/>) is only ever set on such a leaf, so it adds no cgroup to the list: it tells an
    /// unfinished one from a finished one (<see cref="CgroupSnapshot.Unfinished"/>).</item>
    /// <item>systemd: a unit this module started (its Description names the path it was created with).</item>
    /// </list>
    /// Without <paramref name="roots"/> the whole host is searched (every hierarchy from its root, and every unit of
    /// ours); with them, only at or below those hierarchy-relative directories (cleaned). systemd is asked with
    /// <see cref="DriverSelection.Auto"/> only on a systemd-booted host (or with a bus address), and an unreachable
    /// systemd is then a warning, not an error. Where it looked goes to <paramref name="log"/>'s verbose stream.
    /// </summary>
    public IReadOnlyList<CgroupTarget> Find(IEnumerable<string>? roots = null, DriverSelection selection = DriverSelection.Auto, ICgroupLog? log = null)
    {
        log ??= NullCgroupLog.Instance;
        var given = roots?.ToList();
        foreach (var root in given ?? new List<string>())
        {
            if (KataPath.HasControlCharacter(root))
                throw new CgroupException(ErrorIds.InvalidCgroupPath, CgroupErrorKind.InvalidArgument,
                    $"invalid cgroup root '{KataPath.Show(root)}': it contains a control character", root);
        }
        var clean = (given is { Count: > 0 } ? given : null)?.Select(r => CgroupPathText.Clean("/" + r)).Distinct().ToList();
        // A root below another one adds nothing to the walk of the other.
        var searched = clean is null ? new List<string> { "/" }
            : clean.Where(r => !clean.Any(o => o != r && CgroupPathText.IsAtOrBelow(r, o))).ToList();
        var found = new SortedDictionary<string, CgroupTarget>(StringComparer.Ordinal);
        if (selection != DriverSelection.Systemd && _fsDriver is { } fs)
        {
            foreach (var root in searched)
            {
                var before = found.Count;
                foreach (var t in fs.Find(root)) found.TryAdd(t.CgroupPath, t);
                if (log.VerboseEnabled)
                    log.Verbose($"searched for Kata cgroups (directories named kata_*) at or below {root} in {string.Join(", ", fs.GetPaths(new CgroupTarget(root, root, null)).Select(p => p.Directory).Distinct())}: {found.Count - before} found");
            }
        }
        bool systemd = selection == DriverSelection.Systemd
            || (selection == DriverSelection.Auto && (Host.SystemdBooted || _busAddress is not null));
        if (systemd)
        {
            try
            {
                foreach (var root in searched)
                {
                    var before = found.Count;
                    foreach (var t in _systemd.Value.Find(root)) found.TryAdd(t.CgroupPath, t);
                    log.Verbose($"searched systemd for the units this module started (ListUnits *.scope, *.slice) at or below {root}: {found.Count - before} found");
                }
            }
            catch (CgroupException e) when (selection == DriverSelection.Auto && e.ErrorId == ErrorIds.SystemdUnavailable)
            {
                log.Warning($"systemd units were not listed: {e.Message}");
            }
        }
        else if (selection == DriverSelection.Auto)
        {
            log.Verbose("systemd units were not searched: this host was not booted with systemd (give -SystemdBusAddress to ask one)");
        }
        return found.Values.ToList();
    }

    /// <summary>
    /// What a <c>-Path</c> value names: without wildcards (<see cref="CgroupWildcard.ContainsWildcard"/>), the one cgroup
    /// the Kata rules make of it (its backtick escapes removed), whether or not it exists; with wildcards, every Kata
    /// cgroup on the host that matches (<see cref="Find"/> at or below the pattern's literal prefix, then
    /// <see cref="CgroupWildcard.IsMatch"/>), possibly none.
    /// </summary>
    public PathExpansion Expand(string path, DriverSelection selection = DriverSelection.Auto, ICgroupLog? log = null)
    {
        if (!CgroupWildcard.ContainsWildcard(path))
            return new PathExpansion(path, false, new[] { Resolve(CgroupWildcard.Unescape(path), selection) });
        var wildcard = CgroupWildcard.Compile(path, selection == DriverSelection.Systemd);
        var found = Find(new[] { wildcard.Root }, selection, log);
        var matches = found.Where(wildcard.IsMatch).ToList();
        log?.Verbose($"'{path}' matches {matches.Count} Kata cgroup(s)");
        return new PathExpansion(path, true, matches);
    }

    /// <summary>
    /// The one cgroup a path to create names: wildcards are refused (<see cref="ErrorIds.InvalidCgroupPath"/>) — a create
    /// has nothing to match them against — and backtick escapes are removed, so <c>sb`[1`]</c> creates <c>kata_sb[1]</c>.
    /// </summary>
    public CgroupTarget ResolveNew(string path, DriverSelection selection = DriverSelection.Auto)
    {
        if (CgroupWildcard.ContainsWildcard(path))
            throw new CgroupException(ErrorIds.InvalidCgroupPath, CgroupErrorKind.InvalidArgument,
                $"invalid cgroup path '{KataPath.Show(path)}': it contains a wildcard (*, ? or [), and a create names one cgroup; write a backtick before the character to take it literally",
                path);
        return Resolve(CgroupWildcard.Unescape(path), selection);
    }

    /// <summary>The cgroup's directories (per controller) that exist now.</summary>
    public IReadOnlyList<ControllerPath> ExistingPaths(CgroupTarget target) =>
        GetPaths(target).Where(p => Directory.Exists(p.Directory)).ToList();

    /// <summary>
    /// Names of the cgroup directories directly below the hierarchy-relative <paramref name="cgroupPath"/> in the
    /// host's first hierarchy (the one Find walks), sorted; empty when there are none or they cannot be read.
    /// Cheap and never throws: tab completion calls it on every keystroke.
    /// </summary>
    public IReadOnlyList<string> ChildCgroups(string cgroupPath)
    {
        try
        {
            if (_fsDriver is null || KataPath.HasControlCharacter(cgroupPath)) return Array.Empty<string>();
            var clean = CgroupPathText.Clean("/" + cgroupPath);
            var dir = _fsDriver.GetPaths(new CgroupTarget(clean, clean, null)).FirstOrDefault()?.Directory;
            if (dir is null || !Directory.Exists(dir)) return Array.Empty<string>();
            var names = Directory.GetDirectories(dir).Select(Path.GetFileName).OfType<string>().ToList();
            names.Sort(StringComparer.Ordinal);
            return names;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CgroupException)
        {
            return Array.Empty<string>();
        }
    }

    /// <summary>Throws <see cref="ErrorIds.InvalidProcessId"/> for pids the kernel would misread.</summary>
    public static void ValidatePid(int pid)
    {
        if (pid <= 0)
            throw new CgroupException(ErrorIds.InvalidProcessId, CgroupErrorKind.InvalidArgument,
                $"invalid process id {pid}: process ids are positive (writing 0 to cgroup.procs would move the writer itself)",
                pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }
}
