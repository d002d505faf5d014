using KataCgroups.Model;

namespace KataCgroups.PowerShell.Internal;

/// <summary>Engine snapshots → the flat objects the cmdlets emit.</summary>
internal static class Snapshots
{
    public static KataCgroup ToOutput(CgroupSnapshot s, KataCgroups.Resources.CgroupPlan? plan = null) => new()
    {
        Path = KataCgroups.Paths.CgroupWildcard.EscapeLiteral(s.Target.RequestedPath),   // a -Path value that names only this cgroup
        CgroupPath = s.Target.CgroupPath,
        Driver = s.Driver.ToString(),
        Mode = s.Mode.ToString(),
        State = s.Unfinished ? "Unfinished" : "Complete",
        StateReason = s.UnfinishedReason,
        Pids = s.Pids.ToArray(),
        Threads = s.Threads.ToArray(),
        MemoryLimit = s.MemoryLimit,
        MemorySwap = s.MemorySwap,
        MemoryReservation = s.MemoryReservation,
        MemoryUsage = s.MemoryUsage,
        CpuShares = s.CpuShares,
        CpuQuota = s.CpuQuota,
        CpuPeriod = s.CpuPeriod,
        Cpus = s.Cpus,
        Mems = s.Mems,
        PidsLimit = s.PidsLimit,
        PidsCurrent = s.PidsCurrent,
        BlkioWeight = s.BlkioWeight,
        Devices = s.Devices.ToArray(),
        FreezerState = s.FreezerState,
        Controllers = s.Paths.Select(p => p.Controller).ToArray(),
        MissingIn = s.MissingIn.ToArray(),
        Conversions = plan?.Conversions.Select(c => c.ToString()).ToArray() ?? Array.Empty<string>(),
    };
}

/// <summary>Engine sandbox states → <see cref="KataSandbox"/>.</summary>
internal static class SandboxOutput
{
    public static KataSandbox ToOutput(SandboxState s, VmmPlacement? placement = null) => new()
    {
        SandboxId = s.Address.SandboxId,
        PodPath = s.Address.PodPath,
        Path = s.Address.SandboxPath,
        Layout = s.SandboxCgroupOnly ? "SandboxCgroupOnly" : "Overhead",
        SandboxCgroupOnly = s.SandboxCgroupOnly,
        SandboxCgroupPath = s.Sandbox.Target.CgroupPath,
        OverheadRoot = s.Address.OverheadRoot,
        OverheadCgroupPath = s.Overhead?.Target.CgroupPath ?? "",
        Driver = s.Sandbox.Driver.ToString(),
        Mode = s.Sandbox.Mode.ToString(),
        SandboxPids = s.Sandbox.Pids.ToArray(),
        SandboxThreads = s.Sandbox.Threads.ToArray(),
        OverheadPids = s.Overhead?.Pids.ToArray() ?? Array.Empty<int>(),
        OverheadThreads = s.Overhead?.Threads.ToArray() ?? Array.Empty<int>(),
        VmmPid = placement?.VmmPid,
        VcpuThreadIds = placement?.Vcpus.Select(v => v.ThreadId).ToArray() ?? Array.Empty<int>(),
        VcpuPlacement = placement?.Vcpus.Select(v => v.Placement.ToString()).Distinct().FirstOrDefault(),
    };
}
