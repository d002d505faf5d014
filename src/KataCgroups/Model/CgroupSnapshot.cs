using KataCgroups.Host;
using KataCgroups.Paths;

namespace KataCgroups.Model;

/// <summary>One controller's directory of a cgroup.</summary>
/// <param name="Controller">v1 controller (<c>cpu</c>), <c>name=systemd</c>, or <c>unified</c> for cgroup2.</param>
/// <param name="Directory">Absolute directory on the host.</param>
public sealed record ControllerPath(string Controller, string Directory);

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
    /// True when the create mark is set (Drivers/CreateMark.cs): a create was interrupted, or is still running.
    /// </summary>
    public bool Marked { get; init; }
    /// <summary>
    /// Not a finished cgroup: the create mark is set, or (cgroupfs) its directory is missing in some hierarchy — a
    /// create or a removal that did not finish. systemd keeps its own unit state and trims hierarchies it does not
    /// manage, so there only the mark counts.
    /// </summary>
    public bool Unfinished => Marked || KillInterrupted || (MissingIn.Count > 0 && Driver != DriverKind.Systemd);
    /// <summary>
    /// True when a Remove-KataCgroup -Kill was cut short between its freeze and its thaw (Drivers/CreateMark.cs,
    /// KillMark): the cgroup is frozen with its processes in it, and a later Remove-KataCgroup finishes the removal.
    /// </summary>
    public bool KillInterrupted { get; init; }
    /// <summary>Why the cgroup is <see cref="Unfinished"/>, in words; null when it is complete.</summary>
    public string? UnfinishedReason => Unfinished
        ? UnfinishedCgroup.Describe(Marked, Driver == DriverKind.Systemd ? Array.Empty<string>() : MissingIn, KillInterrupted)
        : null;
    /// <summary>Processes in the cgroup in any hierarchy (the union: a process left in one hierarchy only is one), sorted.</summary>
    public required IReadOnlyList<int> Pids { get; init; }
    /// <summary>
    /// Threads in the cgroup (in some hierarchy) whose process is not: the thread-group leader is elsewhere in that
    /// hierarchy, as for vCPU threads placed alone (v1 <c>tasks</c>, v2 threaded cgroups). Their processes are not in
    /// <see cref="Pids"/> unless the process is in the cgroup in another hierarchy. Sorted.
    /// </summary>
    public IReadOnlyList<int> Threads { get; init; } = Array.Empty<int>();
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
