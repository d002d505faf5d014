using System.Globalization;
using KataCgroups.Devices;
using KataCgroups.Errors;
using KataCgroups.Host;

namespace KataCgroups.Resources;

/// <summary>What the v1 compiler needs to know of the cgroup as it is now (read by the driver).</summary>
/// <param name="Controllers">v1 controllers mounted on the host.</param>
/// <param name="CurrentMemoryLimit">Current <c>memory.limit_in_bytes</c> (unlimited for a new cgroup).</param>
/// <param name="HasMemorySwap">Whether <c>memory.memsw.limit_in_bytes</c> exists (swap accounting on).</param>
/// <param name="BlkioWeight">Which files take block IO weights: CFQ's <c>blkio.weight</c>, BFQ's <c>blkio.bfq.*</c>, or none.</param>
/// <param name="CurrentDevices">Current <c>devices.list</c> state; for a create, <see cref="DeviceRuleSet.AllowAll"/> (unknown: the transition starts with the reset).</param>
public sealed record V1PlanContext(IReadOnlySet<string> Controllers, long CurrentMemoryLimit, bool HasMemorySwap,
    BlockIoWeightInterface BlkioWeight, DeviceRuleSet CurrentDevices);

/// <summary>
/// Compiles OCI resources into cgroup v1 writes, in runc's subsystem order (opencontainers/cgroups fs/fs.go:
/// cpuset, devices, memory, cpu, pids, blkio, hugetlb, net_cls, net_prio, rdma) with each subsystem's own rules
/// (fs/cpuset.go, devices/v1.go, fs/memory.go, fs/cpu.go, fs/pids.go, fs/blkio.go, fs/hugetlb.go…). Pure: the
/// driver supplies <see cref="V1PlanContext"/> and executes the result.
/// </summary>
public static class CgroupV1Plan
{
    /// <summary>The value the kernel shows for an unlimited v1 memory limit (PAGE_COUNTER_MAX pages, 4 KiB pages).</summary>
    public const long UnlimitedMemory = 9223372036854771712;

    /// <summary>Compiles. <paramref name="devices"/> is the final rule list (caller + hypervisor + defaults) or null to leave devices alone.</summary>
    public static CgroupPlan Compile(LinuxResources r, IReadOnlyList<DeviceRule>? devices, V1PlanContext ctx)
    {
        var warnings = ResourceValidator.Validate(r);
        if (r.Unified is { Count: > 0 })
            throw new CgroupException(ErrorIds.UnsupportedOnHost, CgroupErrorKind.NotSupported,
                "the OCI 'unified' map holds cgroup v2 files and cannot be applied on a cgroup v1 host", "unified");

        var w = new List<CgroupWrite>();
        var conv = new List<ValueConversion>();
        var unsupported = new List<CgroupException>();
        void Add(string controller, string file, string value, string? source = null)
        {
            if (!ctx.Controllers.Contains(controller))
            {
                unsupported.Add(new CgroupException(ErrorIds.ControllerNotMounted, CgroupErrorKind.NotSupported,
                    $"{source ?? file + " " + value} cannot be set: the {controller} controller is not mounted on this host", controller));
                return;
            }
            w.Add(new CgroupWrite(controller, file, value));
            if (source is not null) conv.Add(new ValueConversion(source, $"{file} {value}"));
        }
        static string N(long v) => v.ToString(CultureInfo.InvariantCulture);
        static string U(ulong v) => v.ToString(CultureInfo.InvariantCulture);

        // cpuset (fs/cpuset.go): cpus then mems, empty means "leave".
        if (Cpusets.CpusetList.Strip(r.Cpu?.Cpus) is { } cpus) Add("cpuset", "cpuset.cpus", cpus);
        if (Cpusets.CpusetList.Strip(r.Cpu?.Mems) is { } mems) Add("cpuset", "cpuset.mems", mems);

        // devices (devices/v1.go): the minimal transition from devices.list to the target state.
        DeviceRuleSet? deviceTarget = null;
        if (devices is not null)
        {
            if (!ctx.Controllers.Contains("devices"))
                unsupported.Add(new CgroupException(ErrorIds.ControllerNotMounted, CgroupErrorKind.NotSupported,
                    "device rules cannot be enforced: the devices controller is not mounted on this host", "devices"));
            else
            {
                deviceTarget = DeviceRuleSet.FromRequested(devices);
                foreach (var rule in ctx.CurrentDevices.Transition(deviceTarget))
                    Add("devices", rule.Allow ? "devices.allow" : "devices.deny", rule.ToKernelString());
            }
        }

        // memory (fs/memory.go setMemoryAndSwap)
        if (r.Memory is { } m)
        {
            long limit = m.Limit ?? 0, swap = m.Swap ?? 0;
            // An unlimited memory update without a swap value makes swap unlimited too, where swap accounting exists.
            if (limit == -1 && swap == 0 && ctx.HasMemorySwap) swap = -1;
            if (swap != 0 && !ctx.HasMemorySwap)
            {
                // An explicit swap value the kernel cannot account; the unlimited default above never gets here.
                unsupported.Add(new CgroupException(ErrorIds.UnsupportedOnHost, CgroupErrorKind.NotSupported,
                    "memory.swap cannot be set: this kernel has no memory.memsw.limit_in_bytes (boot with swapaccount=1)", "memory.swap"));
                swap = 0;
            }
            // The kernel requires memsw >= memory at every moment: when raising (or unlimiting) swap past the
            // current memory limit write memsw first, else memory first.
            bool swapFirst = limit != 0 && swap != 0 && (swap == -1 || ctx.CurrentMemoryLimit < swap);
            if (swapFirst) Add("memory", "memory.memsw.limit_in_bytes", N(MemoryPages.Floor(swap)), $"memory.swap {swap}");
            if (limit != 0) Add("memory", "memory.limit_in_bytes", N(MemoryPages.Floor(limit)), $"memory.limit {limit}");
            if (!swapFirst && swap != 0) Add("memory", "memory.memsw.limit_in_bytes", N(MemoryPages.Floor(swap)), $"memory.swap {swap}");
            if (m.Reservation is { } res && res != 0) Add("memory", "memory.soft_limit_in_bytes", N(MemoryPages.Floor(res)), $"memory.reservation {res}");
            // fs/memory.go writes only "1"; an explicit false writes "0" so Set can turn the killer back on.
            if (m.DisableOomKiller is { } noOom) Add("memory", "memory.oom_control", noOom ? "1" : "0");
            // 2^64-1 (the spec's -1) means "not set" (runc fs/memory.go).
            if (m.Swappiness is { } sw && sw != ulong.MaxValue) Add("memory", "memory.swappiness", U(sw));
        }

        // cpu (fs/cpu.go): shares, period then quota (the driver retries quota-first on EINVAL), burst, rt, idle.
        if (r.Cpu is { } c)
        {
            if (c.Shares is { } sh && sh != 0) Add("cpu", "cpu.shares", U(sh), $"cpu.shares {sh}");
            if (c.Period is { } p && p != 0) Add("cpu", "cpu.cfs_period_us", U(p), $"cpu.period {p}");
            if (c.Quota is { } q && q != 0) Add("cpu", "cpu.cfs_quota_us", N(q), $"cpu.quota {q}");
            if (c.Burst is { } b) Add("cpu", "cpu.cfs_burst_us", U(b));
            if (c.RealtimePeriod is { } rp && rp != 0) Add("cpu", "cpu.rt_period_us", U(rp));
            if (c.RealtimeRuntime is { } rr && rr != 0) Add("cpu", "cpu.rt_runtime_us", N(rr));
            if (c.Idle is { } idle) Add("cpu", "cpu.idle", N(idle));
        }

        // pids (fs/pids.go; runc 1.1 numToStr): >0 as is, <0 → max, 0 → not written.
        if (r.Pids?.Limit is { } pl && pl != 0) Add("pids", "pids.max", pl > 0 ? N(pl) : "max", $"pids.limit {pl}");

        // blkio (fs/blkio.go): BFQ files when CFQ's are gone (kernel 5.0 removed CFQ); neither on a kernel without
        // BFQ, where a weight cannot be set at all and says why instead of failing on a missing file.
        if (r.BlockIO is { } bio)
        {
            bool cfq = ctx.BlkioWeight == BlockIoWeightInterface.Cfq;
            string weightFile = cfq ? "blkio.weight" : "blkio.bfq.weight";
            string weightDeviceFile = cfq ? "blkio.weight_device" : "blkio.bfq.weight_device";
            // Leaf weights were CFQ's alone: BFQ has none, and a kernel without either has no weights at all.
            string? noLeafWeights = ctx.BlkioWeight switch
            {
                BlockIoWeightInterface.Cfq => null,
                BlockIoWeightInterface.Bfq => "the BFQ I/O scheduler has no leaf weights (only CFQ had them, removed in Linux 5.0)",
                _ => BlockIoWeights.NoWeightReason,
            };
            bool HasWeights(string what)
            {
                if (ctx.BlkioWeight != BlockIoWeightInterface.None || !ctx.Controllers.Contains("blkio")) return true;
                unsupported.Add(new CgroupException(ErrorIds.BlockIoWeightUnsupported, CgroupErrorKind.NotSupported,
                    $"{what} cannot be set: {BlockIoWeights.NoWeightReason}", what));
                return false;
            }
            // runc writes a leaf weight to blkio.leaf_weight whatever the scheduler and fails where the file is missing;
            // the reason is said here instead of an ENOENT.
            void NoLeafWeight(string what) => unsupported.Add(new CgroupException(ErrorIds.BlockIoWeightUnsupported,
                CgroupErrorKind.NotSupported, $"{what} cannot be set: {noLeafWeights}", what));
            if (bio.Weight is { } bw && bw != 0 && HasWeights("blockIO.weight"))
                Add("blkio", weightFile, U(bw), $"blkio.weight {bw}");
            if (bio.LeafWeight is { } lw && lw != 0)
            {
                if (noLeafWeights is not null && ctx.Controllers.Contains("blkio")) NoLeafWeight($"blockIO.leafWeight {lw}");
                else Add("blkio", "blkio.leaf_weight", U(lw));
            }
            foreach (var wd in bio.WeightDevice ?? new())
            {
                if (wd.Weight is { } x && x != 0 && HasWeights("blockIO.weightDevice"))
                    Add("blkio", weightDeviceFile, $"{wd.Major}:{wd.Minor} {x}");
                if (wd.LeafWeight is { } y && y != 0)
                {
                    if (noLeafWeights is not null && ctx.Controllers.Contains("blkio")) NoLeafWeight($"blockIO.weightDevice {wd.Major}:{wd.Minor} leafWeight {y}");
                    else Add("blkio", "blkio.leaf_weight_device", $"{wd.Major}:{wd.Minor} {y}");
                }
            }
            foreach (var (file, list) in new[]
            {
                ("blkio.throttle.read_bps_device", bio.ThrottleReadBpsDevice),
                ("blkio.throttle.write_bps_device", bio.ThrottleWriteBpsDevice),
                ("blkio.throttle.read_iops_device", bio.ThrottleReadIopsDevice),
                ("blkio.throttle.write_iops_device", bio.ThrottleWriteIopsDevice),
            })
            {
                foreach (var td in list ?? new()) Add("blkio", file, $"{td.Major}:{td.Minor} {td.Rate}");
            }
        }

        // hugetlb (fs/hugetlb.go)
        foreach (var h in r.HugepageLimits ?? new())
            Add("hugetlb", $"hugetlb.{h.PageSize}.limit_in_bytes", U(h.Limit), $"hugepageLimits {h.PageSize} {h.Limit}");

        // net_cls, net_prio (fs/net_cls.go, fs/net_prio.go)
        if (r.Network?.ClassId is { } cls && cls != 0) Add("net_cls", "net_cls.classid", U(cls));
        foreach (var p in r.Network?.Priorities ?? new())
            Add("net_prio", "net_prio.ifpriomap", $"{p.Name} {p.Priority}");

        foreach (var (dev, lim) in r.Rdma ?? new())
            if (RdmaMax(dev, lim) is { } line) Add("rdma", "rdma.max", line);

        return new CgroupPlan(w, warnings, conv, deviceTarget, unsupported: unsupported);
    }

    /// <summary>
    /// One rdma.max line, the same on v1 and v2 (fscommon/rdma.go createCmdString): the device and only the fields
    /// that are set, so an unset one keeps its value; null when neither is set.
    /// </summary>
    internal static string? RdmaMax(string device, LinuxRdma limits)
    {
        if (limits.HcaHandles is null && limits.HcaObjects is null) return null;
        var line = device;
        if (limits.HcaHandles is { } hh) line += " hca_handle=" + hh.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (limits.HcaObjects is { } ho) line += " hca_object=" + ho.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return line;
    }
}
