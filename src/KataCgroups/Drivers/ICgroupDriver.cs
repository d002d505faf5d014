using KataCgroups.Devices;
using KataCgroups.Host;
using KataCgroups.Paths;
using KataCgroups.Resources;

namespace KataCgroups.Drivers;

/// <summary>Which driver manages a cgroup.</summary>
public enum DriverKind
{
    /// <summary>cgroupfs on v1 or hybrid hosts.</summary>
    CgroupfsV1,
    /// <summary>cgroupfs on the unified (v2) hierarchy.</summary>
    CgroupfsV2,
    /// <summary>systemd transient units over D-Bus.</summary>
    Systemd,
}

/// <summary>Which driver a caller asks for (<c>-Driver</c>).</summary>
public enum DriverSelection
{
    /// <summary>By the path: systemd form (<c>slice:prefix:name</c>) → systemd, else cgroupfs (the rule of Kata's Go manager).</summary>
    Auto = 0,
    /// <summary>cgroupfs only: a systemd-form path is an error.</summary>
    Cgroupfs = 1,
    /// <summary>systemd only: a path not in systemd form is an error (the systemd mode of Kata's Go manager).</summary>
    Systemd = 2,
}

/// <summary>One controller's directory of a cgroup.</summary>
/// <param name="Controller">v1 controller (<c>cpu</c>), <c>name=systemd</c>, or <c>unified</c> for cgroup2.</param>
/// <param name="Directory">Absolute directory on the host.</param>
public sealed record ControllerPath(string Controller, string Directory);

/// <summary>What happened to one pid of an add or move.</summary>
/// <param name="Pid">The process id.</param>
/// <param name="Added">True when it is now in the cgroup in every hierarchy.</param>
/// <param name="Error">Why not, when not (e.g. the process no longer exists).</param>
/// <param name="Vanished">True when the process did not exist or exited during the move.</param>
public sealed record ProcessOutcome(int Pid, bool Added, string? Error = null, bool Vanished = false);

/// <summary>Options of a removal.</summary>
/// <param name="Kill">Kill the processes instead of moving them to the parent.</param>
public sealed record RemoveOptions(bool Kill = false);

/// <summary>What a removal did.</summary>
/// <param name="MovedProcesses">Distinct pids moved to the parent.</param>
/// <param name="KilledProcesses">Distinct pids killed.</param>
/// <param name="RemovedDirectories">Directories removed.</param>
public sealed record RemoveOutcome(int MovedProcesses, int KilledProcesses, int RemovedDirectories);

/// <summary>Freezer states.</summary>
public enum FreezerState
{
    /// <summary>Running.</summary>
    Thawed,
    /// <summary>Stopped.</summary>
    Frozen,
}

/// <summary>
/// A cgroup as read back from the host: identity, where it lives, its processes and current limits.
/// Limits use the OCI conventions: -1 unlimited, null not available on this host.
/// </summary>
public sealed record CgroupSnapshot
{
    /// <summary>The cgroup.</summary>
    public required CgroupTarget Target { get; init; }
    /// <summary>The driver that manages it.</summary>
    public required DriverKind Driver { get; init; }
    /// <summary>Host cgroup mode.</summary>
    public required CgroupMode Mode { get; init; }
    /// <summary>Directory per controller (only those that exist).</summary>
    public required IReadOnlyList<ControllerPath> Paths { get; init; }
    /// <summary>Hierarchies in which the directory is missing (a half-made or half-removed cgroup).</summary>
    public IReadOnlyList<string> MissingIn { get; init; } = Array.Empty<string>();
    /// <summary>
    /// True when the create mark is set (<see cref="CreateMark"/>): a create was interrupted, or is still running.
    /// </summary>
    public bool Marked { get; init; }
    /// <summary>
    /// Not a finished cgroup: the create mark is set, or (cgroupfs) its directory is missing in some hierarchy — a
    /// create or a removal that did not finish. systemd keeps its own unit state and trims hierarchies it does not
    /// manage, so there only the mark counts.
    /// </summary>
    public bool Unfinished => Marked || (MissingIn.Count > 0 && Driver != DriverKind.Systemd);
    /// <summary>Processes in the cgroup in any hierarchy (the union: a process left in one hierarchy only is one), sorted.</summary>
    public required IReadOnlyList<int> Pids { get; init; }
    /// <summary>Memory limit in bytes.</summary>
    public long? MemoryLimit { get; init; }
    /// <summary>Memory+swap limit in bytes (v1), swap limit (v2).</summary>
    public long? MemorySwap { get; init; }
    /// <summary>Soft limit / memory.low.</summary>
    public long? MemoryReservation { get; init; }
    /// <summary>Current usage in bytes.</summary>
    public long? MemoryUsage { get; init; }
    /// <summary>cpu.shares (v1) or the weight (v2).</summary>
    public long? CpuShares { get; init; }
    /// <summary>CFS quota µs (-1 unlimited).</summary>
    public long? CpuQuota { get; init; }
    /// <summary>CFS period µs.</summary>
    public long? CpuPeriod { get; init; }
    /// <summary>cpuset.cpus.</summary>
    public string? Cpus { get; init; }
    /// <summary>cpuset.mems.</summary>
    public string? Mems { get; init; }
    /// <summary>pids.max (-1 = max).</summary>
    public long? PidsLimit { get; init; }
    /// <summary>pids.current.</summary>
    public long? PidsCurrent { get; init; }
    /// <summary>Block IO weight.</summary>
    public long? BlkioWeight { get; init; }
    /// <summary>Device rules as the kernel lists them (v1 devices.list).</summary>
    public IReadOnlyList<string> Devices { get; init; } = Array.Empty<string>();
    /// <summary>Freezer state (THAWED, FREEZING, FROZEN).</summary>
    public string? FreezerState { get; init; }
}

/// <summary>
/// Whether a cgroup is there and finished, asked before a mutation (<see cref="ICgroupDriver.Check"/>): cheaper than a
/// read — a stat per hierarchy and one attribute lookup.
/// </summary>
/// <param name="Exists">The directory exists in at least one hierarchy.</param>
/// <param name="Marked">The create mark is set (<see cref="CreateMark"/>).</param>
/// <param name="MissingIn">Hierarchies where the directory is missing.</param>
/// <param name="InProgress">The mark names a process that is still running: being created right now.</param>
public sealed record CgroupCompleteness(bool Exists, bool Marked, IReadOnlyList<string> MissingIn, bool InProgress = false)
{
    /// <summary>There, but not finished.</summary>
    public bool Unfinished => Exists && (Marked || MissingIn.Count > 0);

    /// <summary>Why it is unfinished, in words (null when it is not).</summary>
    public string? Reason => !Unfinished ? null
        : Marked && MissingIn.Count > 0 ? $"a create did not finish ({CreateMark.Name} is set) and its directory is missing in: {string.Join(", ", MissingIn)}"
        : Marked ? $"a create did not finish ({CreateMark.Name} is set): its limits, device rules or processes may be incomplete"
        : $"its directory is missing in: {string.Join(", ", MissingIn)} (a create or a removal did not finish)";
}

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
}
