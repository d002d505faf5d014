using System.Globalization;
using KataCgroups.Devices;
using KataCgroups.Host;
using KataCgroups.Interop;

namespace KataCgroups.Preflight;

/// <summary>
/// The preflight checks of a probed host: what the module can and cannot do here, and why. Each check reads only
/// what the kernel shows (mountinfo through <see cref="HostInfo"/>, <c>/proc/cgroups</c>, the cgroup files of the
/// hierarchies' roots and of one existing non-root cgroup, <c>/proc/pressure</c>, <c>/proc/devices</c>, device
/// nodes); nothing is created or written. The one active probe is loading (never attaching) a device program on
/// cgroup v2, because nothing but the kernel's answer tells whether BPF_PROG_TYPE_CGROUP_DEVICE works. systemd
/// is checked by the engine facade, which owns the D-Bus connection.
/// </summary>
public static class HostChecks
{
    /// <summary>A controller the module uses, whether a Kata sandbox is unconstrained without it, and what is lost.</summary>
    private readonly record struct ControllerUse(string Name, bool Required, string Loses);

    // The controllers CgroupV1Plan writes and the stats read, in runc's subsystem order (fs/fs.go).
    private static readonly ControllerUse[] V1Controllers =
    {
        new("cpuset", true, "-Cpus/-Mems cannot pin the sandbox"),
        new("devices", true, "device rules cannot be enforced"),
        new("memory", true, "memory limits cannot be set"),
        new("cpu", true, "CPU shares and quota cannot be set"),
        new("cpuacct", false, "no CPU usage figures in Get-KataCgroupStat"),
        new("pids", false, "-PidsLimit cannot be set"),
        new("blkio", false, "block IO weights and throttles cannot be set"),
        new("hugetlb", false, "hugepageLimits fail with ControllerNotMounted (or are skipped with -SkipUnsupported)"),
        new("net_cls", false, "network.classID fails with ControllerNotMounted (or is skipped with -SkipUnsupported)"),
        new("net_prio", false, "network.priorities fail with ControllerNotMounted (or are skipped with -SkipUnsupported)"),
        new("rdma", false, "rdma limits fail with ControllerNotMounted (or are skipped with -SkipUnsupported)"),
        new("freezer", false, "Suspend-/Resume-KataCgroup fail with ControllerNotMounted"),
    };

    // cgroup v2 (fs2/fs2.go): devices and the freezer are core features there, not controllers.
    private static readonly ControllerUse[] V2Controllers =
    {
        new("cpuset", true, "-Cpus/-Mems cannot pin the sandbox"),
        new("cpu", true, "CPU weight and max cannot be set"),
        new("memory", true, "memory limits cannot be set"),
        new("io", false, "io weights and io.max cannot be set"),
        new("pids", false, "-PidsLimit cannot be set"),
        new("hugetlb", false, "hugepageLimits fail with ControllerNotMounted"),
        new("rdma", false, "rdma limits fail with ControllerNotMounted"),
    };

    /// <summary>Runs every file-system check for <paramref name="host"/>, in a fixed order.</summary>
    public static List<HostCheck> Run(HostInfo host)
    {
        var o = host.Options;
        var procCgroups = ReadProcCgroups(Path.Combine(o.ProcRoot, "cgroups"));
        var checks = new List<HostCheck>
        {
            Mode(host),
            new("Kernel", HostCheckStatus.Pass, ReadLine(Path.Combine(o.ProcRoot, "sys", "kernel", "osrelease")) ?? "unknown",
                "the running kernel (what the checks below were read from)"),
        };
        bool v2 = host.Mode == CgroupMode.Unified;
        var rootControllers = host.Unified is { } u ? Words(ReadLine(Path.Combine(u.MountPoint, "cgroup.controllers"))) : new HashSet<string>();
        foreach (var c in v2 ? V2Controllers : V1Controllers)
            checks.Add(v2 ? V2Controller(c, rootControllers, procCgroups) : V1Controller(host, c, rootControllers, procCgroups));
        checks.Add(Swap(host));
        checks.Add(BlockIoWeight(host));
        checks.Add(BlockIoThrottle(host));
        checks.Add(Psi(host));
        checks.Add(Freezer(host));
        checks.Add(Kill(host));
        checks.Add(DeviceControl(host));
        checks.AddRange(HypervisorNodes(host));
        checks.Add(Rootless(host));
        return checks;
    }

    private static HostCheck Mode(HostInfo host)
    {
        if (host.Hierarchies.Count == 0)
            return new("CgroupMode", HostCheckStatus.Fail, "none", $"no cgroup file system is mounted under {host.Options.CgroupRoot}");
        return host.Mode switch
        {
            CgroupMode.Unified => new("CgroupMode", HostCheckStatus.Pass, "Unified",
                $"cgroup v2 at {host.Unified!.MountPoint}: the cgroupfs v2 driver (devices through eBPF)"),
            CgroupMode.Hybrid => new("CgroupMode", HostCheckStatus.Pass, "Hybrid",
                $"v1 controllers under {host.Options.CgroupRoot}, cgroup2 at {host.Unified?.MountPoint}: the cgroupfs v1 driver"),
            _ => new("CgroupMode", HostCheckStatus.Pass, "Legacy",
                $"v1 controllers under {host.Options.CgroupRoot}, no cgroup2 mount: the cgroupfs v1 driver"),
        };
    }

    private static HostCheck V1Controller(HostInfo host, ControllerUse c, HashSet<string> unifiedControllers,
        Dictionary<string, (int Hierarchy, bool Enabled)> procCgroups)
    {
        var name = "Controller:" + c.Name;
        if (host.ByController.TryGetValue(c.Name, out var h))
        {
            var others = h.Controllers.Where(x => x != c.Name).ToList();
            return new(name, HostCheckStatus.Pass, h.MountPoint,
                others.Count == 0 ? "v1 hierarchy of its own" : $"v1 hierarchy shared with {string.Join(',', others)}");
        }
        string why = MissingReason(c.Name, procCgroups) ?? (unifiedControllers.Contains(c.Name)
            ? $"only on the cgroup2 mount ({host.Unified!.MountPoint}), which the v1 driver does not write limits to"
            : "no v1 hierarchy has it mounted");
        return new(name, c.Required ? HostCheckStatus.Fail : HostCheckStatus.Warn, "none", $"{why}: {c.Loses}");
    }

    private static HostCheck V2Controller(ControllerUse c, HashSet<string> rootControllers, Dictionary<string, (int Hierarchy, bool Enabled)> procCgroups)
    {
        var name = "Controller:" + c.Name;
        if (rootControllers.Contains(c.Name))
            return new(name, HostCheckStatus.Pass, "cgroup.controllers", "available at the cgroup2 root");
        // blkio is what /proc/cgroups calls the io controller.
        string why = MissingReason(c.Name == "io" ? "blkio" : c.Name, procCgroups) is { } r ? r
            : procCgroups.TryGetValue(c.Name == "io" ? "blkio" : c.Name, out var e) && e.Hierarchy != 0
                ? "bound to a v1 hierarchy, so cgroup v2 cannot have it"
                : "not in the root's cgroup.controllers";
        return new(name, c.Required ? HostCheckStatus.Fail : HostCheckStatus.Warn, "none", $"{why}: {c.Loses}");
    }

    /// <summary>Why a controller is missing, as /proc/cgroups tells it; null when it is built and enabled.</summary>
    private static string? MissingReason(string controller, Dictionary<string, (int Hierarchy, bool Enabled)> procCgroups)
    {
        if (procCgroups.Count == 0) return null;   // no /proc/cgroups to ask
        if (!procCgroups.TryGetValue(controller, out var e)) return "not built into this kernel";
        return e.Enabled ? null : "disabled on the kernel command line (cgroup_disable=)";
    }

    private static HostCheck Swap(HostInfo host)
    {
        const string name = "SwapAccounting";
        const string off = "swap accounting is off (CONFIG_MEMCG_SWAP, or swapaccount=0 on the kernel command line): -MemorySwap fails with UnsupportedOnHost";
        if (host.Mode != CgroupMode.Unified)
        {
            if (!host.ByController.TryGetValue("memory", out var mem))
                return new(name, HostCheckStatus.Warn, "none", "no memory controller");
            // Every memory cgroup, the root included, has memory.memsw.* or none does.
            return File.Exists(Path.Combine(mem.MountPoint, "memory.memsw.limit_in_bytes"))
                ? new(name, HostCheckStatus.Pass, "memory.memsw.limit_in_bytes", "swap limits (-MemorySwap) can be set")
                : new(name, HostCheckStatus.Warn, "none", off);
        }
        var dir = V2Reference(host, "memory.current");
        if (dir is null) return new(name, HostCheckStatus.Warn, "unknown", "no cgroup with the memory controller enabled to look at");
        return File.Exists(Path.Combine(dir, "memory.swap.max"))
            ? new(name, HostCheckStatus.Pass, "memory.swap.max", "swap limits (-MemorySwap) can be set")
            : new(name, HostCheckStatus.Warn, "none", off);
    }

    private static HostCheck BlockIoWeight(HostInfo host)
    {
        const string name = "BlockIoWeight";
        if (host.Mode != CgroupMode.Unified)
        {
            if (!host.ByController.TryGetValue("blkio", out var blkio))
                return new(name, HostCheckStatus.Warn, "none", "no blkio controller");
            return BlockIoWeights.DetectV1(blkio.MountPoint) switch
            {
                BlockIoWeightInterface.Cfq => new(name, HostCheckStatus.Pass, "blkio.weight", "CFQ: weights and leaf weights"),
                BlockIoWeightInterface.Bfq => new(name, HostCheckStatus.Pass, "blkio.bfq.weight",
                    "BFQ: weights per cgroup and per device; no leaf weights (a leaf weight fails with BlockIoWeightUnsupported)"),
                _ => new(name, HostCheckStatus.Warn, "none",
                    $"{BlockIoWeights.NoWeightReason}{Schedulers(host)}: -BlkioWeight fails with BlockIoWeightUnsupported"),
            };
        }
        if (!Words(ReadLine(Path.Combine(host.Unified!.MountPoint, "cgroup.controllers"))).Contains("io"))
            return new(name, HostCheckStatus.Warn, "none", "no io controller");
        var dir = V2Reference(host, "io.stat");
        var found = dir is null ? null : BlockIoWeights.DetectV2(dir);
        // blk-iocost shows io.cost.qos and io.cost.model on the root only: enough to know io.weight exists below.
        if (found is null && File.Exists(Path.Combine(host.Unified.MountPoint, "io.cost.qos"))) found = BlockIoWeightInterface.IoCost;
        return found switch
        {
            BlockIoWeightInterface.Bfq => new(name, HostCheckStatus.Pass, "io.bfq.weight", "BFQ: the blkio weight is written as is"),
            BlockIoWeightInterface.IoCost => new(name, HostCheckStatus.Pass, "io.weight", "blk-iocost: the blkio weight is converted to 1–10000"),
            BlockIoWeightInterface.None => new(name, HostCheckStatus.Warn, "none",
                $"neither blk-iocost's io.weight (CONFIG_BLK_CGROUP_IOCOST) nor BFQ's io.bfq.weight{Schedulers(host)}: -BlkioWeight fails with BlockIoWeightUnsupported"),
            _ => new(name, HostCheckStatus.Warn, "unknown", "no cgroup with the io controller enabled to look at"),
        };
    }

    /// <summary>" (schedulers on this host: bfq, mq-deadline)" from /sys/block/*/queue/scheduler, or "".</summary>
    private static string Schedulers(HostInfo host)
    {
        var found = new SortedSet<string>(StringComparer.Ordinal);
        try
        {
            foreach (var dev in Directory.EnumerateDirectories(Path.Combine(host.Options.SysRoot, "block")))
                foreach (var s in Words(ReadLine(Path.Combine(dev, "queue", "scheduler"))))
                    found.Add(s.Trim('[', ']'));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return found.Count == 0 ? "" : $" (I/O schedulers on this host: {string.Join(", ", found)})";
    }

    private static HostCheck BlockIoThrottle(HostInfo host)
    {
        const string name = "BlockIoThrottle";
        const string off = "this kernel has no block IO throttling (CONFIG_BLK_DEV_THROTTLING): throttle*Device values cannot be set";
        if (host.Mode != CgroupMode.Unified)
        {
            if (!host.ByController.TryGetValue("blkio", out var blkio))
                return new(name, HostCheckStatus.Warn, "none", "no blkio controller");
            return File.Exists(Path.Combine(blkio.MountPoint, "blkio.throttle.read_bps_device"))
                ? new(name, HostCheckStatus.Pass, "blkio.throttle.*", "read/write bytes and IOs per second per device")
                : new(name, HostCheckStatus.Warn, "none", off);
        }
        var dir = V2Reference(host, "io.stat");
        if (dir is null) return new(name, HostCheckStatus.Warn, "unknown", "no cgroup with the io controller enabled to look at");
        return File.Exists(Path.Combine(dir, "io.max"))
            ? new(name, HostCheckStatus.Pass, "io.max", "read/write bytes and IOs per second per device")
            : new(name, HostCheckStatus.Warn, "none", off);
    }

    private static HostCheck Psi(HostInfo host)
    {
        const string name = "Psi";
        var file = Path.Combine(host.Options.ProcRoot, "pressure", "cpu");
        if (!File.Exists(file))
            return new(name, HostCheckStatus.Warn, "none", "this kernel has no pressure stall information (CONFIG_PSI): no pressure figures in Get-KataCgroupStat");
        try { File.ReadAllText(file); }
        catch (IOException)
        {
            // psi=0 (or CONFIG_PSI_DEFAULT_DISABLED without psi=1) keeps the files but fails every read (EOPNOTSUPP).
            return new(name, HostCheckStatus.Warn, "off", "pressure stall information is built but off (boot with psi=1): no pressure figures in Get-KataCgroupStat");
        }
        if (host.Unified is null)
            return new(name, HostCheckStatus.Warn, file, "system-wide pressure only: per-cgroup *.pressure files live on a cgroup2 mount, and this host has none");
        return new(name, HostCheckStatus.Pass, "*.pressure",
            host.Mode == CgroupMode.Hybrid ? "per-cgroup pressure, read from the cgroup's directory on the cgroup2 mount" : "per-cgroup pressure");
    }

    private static HostCheck Freezer(HostInfo host)
    {
        const string name = "Freezer";
        if (host.Mode != CgroupMode.Unified)
        {
            return host.ByController.ContainsKey("freezer")
                ? new(name, HostCheckStatus.Pass, "freezer.state", "v1 freezer: Suspend-/Resume-KataCgroup, and Remove -Kill freezes before it signals")
                : new(name, HostCheckStatus.Warn, "none", "no v1 freezer: Suspend-/Resume-KataCgroup fail with ControllerNotMounted, and Remove -Kill signals without freezing");
        }
        var dir = V2Reference(host, "cgroup.procs");
        return dir is not null && File.Exists(Path.Combine(dir, "cgroup.freeze"))
            ? new(name, HostCheckStatus.Pass, "cgroup.freeze", "cgroup v2 freezer (Linux 5.2)")
            : new(name, HostCheckStatus.Warn, "none", "no cgroup.freeze (Linux 5.2 added it): Suspend-/Resume-KataCgroup cannot work");
    }

    private static HostCheck Kill(HostInfo host)
    {
        const string name = "CgroupKill";
        if (host.Mode != CgroupMode.Unified)
        {
            return host.ByController.ContainsKey("freezer")
                ? new(name, HostCheckStatus.Pass, "freezer + SIGKILL", "v1 has no cgroup.kill: Remove -Kill freezes the cgroup, signals every task, thaws")
                : new(name, HostCheckStatus.Warn, "SIGKILL", "v1 has no cgroup.kill and this host no freezer: Remove -Kill signals every task, and a task forking meanwhile can outlive it");
        }
        var dir = V2Reference(host, "cgroup.procs");
        return dir is not null && File.Exists(Path.Combine(dir, "cgroup.kill"))
            ? new(name, HostCheckStatus.Pass, "cgroup.kill", "Remove -Kill ends the whole subtree in one write (Linux 5.14)")
            : new(name, HostCheckStatus.Warn, "none", "no cgroup.kill (Linux 5.14 added it): Remove -Kill freezes and signals every task instead");
    }

    private static HostCheck DeviceControl(HostInfo host)
    {
        const string name = "DeviceControl";
        if (host.Mode != CgroupMode.Unified)
        {
            return host.ByController.TryGetValue("devices", out var d)
                ? new(name, HostCheckStatus.Pass, "devices.allow/deny", $"v1 devices controller at {d.MountPoint}")
                : new(name, HostCheckStatus.Fail, "none", "no v1 devices controller: a sandbox can open every device node");
        }
        if (host.IsRootless)
            return new(name, HostCheckStatus.Warn, "unknown", "loading a BPF_PROG_TYPE_CGROUP_DEVICE program needs root: not tried");
        // Load (never attach) the program the driver would make for "allow everything", and close it.
        var program = DeviceFilterProgram.Encode(DeviceFilterProgram.Build(DeviceRuleSet.AllowAll()));
        int fd = Bpf.LoadDeviceProgram(program, out int errno, out _);
        if (fd >= 0)
        {
            Libc.Close(fd);
            return new(name, HostCheckStatus.Pass, "eBPF", "BPF_PROG_TYPE_CGROUP_DEVICE programs load: device rules are enforced");
        }
        return new(name, HostCheckStatus.Fail, "none",
            $"a BPF_PROG_TYPE_CGROUP_DEVICE program does not load ({Errno.Describe(errno)}; CONFIG_CGROUP_BPF?): device rules cannot be enforced");
    }

    private static IEnumerable<HostCheck> HypervisorNodes(HostInfo host)
    {
        foreach (var node in HypervisorDevices.Nodes)
        {
            var path = Path.Combine(host.Options.DevRoot, node);
            var dev = DeviceNode.TryStat(path, out var error);
            yield return dev is { } d
                ? new("Device:" + path, HostCheckStatus.Pass, $"{d.Type} {d.Major}:{d.Minor}", NodeUse(node))
                : new("Device:" + path, HostCheckStatus.Warn, "none", $"not there ({error}): no {NodeUse(node)}; New-KataCgroup skips the node with a warning");
        }
        // Kata allows b 253:* for device-mapper; the major is dynamic (Documentation/admin-guide/devices.txt), so
        // a host that gives device-mapper another number gets no access from that rule.
        var major = BlockMajor(Path.Combine(host.Options.ProcRoot, "devices"), "device-mapper");
        yield return major switch
        {
            null => new("Device:device-mapper", HostCheckStatus.Warn, "none",
                "device-mapper is not loaded: no dm devices to hot-plug (the b 253:* rule is still written)"),
            HypervisorDevices.DeviceMapperMajor => new("Device:device-mapper", HostCheckStatus.Pass, $"b {major}:*",
                "device-mapper has the major the sandbox rule b 253:* allows"),
            _ => new("Device:device-mapper", HostCheckStatus.Warn, $"b {major}:*",
                $"device-mapper has major {major} here, but the sandbox rule allows b {HypervisorDevices.DeviceMapperMajor}:*: add -Device 'b {major}:* rwm'"),
        };
    }

    private static string NodeUse(string node) => node switch
    {
        "kvm" => "hardware-accelerated VMs (KVM)",
        "vhost-net" => "vhost-net virtqueues",
        "vfio/vfio" => "VFIO device passthrough",
        "vhost-vsock" => "vhost-vsock (the agent's channel)",
        _ => node,
    };

    private static HostCheck Rootless(HostInfo host) => host.RootlessReason is { } why
        ? new("Rootless", HostCheckStatus.Warn, $"uid {host.Euid}", $"{why}: the mutating cmdlets warn and change nothing; reading and -WhatIf work")
        : new("Rootless", HostCheckStatus.Pass, "uid 0", "privileged: the mutating cmdlets change cgroups");

    /// <summary>
    /// A non-root cgroup of the cgroup2 mount that has <paramref name="marker"/> (e.g. <c>memory.current</c>: the
    /// memory controller is enabled there), to learn which interface files this kernel offers — the root hides
    /// most. This process's own cgroup first, then the root's children. Null when none has it.
    /// </summary>
    private static string? V2Reference(HostInfo host, string marker)
    {
        if (host.Unified is not { } u) return null;
        var own = OwnUnifiedCgroup(host.Options.ProcRoot);
        if (own is not null && own != "/")
        {
            var dir = u.DirectoryOf(own);
            if (File.Exists(Path.Combine(dir, marker))) return dir;
        }
        try
        {
            foreach (var dir in Directory.EnumerateDirectories(u.MountPoint))
                if (File.Exists(Path.Combine(dir, marker))) return dir;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return null;
    }

    /// <summary>This process's cgroup2 path (the <c>0::</c> line of /proc/self/cgroup), or null.</summary>
    private static string? OwnUnifiedCgroup(string procRoot)
    {
        try
        {
            foreach (var line in File.ReadLines(Path.Combine(procRoot, "self", "cgroup")))
                if (line.StartsWith("0::", StringComparison.Ordinal)) return line[3..];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return null;
    }

    /// <summary>/proc/cgroups: subsystem → (hierarchy id, enabled). Empty when unreadable.</summary>
    internal static Dictionary<string, (int Hierarchy, bool Enabled)> ReadProcCgroups(string path)
    {
        var result = new Dictionary<string, (int, bool)>(StringComparer.Ordinal);
        try
        {
            foreach (var line in File.ReadLines(path))
            {
                if (line.StartsWith('#')) continue;
                var f = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                if (f.Length >= 4 && int.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out var hier))
                    result[f[0]] = (hier, f[3] == "1");
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return result;
    }

    /// <summary>The block major /proc/devices gives <paramref name="driver"/>, or null.</summary>
    internal static long? BlockMajor(string procDevices, string driver)
    {
        bool block = false;
        try
        {
            foreach (var line in File.ReadLines(procDevices))
            {
                if (line.StartsWith("Block devices:", StringComparison.Ordinal)) { block = true; continue; }
                if (!block) continue;
                var f = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                if (f.Length == 2 && f[1] == driver && long.TryParse(f[0], NumberStyles.None, CultureInfo.InvariantCulture, out var m)) return m;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return null;
    }

    private static string? ReadLine(string path)
    {
        try { return File.ReadAllText(path).Trim(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    private static HashSet<string> Words(string? text) =>
        new((text ?? "").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries), StringComparer.Ordinal);
}
