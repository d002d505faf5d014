using System.Text.Json.Serialization;

namespace KataCgroups.Resources;

// OCI runtime-spec `linux.resources` (config-linux.md "Control groups"; specs-go/config.go), with the
// spec's JSON field names so a config.json binds unchanged. Nullable members mean "not set": a write is
// only planned for what the caller set.

/// <summary>OCI <c>LinuxResources</c>.</summary>
public sealed class LinuxResources
{
    /// <summary>Device cgroup rules, applied in order.</summary>
    [JsonPropertyName("devices")] public List<LinuxDeviceCgroup>? Devices { get; set; }
    /// <summary>Memory restrictions.</summary>
    [JsonPropertyName("memory")] public LinuxMemory? Memory { get; set; }
    /// <summary>CPU restrictions.</summary>
    [JsonPropertyName("cpu")] public LinuxCpu? Cpu { get; set; }
    /// <summary>Task limit.</summary>
    [JsonPropertyName("pids")] public LinuxPids? Pids { get; set; }
    /// <summary>Block IO restrictions.</summary>
    [JsonPropertyName("blockIO")] public LinuxBlockIO? BlockIO { get; set; }
    /// <summary>Huge page limits.</summary>
    [JsonPropertyName("hugepageLimits")] public List<LinuxHugepageLimit>? HugepageLimits { get; set; }
    /// <summary>net_cls / net_prio settings.</summary>
    [JsonPropertyName("network")] public LinuxNetwork? Network { get; set; }
    /// <summary>RDMA limits by device name.</summary>
    [JsonPropertyName("rdma")] public Dictionary<string, LinuxRdma>? Rdma { get; set; }
    /// <summary>Raw cgroup v2 key/values (refused on v1).</summary>
    [JsonPropertyName("unified")] public Dictionary<string, string>? Unified { get; set; }

    /// <summary>True when nothing is set.</summary>
    [JsonIgnore]
    public bool IsEmpty => Devices is null && Memory is null && Cpu is null && Pids is null && BlockIO is null
        && HugepageLimits is null && Network is null && Rdma is null && Unified is null;

    /// <summary>
    /// Replaces each section <paramref name="given"/> sets (memory, cpu, devices…) and keeps the others: how one source
    /// of resources overrides another (<c>-Resources</c> over <c>-OciConfig</c>), section by section, not wholesale.
    /// </summary>
    public void OverrideSections(LinuxResources given)
    {
        Devices = given.Devices ?? Devices;
        Memory = given.Memory ?? Memory;
        Cpu = given.Cpu ?? Cpu;
        Pids = given.Pids ?? Pids;
        BlockIO = given.BlockIO ?? BlockIO;
        HugepageLimits = given.HugepageLimits ?? HugepageLimits;
        Network = given.Network ?? Network;
        Rdma = given.Rdma ?? Rdma;
        Unified = given.Unified ?? Unified;
    }

    /// <summary>A deep copy (so the engine never modifies the caller's object: Kata's Go manager's own comment says so).</summary>
    public LinuxResources Clone() =>
        System.Text.Json.JsonSerializer.Deserialize(
            System.Text.Json.JsonSerializer.Serialize(this, OciJsonContext.Default.LinuxResources),
            OciJsonContext.Default.LinuxResources)!;
}

/// <summary>OCI <c>LinuxDeviceCgroup</c>.</summary>
public sealed class LinuxDeviceCgroup
{
    /// <summary>Allow or deny.</summary>
    [JsonPropertyName("allow")] public bool Allow { get; set; }
    /// <summary><c>a</c>, <c>b</c> or <c>c</c>; null means all.</summary>
    [JsonPropertyName("type")] public string? Type { get; set; }
    /// <summary>Major number; null means all.</summary>
    [JsonPropertyName("major")] public long? Major { get; set; }
    /// <summary>Minor number; null means all.</summary>
    [JsonPropertyName("minor")] public long? Minor { get; set; }
    /// <summary>Some of <c>rwm</c>; null means all.</summary>
    [JsonPropertyName("access")] public string? Access { get; set; }
}

/// <summary>OCI <c>LinuxMemory</c>.</summary>
public sealed class LinuxMemory
{
    /// <summary>Memory limit in bytes; -1 unlimited.</summary>
    [JsonPropertyName("limit")] public long? Limit { get; set; }
    /// <summary>Soft limit (v1 <c>memory.soft_limit_in_bytes</c>, v2 <c>memory.low</c>).</summary>
    [JsonPropertyName("reservation")] public long? Reservation { get; set; }
    /// <summary>Memory plus swap limit; -1 unlimited.</summary>
    [JsonPropertyName("swap")] public long? Swap { get; set; }
    /// <summary>Kernel memory limit: deprecated in the spec, ignored with a warning (kernel 5.16 removed kmem limits).</summary>
    [JsonPropertyName("kernel")] public long? Kernel { get; set; }
    /// <summary>Kernel TCP memory limit: ignored with a warning.</summary>
    [JsonPropertyName("kernelTCP")] public long? KernelTcp { get; set; }
    /// <summary>Swappiness, 0–100.</summary>
    [JsonPropertyName("swappiness")] public ulong? Swappiness { get; set; }
    /// <summary>Disable the OOM killer.</summary>
    [JsonPropertyName("disableOOMKiller")] public bool? DisableOomKiller { get; set; }
    /// <summary>Hierarchical accounting (v1 only; always on in current kernels).</summary>
    [JsonPropertyName("useHierarchy")] public bool? UseHierarchy { get; set; }
    /// <summary>Check usage before lowering the limit.</summary>
    [JsonPropertyName("checkBeforeUpdate")] public bool? CheckBeforeUpdate { get; set; }
}

/// <summary>OCI <c>LinuxCPU</c>.</summary>
public sealed class LinuxCpu
{
    /// <summary>Relative share (v1 <c>cpu.shares</c>).</summary>
    [JsonPropertyName("shares")] public ulong? Shares { get; set; }
    /// <summary>CFS quota in µs per period; -1 unlimited.</summary>
    [JsonPropertyName("quota")] public long? Quota { get; set; }
    /// <summary>CFS burst in µs.</summary>
    [JsonPropertyName("burst")] public ulong? Burst { get; set; }
    /// <summary>CFS period in µs.</summary>
    [JsonPropertyName("period")] public ulong? Period { get; set; }
    /// <summary>Realtime runtime in µs.</summary>
    [JsonPropertyName("realtimeRuntime")] public long? RealtimeRuntime { get; set; }
    /// <summary>Realtime period in µs.</summary>
    [JsonPropertyName("realtimePeriod")] public ulong? RealtimePeriod { get; set; }
    /// <summary>CPU list, e.g. <c>0-3,7</c>.</summary>
    [JsonPropertyName("cpus")] public string? Cpus { get; set; }
    /// <summary>Memory node list.</summary>
    [JsonPropertyName("mems")] public string? Mems { get; set; }
    /// <summary>SCHED_IDLE for the cgroup (<c>cpu.idle</c>).</summary>
    [JsonPropertyName("idle")] public long? Idle { get; set; }
}

/// <summary>OCI <c>LinuxPids</c>.</summary>
public sealed class LinuxPids
{
    /// <summary>Maximum tasks; &lt;0 unlimited; 0 leaves the current value.</summary>
    [JsonPropertyName("limit")] public long? Limit { get; set; }
}

/// <summary>OCI <c>LinuxBlockIO</c>.</summary>
public sealed class LinuxBlockIO
{
    /// <summary>Weight 10–1000.</summary>
    [JsonPropertyName("weight")] public ushort? Weight { get; set; }
    /// <summary>Leaf weight 10–1000 (v1 only).</summary>
    [JsonPropertyName("leafWeight")] public ushort? LeafWeight { get; set; }
    /// <summary>Per-device weights.</summary>
    [JsonPropertyName("weightDevice")] public List<LinuxWeightDevice>? WeightDevice { get; set; }
    /// <summary>Read bytes/s per device.</summary>
    [JsonPropertyName("throttleReadBpsDevice")] public List<LinuxThrottleDevice>? ThrottleReadBpsDevice { get; set; }
    /// <summary>Write bytes/s per device.</summary>
    [JsonPropertyName("throttleWriteBpsDevice")] public List<LinuxThrottleDevice>? ThrottleWriteBpsDevice { get; set; }
    /// <summary>Read IO/s per device.</summary>
    [JsonPropertyName("throttleReadIOPSDevice")] public List<LinuxThrottleDevice>? ThrottleReadIopsDevice { get; set; }
    /// <summary>Write IO/s per device.</summary>
    [JsonPropertyName("throttleWriteIOPSDevice")] public List<LinuxThrottleDevice>? ThrottleWriteIopsDevice { get; set; }
}

/// <summary>OCI <c>LinuxWeightDevice</c>.</summary>
public sealed class LinuxWeightDevice
{
    /// <summary>Major number.</summary>
    [JsonPropertyName("major")] public long Major { get; set; }
    /// <summary>Minor number.</summary>
    [JsonPropertyName("minor")] public long Minor { get; set; }
    /// <summary>Weight 10–1000.</summary>
    [JsonPropertyName("weight")] public ushort? Weight { get; set; }
    /// <summary>Leaf weight 10–1000.</summary>
    [JsonPropertyName("leafWeight")] public ushort? LeafWeight { get; set; }
}

/// <summary>OCI <c>LinuxThrottleDevice</c>.</summary>
public sealed class LinuxThrottleDevice
{
    /// <summary>Major number.</summary>
    [JsonPropertyName("major")] public long Major { get; set; }
    /// <summary>Minor number.</summary>
    [JsonPropertyName("minor")] public long Minor { get; set; }
    /// <summary>Rate (bytes/s or IO/s).</summary>
    [JsonPropertyName("rate")] public ulong Rate { get; set; }
}

/// <summary>OCI <c>LinuxHugepageLimit</c>.</summary>
public sealed class LinuxHugepageLimit
{
    /// <summary>Page size as the kernel names it: <c>2MB</c>, <c>1GB</c>, <c>64KB</c>.</summary>
    [JsonPropertyName("pageSize")] public string PageSize { get; set; } = "";
    /// <summary>Limit in bytes.</summary>
    [JsonPropertyName("limit")] public ulong Limit { get; set; }
}

/// <summary>OCI <c>LinuxNetwork</c>.</summary>
public sealed class LinuxNetwork
{
    /// <summary>net_cls class id.</summary>
    [JsonPropertyName("classID")] public uint? ClassId { get; set; }
    /// <summary>net_prio priorities per interface.</summary>
    [JsonPropertyName("priorities")] public List<LinuxInterfacePriority>? Priorities { get; set; }
}

/// <summary>OCI <c>LinuxInterfacePriority</c>.</summary>
public sealed class LinuxInterfacePriority
{
    /// <summary>Interface name.</summary>
    [JsonPropertyName("name")] public string Name { get; set; } = "";
    /// <summary>Priority.</summary>
    [JsonPropertyName("priority")] public uint Priority { get; set; }
}

/// <summary>OCI <c>LinuxRdma</c>.</summary>
public sealed class LinuxRdma
{
    /// <summary>Maximum HCA handles.</summary>
    [JsonPropertyName("hcaHandles")] public uint? HcaHandles { get; set; }
    /// <summary>Maximum HCA objects.</summary>
    [JsonPropertyName("hcaObjects")] public uint? HcaObjects { get; set; }
}
