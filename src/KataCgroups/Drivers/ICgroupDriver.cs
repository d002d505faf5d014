using KataCgroups.Devices;
using KataCgroups.Errors;
using KataCgroups.Host;
using KataCgroups.Model;
using KataCgroups.Paths;
using KataCgroups.Resources;

namespace KataCgroups.Drivers;

/// <summary>
/// The one interface every driver implements (STYLE rule 5; model: opencontainers/cgroups Manager). Chosen
/// once per host by <see cref="CgroupManager"/>. Drivers validate nothing about paths (targets arrive
/// resolved) and never check rootless (the manager does, before calling a mutating member).
/// </summary>
public interface ICgroupDriver
{
    /// <summary>Which driver this is.</summary>
    DriverKind Kind { get; }

    /// <summary>The host it runs on.</summary>
    HostInfo Host { get; }

    /// <summary>True when the cgroup's directory exists in any hierarchy it manages.</summary>
    bool Exists(CgroupTarget target);

    /// <summary>Whether the cgroup exists and is finished (the create mark, the hierarchies it is missing in). Reads only.</summary>
    CgroupCompleteness Check(CgroupTarget target);

    /// <summary>
    /// Compiles resources against the cgroup as it is now (or, when it does not exist yet, as it will be when
    /// created). <paramref name="devices"/> is the full device rule list, or null to leave devices alone.
    /// <paramref name="create"/>: the plan is for a create, so the cgroup will be new and empty when it is executed
    /// and nothing of its current state needs reading. Reads the host; writes nothing.
    /// </summary>
    CgroupPlan Plan(CgroupTarget target, LinuxResources resources, IReadOnlyList<DeviceRule>? devices, bool create = false);

    /// <summary>
    /// Creates the cgroup, executes the plan and moves <paramref name="pids"/> in, all or nothing for the cgroup:
    /// on failure every directory this call created is removed again and the error names the file and value that
    /// failed. (systemd needs the processes at creation: it refuses an empty scope.)
    /// </summary>
    IReadOnlyList<ProcessOutcome> Create(CgroupTarget target, CgroupPlan plan, IReadOnlyList<int> pids, ICgroupLog log);

    /// <summary>Executes a plan on an existing cgroup.</summary>
    void Apply(CgroupTarget target, CgroupPlan plan, ICgroupLog log);

    /// <summary>Moves processes into the cgroup; a vanished pid is reported in its outcome, not thrown.</summary>
    IReadOnlyList<ProcessOutcome> AddProcesses(CgroupTarget target, IReadOnlyList<int> pids, ICgroupLog log);

    /// <summary>
    /// Moves single threads into the cgroup (Kata's AddThread): v1 writes each thread id to <c>tasks</c> in every v1
    /// hierarchy; v2 writes <c>cgroup.threads</c> of a threaded cgroup, and in a domain cgroup moves the thread's whole
    /// process (<see cref="ThreadPlacement.WholeProcess"/>), as Kata does on v2; systemd refuses
    /// (<c>ThreadPlacementUnsupported</c>). A vanished thread is reported in its outcome, not thrown.
    /// </summary>
    IReadOnlyList<ThreadOutcome> AddThreads(CgroupTarget target, IReadOnlyList<int> tids, ICgroupLog log);

    /// <summary>
    /// One pass of a move (Kata's MoveTo): every process and thread in <paramref name="from"/> (and its descendants),
    /// in every hierarchy, into <paramref name="to"/> — a process whose threads are all there moves whole, a thread
    /// whose process is not wholly there moves alone. A task that exits meanwhile is listed as vanished. The caller
    /// repeats passes until one finds nothing (a fork during the pass is caught by the next one).
    /// </summary>
    MovePass MoveOnce(CgroupTarget from, CgroupTarget to, ICgroupLog log);

    /// <summary>The tasks (thread ids) still in <paramref name="target"/> and its descendants in any hierarchy, sorted.</summary>
    IReadOnlyList<int> GetTasks(CgroupTarget target);

    /// <summary>Processes in the cgroup, in any hierarchy (the union), sorted.</summary>
    IReadOnlyList<int> GetProcesses(CgroupTarget target);

    /// <summary>The cgroup's directory for each controller.</summary>
    IReadOnlyList<ControllerPath> GetPaths(CgroupTarget target);

    /// <summary>Reads the cgroup back; throws <c>CgroupNotFound</c> when it does not exist.</summary>
    CgroupSnapshot Read(CgroupTarget target);

    /// <summary>Moves (or kills) the processes, then removes the cgroup and its descendants everywhere.</summary>
    RemoveOutcome Remove(CgroupTarget target, RemoveOptions options, ICgroupLog log);

    /// <summary>Freezes or thaws the cgroup and waits until the kernel confirms.</summary>
    void SetFreezer(CgroupTarget target, FreezerState state, ICgroupLog log);

    /// <summary>
    /// The Kata cgroups this driver manages whose directory is at or below the hierarchy-relative
    /// <paramref name="root"/>: cgroupfs leaves named <c>kata_*</c>, or the systemd units this module started.
    /// </summary>
    IReadOnlyList<CgroupTarget> Find(string root);

    // ---- observe and control: each feature adds its members below its own marker ----
    // [stats]
    /// <summary>
    /// What the cgroup uses now — memory, CPU, pids, block IO, huge pages, PSI — read from its interface files;
    /// throws <c>CgroupNotFound</c> when it does not exist. Read-only.
    /// </summary>
    KataCgroups.Stats.CgroupStats Stats(CgroupTarget target);
    // [events]
    /// <summary>
    /// Starts watching the cgroup's memory events (OOM, OOM kill, high, max) and returns the armed source: the baseline
    /// is read and the kernel notification registered before this returns (v2 inotify on memory.events, v1 an eventfd
    /// through cgroup.event_control). Read-only; throws <c>CgroupNotFound</c> when the cgroup does not exist.
    /// </summary>
    Events.CgroupEventSource WatchEvents(CgroupTarget target, ICgroupLog log);
    // [freezer]
    /// <summary>What <see cref="SetFreezer"/> would do here, for -WhatIf/-Confirm: the file and value, or the D-Bus call.</summary>
    string DescribeFreezer(CgroupTarget target, FreezerState state);
    // [devices]
    /// <summary>
    /// Reads the cgroup's device state and plans one hot update: allow (<see cref="DeviceChangeKind.Add"/>) or revoke
    /// (<see cref="DeviceChangeKind.Remove"/>) exactly <paramref name="rule"/>, with the v1 device cgroup's semantics on
    /// every driver (<see cref="DeviceRuleEdit"/>). Writes nothing.
    /// </summary>
    DeviceChange PlanDeviceChange(CgroupTarget target, DeviceRule rule, DeviceChangeKind kind);

    /// <summary>Executes a planned hot device update: v1 one devices.allow/deny write, v2 one program replacement, systemd DeviceAllow.</summary>
    void ApplyDeviceChange(CgroupTarget target, DeviceChange change, ICgroupLog log);

    /// <summary>
    /// Checks new <c>cpuset.cpus</c>/<c>cpuset.mems</c> values (null or empty: not changed) against the cpusets that bound
    /// them and throws <c>CpusetNotSubset</c> or <c>CpusetBusy</c> naming the cgroup in the way. Reads only.
    /// </summary>
    void CheckCpuset(CgroupTarget target, string? cpus, string? mems);
    // [export]
    /// <summary>
    /// The cgroup's configuration read back from its files as OCI resources (Export-KataCgroup), chosen so that
    /// creating a cgroup from them writes the same values. Read-only; throws <c>CgroupNotFound</c> when it does not exist.
    /// A driver that cannot read its configuration back says so with <c>UnsupportedOnHost</c>.
    /// </summary>
    ResourceExport Export(CgroupTarget target) =>
        throw new CgroupException(ErrorIds.UnsupportedOnHost, CgroupErrorKind.NotSupported,
            $"the {Kind} driver cannot export a cgroup's resources: use the cgroupfs path of {target.CgroupPath}", target.RequestedPath);
}
