using System.Globalization;
using KataCgroups.Devices;
using KataCgroups.Errors;
using KataCgroups.Host;

namespace KataCgroups.Resources;

/// <summary>What the v2 compiler needs to know of the host and cgroup (read by the driver).</summary>
/// <param name="Controllers">Controllers available to the cgroup (the parent's <c>cgroup.controllers</c>).</param>
/// <param name="IoWeight">Which file takes io weights: <c>io.bfq.weight</c> (BFQ takes the raw blkio weight), blk-iocost's
/// <c>io.weight</c>, none; null when the driver could not tell (the io controller not yet enabled anywhere it could
/// look): then <c>io.weight</c>, as runc does.</param>
/// <param name="HasSwap">Whether <c>memory.swap.max</c> exists (swap accounting on).</param>
public sealed record V2PlanContext(IReadOnlySet<string> Controllers, BlockIoWeightInterface? IoWeight, bool HasSwap);

/// <summary>
/// Compiles OCI resources into cgroup v2 writes in runc's order (opencontainers/cgroups fs2/fs2.go Set:
/// pids, memory, io, cpu, devices, cpuset, hugetlb, rdma, freezer, unified), with the conversions of
/// <see cref="CgroupV2Conversions"/> recorded so users see what each v1-shaped value became. Each write's
/// Controller is the controller owning the file, which the driver enables in the ancestors'
/// <c>cgroup.subtree_control</c>. Devices are not files on v2: <see cref="CgroupPlan.DeviceTarget"/> carries
/// the rule state the driver compiles into an eBPF program.
/// </summary>
public static class CgroupV2Plan
{
    /// <summary>Compiles. <paramref name="devices"/>: the final rule list, or null to leave devices alone.</summary>
    public static CgroupPlan Compile(LinuxResources r, IReadOnlyList<DeviceRule>? devices, V2PlanContext ctx)
    {
        var warnings = ResourceValidator.Validate(r);
        var w = new List<CgroupWrite>();
        var conv = new List<ValueConversion>();
        static string N(long v) => v.ToString(CultureInfo.InvariantCulture);
        static string U(ulong v) => v.ToString(CultureInfo.InvariantCulture);
        var unsupported = new List<CgroupException>();
        bool Need(string controller, string what)
        {
            if (ctx.Controllers.Contains(controller)) return true;
            unsupported.Add(new CgroupException(ErrorIds.ControllerNotMounted, CgroupErrorKind.NotSupported,
                $"cannot set {what}: the {controller} controller is not available in this cgroup2 hierarchy", controller));
            return false;
        }
        void Add(string controller, string file, string value, string? source = null)
        {
            if (!Need(controller, file)) return;
            w.Add(new CgroupWrite(controller, file, value));
            if (source is not null) conv.Add(new ValueConversion(source, $"{file} {value}"));
        }

        // pids (fs2/pids.go)
        if (r.Pids?.Limit is { } pl && CgroupV2Conversions.NumToStr(pl) is { } pv)
            Add("pids", "pids.max", pv);

        // memory (fs2/memory.go): swap first, then max, then low.
        if (r.Memory is { } m)
        {
            long limit = m.Limit ?? 0, swapOci = m.Swap ?? 0;
            long swap = MemoryPages.Floor(CgroupV2Conversions.MemorySwapToV2(swapOci, limit));
            string? swapStr = CgroupV2Conversions.NumToStr(swap);
            // memory and memory+swap equal: swap disabled, which v2 expresses as swap.max 0.
            if (swapStr is null && swap == 0 && swapOci > 0) swapStr = "0";
            if (swapStr is not null)
            {
                if (!ctx.HasSwap)
                {
                    // fs2/memory.go: without swap accounting, "max" and "0" (swap disabled) are what the host has
                    // anyway; only a real swap limit is an error.
                    if (swapStr is not ("max" or "0"))
                        unsupported.Add(new CgroupException(ErrorIds.UnsupportedOnHost, CgroupErrorKind.NotSupported,
                            "memory.swap cannot be set: this kernel has no memory.swap.max (swap accounting is off)", "memory.swap"));
                }
                else Add("memory", "memory.swap.max", swapStr, $"memory.swap {swapOci}");
            }
            if (CgroupV2Conversions.NumToStr(MemoryPages.Floor(limit)) is { } ms) Add("memory", "memory.max", ms, $"memory.limit {limit}");
            if (m.Reservation is { } res && CgroupV2Conversions.NumToStr(MemoryPages.Floor(res)) is { } rs) Add("memory", "memory.low", rs, $"memory.reservation {res}");
            if (m.Swappiness is { } sw && sw != ulong.MaxValue)
                warnings.Add($"memory.swappiness = {sw} ignored: cgroup v2 has no per-cgroup swappiness");
            if (m.DisableOomKiller == true)
                warnings.Add("memory.disableOOMKiller ignored: cgroup v2 has no oom_control (use memory.oom.group through 'unified')");
        }

        // io (fs2/io.go)
        if (r.BlockIO is { } bio)
        {
            bool bfq = ctx.IoWeight == BlockIoWeightInterface.Bfq;
            bool HasWeights(string what)
            {
                if (ctx.IoWeight != BlockIoWeightInterface.None) return true;
                unsupported.Add(new CgroupException(ErrorIds.BlockIoWeightUnsupported, CgroupErrorKind.NotSupported,
                    $"{what} cannot be set: this kernel has no io weight file (neither blk-iocost's io.weight, " +
                    "CONFIG_BLK_CGROUP_IOCOST, nor io.bfq.weight of the BFQ I/O scheduler)", what));
                return false;
            }
            if (bio.Weight is { } bw && bw != 0 && HasWeights("blockIO.weight"))
            {
                if (bfq) Add("io", "io.bfq.weight", U(bw), $"blkio.weight {bw}");
                else Add("io", "io.weight", U(CgroupV2Conversions.BlkioWeightToIoWeight(bw)), $"blkio.weight {bw}");
            }
            if (bio.LeafWeight is { } lw && lw != 0)
                warnings.Add($"blockIO.leafWeight = {lw} ignored: cgroup v2 has no leaf weights");
            foreach (var wd in bio.WeightDevice ?? new())
            {
                if (wd.Weight is not { } x || x == 0 || !HasWeights("blockIO.weightDevice")) continue;
                // A device weight is BFQ's (fs2/io.go writes weightDevice to io.bfq.weight only). blk-iocost takes one
                // only for a device whose io.cost.qos is enabled, and answers EOPNOTSUPP otherwise: refused up front,
                // where runc drops it without a word.
                if (bfq) Add("io", "io.bfq.weight", $"{wd.Major}:{wd.Minor} {x}", $"blkio.weight_device {wd.Major}:{wd.Minor} {x}");
                else unsupported.Add(new CgroupException(ErrorIds.BlockIoWeightUnsupported, CgroupErrorKind.NotSupported,
                    $"blockIO.weightDevice {wd.Major}:{wd.Minor} {x} cannot be set: on cgroup v2 a device weight needs the BFQ I/O scheduler (io.bfq.weight)", "blockIO.weightDevice"));
            }
            // One io.max line per device carrying every limit given for it.
            var lines = new SortedDictionary<(long, long), List<string>>();
            foreach (var (key, list, oci) in new[]
            {
                ("rbps", bio.ThrottleReadBpsDevice, "blkio.throttle.read_bps_device"),
                ("wbps", bio.ThrottleWriteBpsDevice, "blkio.throttle.write_bps_device"),
                ("riops", bio.ThrottleReadIopsDevice, "blkio.throttle.read_iops_device"),
                ("wiops", bio.ThrottleWriteIopsDevice, "blkio.throttle.write_iops_device"),
            })
            {
                foreach (var td in list ?? new())
                {
                    if (!lines.TryGetValue((td.Major, td.Minor), out var parts)) lines[(td.Major, td.Minor)] = parts = new();
                    // A rate of 0 means "no limit" in runtime-spec; io.max spells that "max".
                    parts.Add($"{key}={(td.Rate == 0 ? "max" : U(td.Rate))}");
                    conv.Add(new ValueConversion($"{oci} {td.Major}:{td.Minor} {td.Rate}", $"io.max {td.Major}:{td.Minor} {key}={(td.Rate == 0 ? "max" : U(td.Rate))}"));
                }
            }
            foreach (var ((maj, min), parts) in lines)
                Add("io", "io.max", $"{maj}:{min} {string.Join(' ', parts)}");
        }

        // cpu (fs2/cpu.go)
        if (r.Cpu is { } c)
        {
            if (c.Shares is { } sh && CgroupV2Conversions.SharesToWeight(sh) is var weight && weight != 0)
                Add("cpu", "cpu.weight", U(weight), $"cpu.shares {sh}");
            if (c.Burst is { } burst) Add("cpu", "cpu.max.burst", U(burst));
            long quota = c.Quota ?? 0;
            ulong period = c.Period ?? 0;
            if (quota != 0 || period != 0)
            {
                var value = $"{(quota > 0 ? N(quota) : "max")} {(period != 0 ? period : 100000)}";
                var source = (quota != 0 ? $"cpu.quota {quota}" : "") + (quota != 0 && period != 0 ? " " : "") + (period != 0 ? $"cpu.period {period}" : "");
                Add("cpu", "cpu.max", value, source);
            }
            if (c.Idle is { } idle) Add("cpu", "cpu.idle", N(idle));
            if (c.RealtimeRuntime is { } rr && rr != 0 || c.RealtimePeriod is { } rp && rp != 0)
                throw new CgroupException(ErrorIds.UnsupportedOnHost, CgroupErrorKind.NotSupported,
                    "realtime CPU limits (cpu.realtimeRuntime/realtimePeriod) are not supported on cgroup v2", "cpu.realtimeRuntime");
        }

        // devices (devices/ebpf_linux.go): no files; the driver turns the state into a program.
        DeviceRuleSet? deviceTarget = devices is null ? null : DeviceRuleSet.FromRequested(devices);

        // cpuset (fs2/cpuset.go)
        if (Cpusets.CpusetList.Strip(r.Cpu?.Cpus) is { } cpus) Add("cpuset", "cpuset.cpus", cpus);
        if (Cpusets.CpusetList.Strip(r.Cpu?.Mems) is { } mems) Add("cpuset", "cpuset.mems", mems);

        // hugetlb (fs2/hugetlb.go)
        foreach (var h in r.HugepageLimits ?? new())
            Add("hugetlb", $"hugetlb.{h.PageSize}.max", U(h.Limit), $"hugetlb.{h.PageSize}.limit_in_bytes {h.Limit}");

        // rdma: the same lines as v1 (fscommon/rdma.go).
        foreach (var (dev, lim) in r.Rdma ?? new())
            if (CgroupV1Plan.RdmaMax(dev, lim) is { } line) Add("rdma", "rdma.max", line);

        if (r.Network is { ClassId: not null and not 0 } || r.Network?.Priorities is { Count: > 0 })
            warnings.Add("network.classID/priorities ignored: net_cls and net_prio do not exist on cgroup v2");

        // unified (fs2/fs2.go setUnified): raw keys, written last, after everything they could override.
        foreach (var (key, value) in r.Unified ?? new())
        {
            var controller = key[..key.IndexOf('.')];
            if (controller == "cgroup" || Need(controller, key)) w.Add(new CgroupWrite(controller, key, value));
        }

        return new CgroupPlan(w, warnings, conv, deviceTarget, unsupported: unsupported);
    }
}
