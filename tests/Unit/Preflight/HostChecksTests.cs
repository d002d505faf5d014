using KataCgroups.Host;
using KataCgroups.Preflight;
using KataCgroups.Tests.Support;

namespace KataCgroups.Tests.Preflight;

/// <summary>
/// The preflight checks on fake hosts (STYLE rule 9: every path of the probe points into a temp dir): what
/// /proc/cgroups says about a controller no hierarchy has, comounted and separate hierarchies, the block IO weight
/// interface a blkio root shows, swap accounting, device-mapper's major in /proc/devices, device nodes and rootless.
/// </summary>
public sealed class HostChecksTests
{
    private const string IdentityUidMap = "         0          0 4294967295\n";

    // A /proc/cgroups as a kernel with every controller the module knows prints it (hierarchy ids as on a hybrid host).
    private const string AllEnabled =
        "#subsys_name\thierarchy\tnum_cgroups\tenabled\n" +
        "cpuset\t3\t4\t1\ncpu\t1\t4\t1\ncpuacct\t2\t4\t1\nblkio\t7\t4\t1\nmemory\t4\t72\t1\ndevices\t5\t4\t1\n" +
        "freezer\t6\t4\t1\nnet_cls\t0\t4\t1\nperf_event\t0\t4\t1\nnet_prio\t0\t4\t1\nhugetlb\t0\t4\t1\npids\t8\t4\t1\nrdma\t0\t4\t1\n";

    /// <summary>
    /// A host made of temp directories: v1 hierarchies and a cgroup2 mount under a fake cgroup root, listed in a
    /// fake mountinfo, with fake /proc, /dev and /sys. Files the kernel would show are written by the tests.
    /// </summary>
    private sealed class FakeHost : IDisposable
    {
        private readonly TempDir _dir = new();
        private readonly List<string> _mountInfo = new() { "1 0 8:1 / / rw,relatime - ext4 /dev/sda1 rw" };

        public FakeHost()
        {
            Directory.CreateDirectory(CgroupRoot);
            Directory.CreateDirectory(DevRoot);
            Directory.CreateDirectory(Path.Combine(SysRoot, "block"));
            _mountInfo.Add($"20 1 0:20 / {CgroupRoot} rw,nosuid,nodev,noexec shared:9 - tmpfs tmpfs rw,mode=755");
        }

        public string CgroupRoot => _dir["cgroup"];
        public string ProcRoot => _dir["proc"];
        public string DevRoot => _dir["dev"];
        public string SysRoot => _dir["sys"];

        /// <summary>Mounts one v1 hierarchy with these controllers (comounted when more than one); returns its directory.</summary>
        public string V1(params string[] controllers)
        {
            var dir = Path.Combine(CgroupRoot, string.Join(',', controllers));
            Directory.CreateDirectory(dir);
            _mountInfo.Add($"{21 + _mountInfo.Count} 20 0:{21 + _mountInfo.Count} / {dir} rw,nosuid,nodev,noexec,relatime - cgroup cgroup rw,{string.Join(',', controllers)}");
            return dir;
        }

        /// <summary>Mounts cgroup2 at <c>&lt;root&gt;/unified</c> (hybrid) or at the root itself; writes its cgroup.controllers.</summary>
        public string Cgroup2(bool atRoot, params string[] controllers)
        {
            var dir = atRoot ? CgroupRoot : Path.Combine(CgroupRoot, "unified");
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, "cgroup.controllers"), string.Join(' ', controllers) + "\n");
            _mountInfo.Add($"{21 + _mountInfo.Count} 20 0:{21 + _mountInfo.Count} / {dir} rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate");
            return dir;
        }

        /// <summary>Writes a file below the fake /proc.</summary>
        public void Proc(string relative, string text) => _dir.Write(Path.Combine("proc", relative), text);

        /// <summary>Writes a file (creating its directory) at an absolute path inside the fake host.</summary>
        public static void Put(string path, string text = "")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, text);
        }

        /// <summary>Probes the fake host as <paramref name="mode"/> and runs every check, by name.</summary>
        public IReadOnlyDictionary<string, HostCheck> Run(CgroupMode mode, uint euid = 0, string uidMap = IdentityUidMap) =>
            Checks(mode, euid, uidMap).ToDictionary(c => c.Name, StringComparer.Ordinal);

        /// <summary>Probes the fake host as <paramref name="mode"/> and runs every check, in the order they come.</summary>
        public List<HostCheck> Checks(CgroupMode mode, uint euid = 0, string uidMap = IdentityUidMap)
        {
            var mountInfo = _dir.Write("mountinfo", string.Join('\n', _mountInfo) + "\n");
            var uidMapPath = _dir.Write("uid_map", uidMap);
            var host = HostProbe.Probe(new HostOptions
            {
                CgroupRoot = CgroupRoot,
                ProcRoot = ProcRoot,
                RunRoot = _dir["run"],
                DevRoot = DevRoot,
                SysRoot = SysRoot,
                MountInfoPath = mountInfo,
                UidMapPath = uidMapPath,
                ModeOverride = mode,
                EuidOverride = euid,
            });
            var checks = HostChecks.Run(host);
            Assert.Equal(checks.Count, checks.Select(c => c.Name).Distinct().Count());
            return checks;
        }

        public void Dispose() => _dir.Dispose();
    }

    /// <summary>The v1 hierarchies of a typical hybrid host with cpu and cpuacct comounted (no net_cls, net_prio, hugetlb, rdma).</summary>
    private static FakeHost HybridHost(string procCgroups = AllEnabled, params string[] unifiedControllers)
    {
        var h = new FakeHost();
        foreach (var c in new[] { "cpuset", "devices", "memory", "pids", "blkio", "freezer" }) h.V1(c);
        h.V1("cpu", "cpuacct");
        h.V1("name=systemd");
        h.Cgroup2(atRoot: false, unifiedControllers);
        h.Proc("cgroups", procCgroups);
        return h;
    }

    // --- controllers and /proc/cgroups ---------------------------------------------------------------------------

    [Fact]
    public void AControllerProcCgroupsDoesNotListIsNotBuilt()
    {
        using var h = HybridHost(AllEnabled.Replace("rdma\t0\t4\t1\n", ""));
        var rdma = h.Run(CgroupMode.Hybrid)["Controller:rdma"];
        Assert.Equal(HostCheckStatus.Warn, rdma.Status);
        Assert.Equal("none", rdma.Value);
        Assert.Equal("not built into this kernel: rdma limits fail with ControllerNotMounted (or are skipped with -SkipUnsupported)", rdma.Reason);
    }

    [Fact]
    public void AControllerDisabledOnTheCommandLineSaysCgroupDisableAndARequiredOneFails()
    {
        using var h = new FakeHost();
        foreach (var c in new[] { "cpuset", "devices", "pids", "blkio", "freezer" }) h.V1(c);
        h.V1("cpu", "cpuacct");
        h.Cgroup2(atRoot: false);
        h.Proc("cgroups", AllEnabled.Replace("memory\t4\t72\t1", "memory\t0\t1\t0"));
        var memory = h.Run(CgroupMode.Hybrid)["Controller:memory"];
        Assert.Equal(HostCheckStatus.Fail, memory.Status);
        Assert.Equal("disabled on the kernel command line (cgroup_disable=): memory limits cannot be set", memory.Reason);
    }

    [Fact]
    public void AControllerOnlyOnTheCgroup2MountOfAHybridHostIsNotUsableByTheV1Driver()
    {
        using var h = HybridHost(AllEnabled, "hugetlb");
        var checks = h.Run(CgroupMode.Hybrid);
        var hugetlb = checks["Controller:hugetlb"];
        Assert.Equal(HostCheckStatus.Warn, hugetlb.Status);
        Assert.Equal(
            $"only on the cgroup2 mount ({Path.Combine(h.CgroupRoot, "unified")}), which the v1 driver does not write limits to: hugepageLimits fail with ControllerNotMounted (or are skipped with -SkipUnsupported)",
            hugetlb.Reason);
        // built and enabled, but neither on a v1 hierarchy nor on the cgroup2 mount
        Assert.Equal("no v1 hierarchy has it mounted: network.classID fails with ControllerNotMounted (or is skipped with -SkipUnsupported)", checks["Controller:net_cls"].Reason);
    }

    [Fact]
    public void WithoutProcCgroupsAMissingControllerIsOnlyNotMounted()
    {
        using var h = new FakeHost();
        h.V1("memory");
        var rdma = h.Run(CgroupMode.Legacy)["Controller:rdma"];
        Assert.Equal("no v1 hierarchy has it mounted: rdma limits fail with ControllerNotMounted (or are skipped with -SkipUnsupported)", rdma.Reason);
    }

    [Fact]
    public void ComountedCpuAndCpuacctShareOneMountAndSayWithWhat()
    {
        using var h = HybridHost();
        var checks = h.Run(CgroupMode.Hybrid);
        var mount = Path.Combine(h.CgroupRoot, "cpu,cpuacct");
        Assert.Equal((HostCheckStatus.Pass, mount, "v1 hierarchy shared with cpuacct"),
            (checks["Controller:cpu"].Status, checks["Controller:cpu"].Value, checks["Controller:cpu"].Reason));
        Assert.Equal((HostCheckStatus.Pass, mount, "v1 hierarchy shared with cpu"),
            (checks["Controller:cpuacct"].Status, checks["Controller:cpuacct"].Value, checks["Controller:cpuacct"].Reason));
        Assert.Equal("v1 hierarchy of its own", checks["Controller:memory"].Reason);
    }

    [Fact]
    public void SeparateCpuAndCpuacctHierarchiesAreEachOfTheirOwn()
    {
        using var h = new FakeHost();
        var cpu = h.V1("cpu");
        var cpuacct = h.V1("cpuacct");
        h.Proc("cgroups", AllEnabled);
        var checks = h.Run(CgroupMode.Legacy);
        Assert.Equal((HostCheckStatus.Pass, cpu, "v1 hierarchy of its own"),
            (checks["Controller:cpu"].Status, checks["Controller:cpu"].Value, checks["Controller:cpu"].Reason));
        Assert.Equal((HostCheckStatus.Pass, cpuacct, "v1 hierarchy of its own"),
            (checks["Controller:cpuacct"].Status, checks["Controller:cpuacct"].Value, checks["Controller:cpuacct"].Reason));
    }

    [Fact]
    public void OnCgroupV2AControllerBoundToAV1HierarchyOrDisabledIsExplained()
    {
        using var h = new FakeHost();
        h.Cgroup2(atRoot: true, "cpuset", "cpu", "memory");
        // pids is bound to v1 hierarchy 8; blkio (the io controller's name in /proc/cgroups) is disabled.
        h.Proc("cgroups", AllEnabled.Replace("blkio\t7\t4\t1", "blkio\t0\t1\t0"));
        // euid 1000: the device-control check then does not load an eBPF program into the real kernel
        var checks = h.Run(CgroupMode.Unified, euid: 1000);
        Assert.Equal(HostCheckStatus.Pass, checks["Controller:memory"].Status);
        Assert.Equal("cgroup.controllers", checks["Controller:memory"].Value);
        Assert.Equal("bound to a v1 hierarchy, so cgroup v2 cannot have it: -PidsLimit cannot be set", checks["Controller:pids"].Reason);
        Assert.Equal("disabled on the kernel command line (cgroup_disable=): io weights and io.max cannot be set", checks["Controller:io"].Reason);
        Assert.Equal("not in the root's cgroup.controllers: hugepageLimits fail with ControllerNotMounted", checks["Controller:hugetlb"].Reason);
        Assert.DoesNotContain("Controller:cpuacct", checks.Keys);   // v2 has no cpuacct: cpu.stat is in cpu
    }

    // --- block IO weights (v1) ------------------------------------------------------------------------------------

    [Theory]
    [InlineData("blkio.leaf_weight", "blkio.weight", "CFQ")]                  // CFQ shows its leaf weight on the root
    [InlineData("blkio.bfq.io_service_bytes", "blkio.bfq.weight", "BFQ")]     // BFQ only its statistics there
    public void BlockIoWeightFollowsTheFilesOfTheBlkioRoot(string rootFile, string value, string reasonStart)
    {
        using var h = HybridHost();
        var blkio = Path.Combine(h.CgroupRoot, "blkio");
        FakeHost.Put(Path.Combine(blkio, "blkio.throttle.read_bps_device"));
        FakeHost.Put(Path.Combine(blkio, rootFile));
        var weight = h.Run(CgroupMode.Hybrid)["BlockIoWeight"];
        Assert.Equal(HostCheckStatus.Pass, weight.Status);
        Assert.Equal(value, weight.Value);
        Assert.StartsWith(reasonStart + ":", weight.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void NoWeightFileIsNoneNamingTheCauseAndTheHostsSchedulers()
    {
        using var h = HybridHost();
        FakeHost.Put(Path.Combine(h.CgroupRoot, "blkio", "blkio.throttle.read_bps_device"));
        FakeHost.Put(Path.Combine(h.SysRoot, "block", "vda", "queue", "scheduler"), "[mq-deadline] kyber none\n");
        FakeHost.Put(Path.Combine(h.SysRoot, "block", "vdb", "queue", "scheduler"), "mq-deadline [none]\n");
        var checks = h.Run(CgroupMode.Hybrid);
        var weight = checks["BlockIoWeight"];
        Assert.Equal(HostCheckStatus.Warn, weight.Status);
        Assert.Equal("none", weight.Value);
        Assert.Equal(BlockIoWeights.NoWeightReason + " (I/O schedulers on this host: kyber, mq-deadline, none): -BlkioWeight fails with BlockIoWeightUnsupported",
            weight.Reason);
        // throttling is a separate policy (blk-throttle) and is still there
        Assert.Equal((HostCheckStatus.Pass, "blkio.throttle.*"), (checks["BlockIoThrottle"].Status, checks["BlockIoThrottle"].Value));
    }

    [Fact]
    public void NoBlkioHierarchyIsNoWeightAndNoThrottle()
    {
        using var h = new FakeHost();
        h.V1("memory");
        var checks = h.Run(CgroupMode.Legacy);
        Assert.Equal(("none", "no blkio controller"), (checks["BlockIoWeight"].Value, checks["BlockIoWeight"].Reason));
        Assert.Equal(("none", "no blkio controller"), (checks["BlockIoThrottle"].Value, checks["BlockIoThrottle"].Reason));
    }

    // --- swap accounting ------------------------------------------------------------------------------------------

    [Theory]
    [InlineData(true, HostCheckStatus.Pass, "memory.memsw.limit_in_bytes")]
    [InlineData(false, HostCheckStatus.Warn, "none")]
    public void SwapAccountingOnV1IsTheMemswFilesOfTheMemoryRoot(bool memsw, HostCheckStatus status, string value)
    {
        using var h = HybridHost();
        if (memsw) FakeHost.Put(Path.Combine(h.CgroupRoot, "memory", "memory.memsw.limit_in_bytes"), "9223372036854771712\n");
        var swap = h.Run(CgroupMode.Hybrid)["SwapAccounting"];
        Assert.Equal((status, value), (swap.Status, swap.Value));
        if (!memsw) Assert.Contains("-MemorySwap fails with UnsupportedOnHost", swap.Reason);
    }

    [Theory]
    [InlineData(true, HostCheckStatus.Pass, "memory.swap.max")]
    [InlineData(false, HostCheckStatus.Warn, "none")]
    public void SwapAccountingOnV2IsMemorySwapMaxOfAMemoryCgroup(bool swapMax, HostCheckStatus status, string value)
    {
        using var h = new FakeHost();
        var root = h.Cgroup2(atRoot: true, "cpuset", "cpu", "memory");
        // the root shows neither memory.current nor memory.swap.max: the check looks at a child with memory enabled
        FakeHost.Put(Path.Combine(root, "system.slice", "memory.current"), "0\n");
        if (swapMax) FakeHost.Put(Path.Combine(root, "system.slice", "memory.swap.max"), "max\n");
        var swap = h.Run(CgroupMode.Unified, euid: 1000)["SwapAccounting"];
        Assert.Equal((status, value), (swap.Status, swap.Value));
    }

    [Fact]
    public void SwapAccountingOnV2WithNoMemoryCgroupToLookAtIsUnknown()
    {
        using var h = new FakeHost();
        h.Cgroup2(atRoot: true, "memory");
        var swap = h.Run(CgroupMode.Unified, euid: 1000)["SwapAccounting"];
        Assert.Equal((HostCheckStatus.Warn, "unknown"), (swap.Status, swap.Value));
    }

    // --- device-mapper and device nodes ---------------------------------------------------------------------------

    private const string CharDevices = "Character devices:\n  1 mem\n  4 /dev/vc/0\n  5 /dev/tty\n 10 misc\n";

    [Theory]
    [InlineData("253", HostCheckStatus.Pass, "b 253:*")]
    [InlineData("252", HostCheckStatus.Warn, "b 252:*")]
    public void DeviceMapperIsTheMajorOfItsBlockDevicesLine(string major, HostCheckStatus status, string value)
    {
        using var h = HybridHost();
        h.Proc("devices", CharDevices + "\nBlock devices:\n  7 loop\n  8 sd\n" + $"{major} device-mapper\n254 virtblk\n");
        var dm = h.Run(CgroupMode.Hybrid)["Device:device-mapper"];
        Assert.Equal((status, value), (dm.Status, dm.Value));
        if (status == HostCheckStatus.Warn)
            Assert.Contains($"add -Device 'b {major}:* rwm'", dm.Reason);
    }

    [Fact]
    public void DeviceMapperAbsentOrOnlyACharacterDeviceIsNotLoaded()
    {
        using var h = HybridHost();
        // a character driver of that name must not count: only the "Block devices:" section does
        h.Proc("devices", CharDevices + "253 device-mapper\n\nBlock devices:\n  8 sd\n254 virtblk\n");
        var dm = h.Run(CgroupMode.Hybrid)["Device:device-mapper"];
        Assert.Equal((HostCheckStatus.Warn, "none"), (dm.Status, dm.Value));
        Assert.StartsWith("device-mapper is not loaded", dm.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void AHypervisorNodeIsPassWithItsNumberWhereItIsADeviceAndWarnWhereNot()
    {
        using var h = HybridHost();
        // /dev/null stands in for /dev/kvm (statx follows the link): a real character device c 1:3
        File.CreateSymbolicLink(Path.Combine(h.DevRoot, "kvm"), "/dev/null");
        FakeHost.Put(Path.Combine(h.DevRoot, "vhost-net"));   // a regular file is not a device node
        var checks = h.Run(CgroupMode.Hybrid);
        var kvm = checks[$"Device:{Path.Combine(h.DevRoot, "kvm")}"];
        Assert.Equal((HostCheckStatus.Pass, "c 1:3"), (kvm.Status, kvm.Value));
        var vhost = checks[$"Device:{Path.Combine(h.DevRoot, "vhost-net")}"];
        Assert.Equal((HostCheckStatus.Warn, "none"), (vhost.Status, vhost.Value));
        Assert.Contains("not a device node", vhost.Reason);
        var vsock = checks[$"Device:{Path.Combine(h.DevRoot, "vhost-vsock")}"];
        Assert.Contains("ENOENT", vsock.Reason);
        Assert.Contains("New-KataCgroup skips the node with a warning", vsock.Reason);
    }

    // --- freezer, kill, rootless ----------------------------------------------------------------------------------

    [Fact]
    public void WithoutAV1FreezerSuspendCannotWorkAndKillSignalsWithoutFreezing()
    {
        using var h = new FakeHost();
        h.V1("memory");
        h.V1("devices");
        var checks = h.Run(CgroupMode.Legacy);
        Assert.Equal((HostCheckStatus.Warn, "none"), (checks["Freezer"].Status, checks["Freezer"].Value));
        Assert.Equal((HostCheckStatus.Warn, "SIGKILL"), (checks["CgroupKill"].Status, checks["CgroupKill"].Value));
        Assert.Equal((HostCheckStatus.Pass, "devices.allow/deny"), (checks["DeviceControl"].Status, checks["DeviceControl"].Value));
    }

    [Theory]
    [InlineData(0u, IdentityUidMap, HostCheckStatus.Pass, "uid 0", "privileged")]
    [InlineData(1000u, IdentityUidMap, HostCheckStatus.Warn, "uid 1000", "running rootless (effective uid 1000)")]
    [InlineData(0u, "0 1000 65536\n", HostCheckStatus.Warn, "uid 0", "running rootless (uid 0 inside a user namespace)")]
    public void RootlessIsAWarningThatSaysWhy(uint euid, string uidMap, HostCheckStatus status, string value, string reasonStart)
    {
        using var h = HybridHost();
        var rootless = h.Run(CgroupMode.Hybrid, euid, uidMap)["Rootless"];
        Assert.Equal((status, value), (rootless.Status, rootless.Value));
        Assert.StartsWith(reasonStart, rootless.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void RootlessOnCgroupV2DoesNotTryToLoadADeviceProgram()
    {
        using var h = new FakeHost();
        h.Cgroup2(atRoot: true, "cpuset", "cpu", "memory");
        var control = h.Run(CgroupMode.Unified, euid: 1000)["DeviceControl"];
        Assert.Equal((HostCheckStatus.Warn, "unknown"), (control.Status, control.Value));
    }

    [Fact]
    public void ChecksComeInAFixedOrderFromModeToRootless()
    {
        using var h = HybridHost();
        var names = h.Checks(CgroupMode.Hybrid).Select(c => c.Name).ToList();
        Assert.Equal("CgroupMode", names[0]);
        Assert.Equal("Kernel", names[1]);
        Assert.Equal("Rootless", names[^1]);
        Assert.Equal(12, names.Count(n => n.StartsWith("Controller:", StringComparison.Ordinal)));
    }
}
