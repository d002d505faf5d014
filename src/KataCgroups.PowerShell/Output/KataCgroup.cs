using KataCgroups.Model;

namespace KataCgroups.PowerShell;

/// <summary>
/// A Kata cgroup as the cmdlets emit it: flat (strings, numbers and arrays of them) so it survives
/// serialization over remoting unchanged. <see cref="Path"/> is the path as the user gives it and binds
/// <c>-Path</c> of the other cmdlets by property name; <see cref="CgroupPath"/> is the resolved directory.
/// Limits follow OCI: -1 unlimited, null not available on this host.
/// <para>
/// Every property holds the raw value, for scripts: bytes (MemoryLimit, MemorySwap, MemoryReservation, MemoryUsage),
/// microseconds (CpuQuota, CpuPeriod), counts (PidsLimit, PidsCurrent), the process ids themselves (Pids), and -1
/// for unlimited. The views show them one way everywhere (<see cref="ValueDisplay"/>): <c>4 KiB</c>, <c>max</c>.
/// </para>
/// </summary>
public sealed class KataCgroup
{
    /// <summary>The path as given to New-KataCgroup (resolving it again names this cgroup).</summary>
    public string Path { get; set; } = "";
    /// <summary>Hierarchy-relative path after the Kata rules, e.g. <c>/kubepods/pod1/kata_sandbox1</c>.</summary>
    public string CgroupPath { get; set; } = "";
    /// <summary>Driver: CgroupfsV1, CgroupfsV2 or Systemd.</summary>
    public string Driver { get; set; } = "";
    /// <summary>Host cgroup mode: Legacy, Hybrid or Unified.</summary>
    public string Mode { get; set; } = "";
    /// <summary>
    /// <c>Complete</c>, or <c>Unfinished</c>: a create or removal did not finish — the create mark
    /// (<c>trusted.katacgroups.creating</c>) is set, or the directory is missing in some hierarchy (<see cref="MissingIn"/>).
    /// Remove an unfinished cgroup, or complete it with New-KataCgroup -Force.
    /// </summary>
    public string State { get; set; } = "Complete";
    /// <summary>
    /// Why the cgroup is <c>Unfinished</c>, in words (null when it is complete): the create mark, the hierarchies it is
    /// missing in, or a Remove-KataCgroup -Kill cut short that left it frozen with its processes in it (a later
    /// Remove-KataCgroup finishes it).
    /// </summary>
    public string? StateReason { get; set; }
    /// <summary>Processes in the cgroup, in any hierarchy.</summary>
    public int[] Pids { get; set; } = Array.Empty<int>();
    /// <summary>
    /// Threads in the cgroup whose process is not (placed alone: the vCPU threads of a VMM in Kata's overhead layout);
    /// their processes are not in <see cref="Pids"/> unless in the cgroup in another hierarchy.
    /// </summary>
    public int[] Threads { get; set; } = Array.Empty<int>();
    /// <summary>Memory limit in bytes.</summary>
    public long? MemoryLimit { get; set; }
    /// <summary>Memory+swap limit in bytes.</summary>
    public long? MemorySwap { get; set; }
    /// <summary>Memory soft limit in bytes.</summary>
    public long? MemoryReservation { get; set; }
    /// <summary>Memory in use, bytes.</summary>
    public long? MemoryUsage { get; set; }
    /// <summary>CPU shares.</summary>
    public long? CpuShares { get; set; }
    /// <summary>CFS quota, µs per period (-1 unlimited).</summary>
    public long? CpuQuota { get; set; }
    /// <summary>CFS period, µs.</summary>
    public long? CpuPeriod { get; set; }
    /// <summary>Allowed CPUs.</summary>
    public string? Cpus { get; set; }
    /// <summary>Allowed memory nodes.</summary>
    public string? Mems { get; set; }
    /// <summary>Task limit (-1 unlimited).</summary>
    public long? PidsLimit { get; set; }
    /// <summary>Tasks now.</summary>
    public long? PidsCurrent { get; set; }
    /// <summary>Block IO weight.</summary>
    public long? BlkioWeight { get; set; }
    /// <summary>Device rules as the kernel lists them.</summary>
    public string[] Devices { get; set; } = Array.Empty<string>();
    /// <summary>Freezer state.</summary>
    public string? FreezerState { get; set; }
    /// <summary>Controllers (and named/unified hierarchies) the cgroup has a directory in.</summary>
    public string[] Controllers { get; set; } = Array.Empty<string>();
    /// <summary>Hierarchies where the directory is missing (a half-made or half-removed cgroup).</summary>
    public string[] MissingIn { get; set; } = Array.Empty<string>();
    /// <summary>
    /// What each OCI value given to New/Set became on this host, e.g. <c>cpu.shares 512 → cpu.weight 59</c>
    /// on cgroup v2 (empty when read back with Get-KataCgroup: the host keeps no record of the input).
    /// </summary>
    public string[] Conversions { get; set; } = Array.Empty<string>();

    /// <inheritdoc/>
    public override string ToString() => CgroupPath;
}

/// <summary>One controller directory of a cgroup (Get-KataCgroupPath).</summary>
public sealed class KataCgroupPath
{
    /// <summary>Controller: <c>cpu</c>, <c>memory</c>, …, <c>name=systemd</c>, <c>unified</c>.</summary>
    public string Controller { get; set; } = "";
    /// <summary>Absolute directory.</summary>
    public string Directory { get; set; } = "";
    /// <summary>Hierarchy-relative cgroup path.</summary>
    public string CgroupPath { get; set; } = "";
    /// <summary>Whether the directory exists now.</summary>
    public bool Exists { get; set; }

    /// <inheritdoc/>
    public override string ToString() => Directory;
}
