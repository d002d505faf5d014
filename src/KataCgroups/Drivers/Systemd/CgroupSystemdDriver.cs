using System.Collections.Frozen;
using System.Diagnostics;
using KataCgroups.Devices;
using KataCgroups.Errors;
using KataCgroups.Host;
using KataCgroups.Model;
using KataCgroups.Paths;
using KataCgroups.Resources;
using Tmds.DBus.Protocol;

namespace KataCgroups.Drivers.Systemd;

/// <summary>
/// systemd driver (model: opencontainers/cgroups systemd/v1.go and v2.go): a Kata cgroup in
/// <c>slice:prefix:name</c> form is the transient scope <c>prefix-name.scope</c> in the expanded slice. What
/// systemd has a property for goes over D-Bus; the rest is written through cgroupfs into the scope's
/// directories afterwards, as upstream does. Reading, pids and leftovers go through the cgroupfs driver of the
/// host's mode, pointed at the scope's directory, which the caller hands in and which is used only through
/// <see cref="ICgroupDriver"/> (as runc's systemd/v2.go holds an <c>fsMgr cgroups.Manager</c>).
/// </summary>
public sealed partial class CgroupSystemdDriver : ICgroupDriver, IDisposable
{
    private static readonly TimeSpan JobTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Every unit this module starts is described as <c>KataCgroups sandbox &lt;slice:prefix:name&gt;</c>: systemd keeps
    /// the Description, so Find can list our units and recover the exact path the user gave from one ListUnits call
    /// (a unit name alone is ambiguous: <c>a-b-c.scope</c> may be prefix <c>a</c> or <c>a-b</c>).
    /// </summary>
    internal const string DescriptionPrefix = "KataCgroups sandbox ";

    private readonly ICgroupDriver _fsDriver;
    private readonly HierarchyLayout? _v1;   // v1 and hybrid: the hierarchies, for those systemd does not manage
    private readonly Lazy<Func<char, long, string?>> _procDevices;
    private readonly SystemdBus _bus;
    private readonly bool _unified;

    /// <summary>
    /// Creates the driver over <paramref name="cgroupfs"/>, the cgroupfs driver of the host's mode, both working beneath
    /// the hierarchy roots of <paramref name="fs"/> (the caller, <see cref="CgroupManager"/>, owns and disposes them);
    /// <paramref name="busAddress"/> names a D-Bus address, else the default choice.
    /// </summary>
    internal CgroupSystemdDriver(HostInfo host, ICgroupDriver cgroupfs, CgroupFs fs, string? busAddress, ICgroupLog? log = null)
    {
        Host = host;
        _unified = host.Mode == CgroupMode.Unified;
        _fsDriver = cgroupfs;
        Fs = fs;
        _v1 = _unified ? null : new HierarchyLayout(host, fs);
        _bus = new SystemdBus(busAddress, log ?? NullCgroupLog.Instance);
        _procDevices = new(() => SystemdProperties.ProcDevices(host.Options.ProcRoot));
    }

    /// <summary>The cgroupfs primitives beneath this host's hierarchies (device lists systemd does not report).</summary>
    private CgroupFs Fs { get; }

    /// <inheritdoc/>
    public DriverKind Kind => DriverKind.Systemd;

    /// <inheritdoc/>
    public HostInfo Host { get; }

    private static SystemdPath Unit(CgroupTarget t) =>
        t.Systemd ?? throw new CgroupException(ErrorIds.MalformedSystemdPath, CgroupErrorKind.InvalidArgument,
            $"'{t.RequestedPath}' is not a systemd path (slice:prefix:name)", t.RequestedPath);

    /// <summary>
    /// Blocks on a D-Bus call (the cmdlet edge is synchronous, STYLE rule 10). A refused call becomes
    /// <see cref="ErrorIds.SystemdCallFailed"/> with systemd's error name, which -Debug also shows.
    /// </summary>
    private static T Sync<T>(Task<T> task, ICgroupLog? log = null)
    {
        try { return task.GetAwaiter().GetResult(); }
        catch (DBusErrorReplyException e)
        {
            log?.Debug($"D-Bus error reply {e.ErrorName}: {e.ErrorMessage}");
            throw new CgroupException(ErrorIds.SystemdCallFailed, CgroupErrorKind.WriteFailed, $"systemd refused the call: {e.ErrorName}: {e.ErrorMessage}", e.ErrorName, inner: e);
        }
    }

    private static void Sync(Task task, ICgroupLog? log = null) =>
        Sync(task.ContinueWith(t => { t.GetAwaiter().GetResult(); return true; }, TaskScheduler.Default), log);

    /// <summary>
    /// Waits for a job's JobRemoved. Jobs usually end within milliseconds; one that takes longer than a second
    /// (a slice starting, processes slow to die on stop) shows a progress bar until it ends.
    /// </summary>
    private string WaitJob(string job, string unit, string verb, ICgroupLog log)
    {
        var wait = _bus.WaitForJobAsync(job, JobTimeout);
        var clock = Stopwatch.StartNew();
        bool shown = false;
        try
        {
            while (!wait.Wait(TimeSpan.FromMilliseconds(250)))
            {
                if (clock.Elapsed < TimeSpan.FromSeconds(1)) continue;
                shown = true;
                log.Progress("Waiting for systemd", $"{verb} {unit}: job {job} running for {clock.Elapsed.TotalSeconds:0} s (limit {JobTimeout.TotalSeconds:0} s)",
                    (int)(100 * clock.Elapsed.TotalSeconds / JobTimeout.TotalSeconds), completed: false);
            }
        }
        catch (AggregateException) { /* surfaced by Sync below */ }
        finally
        {
            if (shown) log.Progress("Waiting for systemd", "", 100, completed: true);
        }
        return Sync(wait, log);
    }

    /// <inheritdoc/>
    public bool Exists(CgroupTarget target) => _fsDriver.Exists(target);

    /// <inheritdoc/>
    /// <remarks>
    /// systemd makes the scope's directories itself, in one job, and keeps the unit's state; it also trims hierarchies
    /// it does not manage (after daemon-reexec on v1). So no create mark and no missing-hierarchy rule here: a scope that
    /// exists is finished as far as this module can tell.
    /// </remarks>
    public CgroupCompleteness Check(CgroupTarget target) => new(Exists(target), false, Array.Empty<string>());

    /// <inheritdoc/>
    public IReadOnlyList<ControllerPath> GetPaths(CgroupTarget target) => _fsDriver.GetPaths(target);

    /// <inheritdoc/>
    public CgroupPlan Plan(CgroupTarget target, LinuxResources resources, IReadOnlyList<DeviceRule>? devices, bool create = false)
    {
        var sd = SystemdProperties.Compile(resources, _unified, devices, _procDevices.Value);
        var fsPlan = _fsDriver.Plan(target, sd.Residual, null, create);
        var warnings = sd.Warnings.Concat(fsPlan.Warnings).ToList();
        // v1: rules systemd cannot hold go to devices.allow / devices.deny after systemd has written its own list.
        var writes = fsPlan.Writes.Concat(sd.CgroupfsDevices.Select(RuleWrite)).ToList();
        // A block IO weight this kernel cannot take (no CFQ, no BFQ) is refused by the cgroupfs plan, or left out
        // under -SkipUnsupported: then systemd does not get it either.
        var properties = fsPlan.Unsupported.Any(u => u.ErrorId == ErrorIds.BlockIoWeightUnsupported && u.Target == "blockIO.weight")
            ? sd.Properties.Where(p => p.Name != "BlockIOWeight").ToList()
            : sd.Properties;
        return new CgroupPlan(writes, warnings, fsPlan.Conversions, null, properties, fsPlan.Unsupported);
    }

    /// <summary>The properties every Kata scope gets (systemd/common.go + v1.go/v2.go Apply).</summary>
    private List<UnitProperty> ScopeProperties(SystemdPath unit, IReadOnlyList<int> pids)
    {
        var p = new List<UnitProperty>
        {
            new("Description", DescriptionPrefix + unit),
            new("Slice", unit.Slice),
            new("Delegate", true),
            new("PIDs", pids.Select(x => (uint)x).ToArray()),
            new("DefaultDependencies", false),
            new("MemoryAccounting", true),
            new("CPUAccounting", true),
            new(_unified ? "IOAccounting" : "BlockIOAccounting", true),
            new("TasksAccounting", true),
        };
        return p;
    }

    /// <summary>
    /// Connects (the same address choice as every other call) and asks the manager's version: the D-Bus address in
    /// use and systemd's <c>Version</c> property. Throws <see cref="ErrorIds.SystemdUnavailable"/> when no address answers.
    /// </summary>
    public (string Address, string Version) Describe(ICgroupLog log)
    {
        Sync(_bus.EnsureConnectedAsync(), log);
        var version = Sync(_bus.GetUnitPropertyAsync(SystemdBus.ManagerPath, SystemdBus.ManagerInterface, "Version"), log).GetString();
        return (_bus.Address, version);
    }

    /// <inheritdoc/>
    public IReadOnlyList<ProcessOutcome> Create(CgroupTarget target, CgroupPlan plan, IReadOnlyList<int> pids, ICgroupLog log)
    {
        var unit = Unit(target);
        // Fail before starting anything: no systemd, or a systemd that would misread our pids.
        Sync(_bus.EnsureConnectedAsync(), log);
        CheckPidNamespace(new[] { 1 });
        var holder = (Process?)null;
        var members = pids.ToList();
        if (members.Count == 0)
        {
            // systemd refuses an empty scope ("Scope has no PIDs"): like cgcreate, park an idle holder in it. It
            // lives as long as the scope; Remove stops the scope, which ends it.
            // Detached from our standard streams, so a caller capturing this command's output is not held open.
            holder = Process.Start(new ProcessStartInfo("/bin/sh", new[] { "-c", "exec sleep infinity </dev/null >/dev/null 2>&1" }) { UseShellExecute = false })
                ?? throw new CgroupException(ErrorIds.CgroupCreateFailed, CgroupErrorKind.WriteFailed, "could not start the scope's holder process", unit.UnitName);
            log.Verbose($"started holder process {holder.Id} (sleep infinity) for {unit.UnitName}");
            members.Add(holder.Id);
        }
        var properties = ScopeProperties(unit, members);
        properties.AddRange(plan.UnitProperties);
        bool started = false;
        try
        {
            StartUnit(unit.UnitName, properties, log);
            started = true;
            JoinUnmanagedHierarchies(target, log, alsoSystemds: true);
            if (plan.Writes.Count > 0) _fsDriver.Apply(target, new CgroupPlan(plan.Writes, Array.Empty<string>()), log);
        }
        catch (Exception e)
        {
            // All or nothing, and nothing lost: the caller's processes go back out to the parent before the scope
            // stops (stopping a scope kills what is in it), then no unit and no directory is left.
            if (started)
            {
                try { RemoveScope(target, unit, new RemoveOptions(), log); }
                catch (CgroupException undo) { log.Warning($"rollback of {unit.UnitName} incomplete: {undo.Message}"); }
            }
            if (holder is { HasExited: false }) holder.Kill();
            if (e is CgroupException ce && started)
                throw new CgroupException(ce.ErrorId, ce.Kind, $"creating {unit.UnitName} failed, nothing was left behind: {ce.Message}", ce.Target, ce.Errno, ce);
            throw;
        }
        return pids.Select(p => new ProcessOutcome(p, true)).ToList();
    }

    /// <summary>
    /// v1: systemd makes a scope only in the hierarchies it manages (not cpuset, freezer, net_cls, perf_event…).
    /// Like runc's systemd v1 driver (joinCgroups), make the scope's directory in the others through cgroupfs and
    /// move the scope's processes there too, so cpuset limits and the freezer apply. The hierarchies systemd
    /// manages are left to systemd: it realizes and trims them as the unit's settings need, so making them behind
    /// its back later races its rmdir (docs/reliability.md, "systemd behaviours the D-Bus code is shaped by").
    /// So only Create (<paramref name="alsoSystemds"/>, where cgroupfs-only writes may need a
    /// directory systemd did not make, as runc's Apply does) touches those; Set, Add and Suspend do not.
    /// </summary>
    private void JoinUnmanagedHierarchies(CgroupTarget target, ICgroupLog log, bool alsoSystemds = false)
    {
        // Set and Suspend call this too: in the usual case every directory is there, and one stat each says so.
        Func<Hierarchy, bool>? only = alsoSystemds ? null : NotSystemds;
        if (_v1 is null || _v1.ExistsEverywhere(target.CgroupPath, only)) return;
        var made = new List<string>();
        _v1.MakeDirectories(target, made, log, only);
        if (made.Count == 0) return;
        // The scope's processes go into the directories just made; where the directory was there, so are they.
        foreach (var o in _v1.MoveIn(target, _v1.Processes(target.CgroupPath), log, h => made.Contains(h.DirectoryOf(target.CgroupPath))))
            if (!o.Added && !o.Vanished) throw new CgroupException(ErrorIds.ProcessMoveFailed, CgroupErrorKind.WriteFailed, o.Error ?? $"process {o.Pid} was not added", o.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// The v1 controllers systemd realizes for units (systemd src/basic/cgroup-util.h CGROUP_MASK_V1; cpuset is
    /// v2-only there), its own name=systemd hierarchy and, on hybrid hosts, the unified one.
    /// </summary>
    private static readonly FrozenSet<string> SystemdV1Controllers =
        new[] { "cpu", "cpuacct", "blkio", "memory", "devices", "pids", "name=systemd" }.ToFrozenSet(StringComparer.Ordinal);

    private static bool NotSystemds(Hierarchy h) => !h.IsUnified && !h.Controllers.Any(SystemdV1Controllers.Contains);

    private void StartUnit(string unit, List<UnitProperty> properties, ICgroupLog log)
    {
        for (int attempt = 0; ; attempt++)
        {
            log.Verbose($"D-Bus StartTransientUnit {unit} replace: {string.Join(", ", properties)}");
            string job;
            try { job = Sync(_bus.StartTransientUnitAsync(unit, properties), log); }
            catch (CgroupException e) when (attempt == 0 && e.Target == "org.freedesktop.systemd1.UnitExists")
            {
                // A failed unit of the same name lingers until reset (systemd/common.go startUnit).
                log.Debug($"{unit}: UnitExists, ResetFailedUnit and retry once");
                Sync(_bus.ResetFailedUnitAsync(unit), log);
                continue;
            }
            var result = WaitJob(job, unit, "starting", log);
            log.Debug($"job {job} for {unit}: {result}");
            if (result == "done") return;
            try { Sync(_bus.ResetFailedUnitAsync(unit), log); } catch (CgroupException) { }
            throw new CgroupException(ErrorIds.SystemdJobFailed, CgroupErrorKind.WriteFailed,
                $"systemd could not start {unit}: the job finished with result '{result}'", unit);
        }
    }

    private static CgroupWrite RuleWrite(DeviceRule rule) => new("devices", rule.Allow ? "devices.allow" : "devices.deny", rule.ToKernelString());

    /// <inheritdoc/>
    public void Apply(CgroupTarget target, CgroupPlan plan, ICgroupLog log)
    {
        var unit = Unit(target);
        if (!Exists(target)) throw CgroupErrors.NotFound(target.CgroupPath, target.RequestedPath);
        bool setsDevices = plan.UnitProperties.Any(p => p.Name == "DeviceAllow");
        // v1: every SetUnitProperties makes systemd rewrite the unit's whole device list (deny all, then its
        // DeviceAllow), which wipes rules we wrote through cgroupfs because DeviceAllow cannot name them. Note them
        // now and allow them again afterwards (systemd src/core/cgroup.c cgroup_context_apply).
        JoinUnmanagedHierarchies(target, log);   // a scope made by another tool may lack them
        var keep = !_unified && !setsDevices && plan.UnitProperties.Count > 0 ? CgroupfsOnlyDevices(target) : new List<DeviceRule>();
        // Clearing DeviceAllow briefly denies every device: freeze the scope so nothing in it notices.
        bool freeze = (setsDevices || keep.Count > 0) && !_unified && Host.ByController.ContainsKey("freezer");
        if (freeze) _fsDriver.SetFreezer(target, FreezerState.Frozen, log);
        try
        {
            if (plan.UnitProperties.Count > 0)
            {
                log.Verbose($"D-Bus SetUnitProperties {unit.UnitName} runtime: {string.Join(", ", plan.UnitProperties)}");
                Sync(_bus.SetUnitPropertiesAsync(unit.UnitName, plan.UnitProperties), log);
            }
            var writes = plan.Writes.Concat(keep.Select(RuleWrite)).ToList();
            if (writes.Count > 0) _fsDriver.Apply(target, new CgroupPlan(writes, Array.Empty<string>()), log);
        }
        finally
        {
            if (freeze) _fsDriver.SetFreezer(target, FreezerState.Thawed, log);
        }
    }

    /// <summary>The allow rules in the scope's devices.list (v1) that DeviceAllow cannot name.</summary>
    private List<DeviceRule> CgroupfsOnlyDevices(CgroupTarget target)
    {
        var rules = new List<DeviceRule>();
        var dir = _fsDriver.GetPaths(target).FirstOrDefault(p => p.Controller == "devices")?.Directory;
        if (dir is null || Fs.TryReadValue(Path.Combine(dir, "devices.list")) is not { } list) return rules;
        foreach (var line in list.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var rule = DeviceRule.Parse(line);
            if (!SystemdProperties.CanExpress(rule, _procDevices.Value)) rules.Add(rule);
        }
        return rules;
    }

    /// <inheritdoc/>
    public IReadOnlyList<ProcessOutcome> AddProcesses(CgroupTarget target, IReadOnlyList<int> pids, ICgroupLog log)
    {
        var unit = Unit(target);
        if (!Exists(target)) throw CgroupErrors.NotFound(target.CgroupPath, target.RequestedPath);
        CheckPidNamespace(pids);
        var outcomes = new List<ProcessOutcome>();
        foreach (var pid in pids)
        {
            if (!Directory.Exists(Path.Combine(Host.Options.ProcRoot, pid.ToString(System.Globalization.CultureInfo.InvariantCulture))))
            {
                outcomes.Add(new ProcessOutcome(pid, false, $"process {pid} does not exist", Vanished: true));
                continue;
            }
            try
            {
                log.Verbose($"D-Bus AttachProcessesToUnit {unit.UnitName} '' [{pid}]");
                Sync(_bus.AttachProcessesAsync(unit.UnitName, new[] { pid }), log);
                // v1: systemd attached it in its own hierarchies; the rest are ours (see JoinUnmanagedHierarchies).
                if (_v1 is not null) outcomes.AddRange(_v1.MoveIn(target, new[] { pid }, log, NotSystemds));
                else outcomes.Add(new ProcessOutcome(pid, true));
            }
            catch (CgroupException e) when (e.Target == "org.freedesktop.DBus.Error.UnknownMethod")
            {
                // systemd < 238 has no AttachProcessesToUnit: write the scope's cgroup.procs instead.
                outcomes.AddRange(_fsDriver.AddProcesses(target, new[] { pid }, log));
            }
            catch (CgroupException e)
            {
                outcomes.Add(new ProcessOutcome(pid, false, e.Message));
            }
        }
        return outcomes;
    }

    /// <summary>
    /// PIDs are read in systemd's PID namespace: a pid from another namespace is refused or, worse, names a
    /// different process. This process shares systemd's namespace when its own PID 1 is systemd.
    /// </summary>
    private void CheckPidNamespace(IReadOnlyList<int> pids)
    {
        if (pids.Count == 0) return;
        var comm = CgroupFs.TryReadSystemFile(Path.Combine(Host.Options.ProcRoot, "1", "comm"));
        if (comm == "systemd") return;
        throw new CgroupException(ErrorIds.PidNamespaceMismatch, CgroupErrorKind.NotSupported,
            $"process ids cannot be sent to systemd from here: PID 1 in this PID namespace is '{comm ?? "unknown"}', not systemd, so systemd " +
            "would read them in a different PID namespace (run the command inside systemd's PID namespace, e.g. with nsenter)", string.Join(",", pids));
    }

    /// <inheritdoc/>
    public IReadOnlyList<int> GetProcesses(CgroupTarget target) => _fsDriver.GetProcesses(target);

    /// <inheritdoc/>
    public CgroupSnapshot Read(CgroupTarget target) => _fsDriver.Read(target) with { Driver = Kind };

    /// <inheritdoc/>
    public RemoveOutcome Remove(CgroupTarget target, RemoveOptions options, ICgroupLog log) => RemoveScope(target, Unit(target), options, log);

    private RemoveOutcome RemoveScope(CgroupTarget target, SystemdPath unit, RemoveOptions options, ICgroupLog log)
    {
        int moved = 0;
        // Stopping the scope kills what is in it: with -Kill those are the processes killed.
        int killed = options.Kill ? _fsDriver.GetProcesses(target).Count : 0;
        if (!options.Kill)
        {
            // Kata's Go manager moves processes to the parent before destroying: stopping a scope kills what is in it.
            // Only the hierarchies systemd made the scope in (on v1 not cpuset, for instance).
            var movedPids = new HashSet<int>();
            foreach (var dir in _fsDriver.GetPaths(target).Select(p => p.Directory).Distinct().Where(Directory.Exists))
            {
                var mount = Host.Hierarchies.Where(h => h.IsUnified && dir.StartsWith(h.MountPoint + "/", StringComparison.Ordinal))
                    .Select(h => h.MountPoint).FirstOrDefault();
                CgroupTree.MoveSubtree(Fs, dir, Path.GetDirectoryName(dir)!, movedPids, log, Host.Options.ProcRoot, mount);
            }
            moved = movedPids.Count;
        }
        StopAndReset(unit.UnitName, log);
        // Leftovers systemd did not remove (directories made through cgroupfs, or a unit already gone).
        var left = _fsDriver.Exists(target) ? _fsDriver.Remove(target, options, log) : new RemoveOutcome(0, 0, 0);
        return new RemoveOutcome(moved + left.MovedProcesses, killed + left.KilledProcesses, left.RemovedDirectories);
    }

    private void StopAndReset(string unit, ICgroupLog log)
    {
        log.Verbose($"D-Bus StopUnit {unit} replace");
        try
        {
            var job = Sync(_bus.StopUnitAsync(unit), log);
            var result = WaitJob(job, unit, "stopping", log);
            log.Debug($"stop job for {unit}: {result}");
        }
        catch (CgroupException e) when (e.Target == "org.freedesktop.systemd1.NoSuchUnit") { }
        try { Sync(_bus.ResetFailedUnitAsync(unit), log); }
        catch (CgroupException e) when (e.Target is "org.freedesktop.systemd1.NoSuchUnit" or "org.freedesktop.DBus.Error.InvalidArgs") { }
    }

    /// <inheritdoc/>
    public IReadOnlyList<CgroupTarget> Find(string root)
    {
        var found = new List<CgroupTarget>();
        foreach (var (name, description) in Sync(_bus.ListUnitsAsync(new[] { "*.scope", "*.slice" })))
        {
            if (!description.StartsWith(DescriptionPrefix, StringComparison.Ordinal)) continue;
            CgroupTarget t;
            try { t = CgroupTarget.Resolve(description[DescriptionPrefix.Length..], systemdMode: true); }
            catch (CgroupException) { continue; }   // someone else's unit that merely looks like ours
            if (t.Systemd!.UnitName != name || !CgroupPathText.IsAtOrBelow(t.CgroupPath, root)) continue;
            found.Add(t);
        }
        return found;
    }

    /// <summary>A unit property as systemd reports it (for tests and Get).</summary>
    public VariantValue GetUnitProperty(CgroupTarget target, string iface, string property)
    {
        var path = Sync(_bus.GetUnitAsync(Unit(target).UnitName));
        return Sync(_bus.GetUnitPropertyAsync(path, iface, property));
    }

    /// <summary>The D-Bus address in use (empty before the first call).</summary>
    public string BusAddress => _bus.Address;

    /// <summary>Drops the connection (the next call reconnects): used to prove reconnection.</summary>
    public void Disconnect() => _bus.Disconnect();

    /// <inheritdoc/>
    public void Dispose() => _bus.Dispose();
}
