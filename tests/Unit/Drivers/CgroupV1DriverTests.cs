using KataCgroups.Devices;
using KataCgroups.Drivers;
using KataCgroups.Drivers.V1;
using KataCgroups.Errors;
using KataCgroups.Host;
using KataCgroups.Interop;
using KataCgroups.Model;
using KataCgroups.Paths;
using KataCgroups.Resources;
using KataCgroups.Tests.Support;

namespace KataCgroups.Tests.Drivers;

/// <summary>
/// The cgroup v1 driver's own logic against a fake root (ordinary directories): which directories it makes and
/// removes, in which order it writes, what it reads to plan, and the all-or-nothing rollback. The kernel's
/// behaviour itself is proven by the Pester suite on real cgroupfs.
/// </summary>
public sealed class CgroupV1DriverTests : IDisposable
{
    private static readonly CgroupTarget Target = CgroupTarget.Resolve("/kubepods/pod1/sandbox1");
    private const string Leaf = "/kubepods/pod1/kata_sandbox1";

    private readonly FakeCgroupRoot _fake = FakeCgroupRoot.Create();

    public void Dispose() => _fake.Dispose();

    private CgroupV1Driver Driver(CgroupMode mode = CgroupMode.Hybrid) => _fake.V1Driver(mode);

    /// <summary>Pre-creates, in the target's directories, the files a kernel would have created on mkdir.</summary>
    private void KernelFiles(string cgroupPath)
    {
        _fake.Touch("cpuset", cgroupPath, "cpuset.cpus");
        _fake.Touch("cpuset", cgroupPath, "cpuset.mems");
        _fake.Touch("devices", cgroupPath, "devices.allow");
        _fake.Touch("devices", cgroupPath, "devices.deny");
        _fake.Touch("devices", cgroupPath, "devices.list", "a *:* rwm\n");
        foreach (var f in new[] { "memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.soft_limit_in_bytes", "memory.swappiness" })
            _fake.Touch("memory", cgroupPath, f);
        // Swap accounting shows on every memory cgroup, the root included (the driver looks there).
        File.WriteAllText(Path.Combine(_fake.Dir("memory", "/"), "memory.memsw.limit_in_bytes"), "9223372036854771712\n");
        foreach (var f in new[] { "cpu.shares", "cpu.cfs_period_us", "cpu.cfs_quota_us" })
            _fake.Touch("cpu,cpuacct", cgroupPath, f);
        _fake.Touch("pids", cgroupPath, "pids.max");
        _fake.Touch("blkio", cgroupPath, "blkio.weight");
        _fake.MakeCgroupEverywhere(cgroupPath);
    }

    [Fact]
    public void GetPaths_Hybrid_OneRowPerControllerPlusSystemdAndUnified()
    {
        var rows = Driver().GetPaths(Target).Select(p => (p.Controller, p.Directory)).ToList();
        Assert.Equal(new[]
        {
            ("cpuset", _fake.Dir("cpuset", Leaf)),
            ("devices", _fake.Dir("devices", Leaf)),
            ("memory", _fake.Dir("memory", Leaf)),
            ("cpu", _fake.Dir("cpu,cpuacct", Leaf)),
            ("cpuacct", _fake.Dir("cpu,cpuacct", Leaf)),
            ("pids", _fake.Dir("pids", Leaf)),
            ("blkio", _fake.Dir("blkio", Leaf)),
            ("hugetlb", _fake.Dir("hugetlb", Leaf)),
            ("net_cls", _fake.Dir("net_cls,net_prio", Leaf)),
            ("net_prio", _fake.Dir("net_cls,net_prio", Leaf)),
            ("freezer", _fake.Dir("freezer", Leaf)),
            ("name=systemd", _fake.Dir("systemd", Leaf)),
            ("unified", _fake.Dir("unified", Leaf)),
        }, rows);
    }

    [Fact]
    public void GetPaths_Legacy_NoUnifiedRow()
    {
        var rows = Driver(CgroupMode.Legacy).GetPaths(Target);
        Assert.DoesNotContain(rows, r => r.Controller == "unified");
        Assert.Contains(rows, r => r.Controller == "name=systemd");
        Assert.Equal(12, rows.Count);
    }

    [Fact]
    public void Hierarchies_DistinctInCreationOrder()
    {
        Assert.Equal(
            new[] { "cpuset", "devices", "memory", "cpu,cpuacct", "pids", "blkio", "hugetlb", "net_cls,net_prio", "freezer", "name=systemd", "unified" },
            Driver().Hierarchies.Select(h => h.Name));
    }

    [Fact]
    public void Exists_TrueWhenAnyHierarchyHasTheDirectory()
    {
        var driver = Driver();
        Assert.False(driver.Exists(Target));
        _fake.MakeCgroup("pids", Leaf);
        Assert.True(driver.Exists(Target));
    }

    [Fact]
    public void Create_MakesEveryLevelInEveryHierarchyTopDown()
    {
        var driver = Driver();
        var log = new RecordingLog();
        driver.Create(Target, CgroupPlan.Empty, System.Array.Empty<int>(), log);

        foreach (var mount in FakeCgroupRoot.AllMounts)
            Assert.True(Directory.Exists(_fake.Dir(mount, Leaf)), $"{mount} has no {Leaf}");
        var mkdirs = log.VerboseMessages.Where(m => m.StartsWith("mkdir ", StringComparison.Ordinal)).ToList();
        Assert.Equal(3 * FakeCgroupRoot.AllMounts.Count, mkdirs.Count);
        Assert.Equal(new[]
        {
            "mkdir " + _fake.Dir("cpuset", "/kubepods"),
            "mkdir " + _fake.Dir("cpuset", "/kubepods/pod1"),
            "mkdir " + _fake.Dir("cpuset", Leaf),
        }, mkdirs.Take(3));
    }

    [Fact]
    public void Create_NewCpusetLevelsInheritTheParentsCpusAndMemsTopDown()
    {
        File.WriteAllText(Path.Combine(_fake.Dir("cpuset", "/"), "cpuset.cpus"), "0-3\n");
        File.WriteAllText(Path.Combine(_fake.Dir("cpuset", "/"), "cpuset.mems"), "0\n");
        foreach (var level in new[] { "/kubepods", "/kubepods/pod1", Leaf })
        {
            _fake.Touch("cpuset", level, "cpuset.cpus");
            _fake.Touch("cpuset", level, "cpuset.mems");
        }
        var log = new RecordingLog();
        Driver().Create(Target, CgroupPlan.Empty, System.Array.Empty<int>(), log);

        Assert.Equal(new[]
        {
            $"write {_fake.Dir("cpuset", "/kubepods")}/cpuset.cpus = 0-3",
            $"write {_fake.Dir("cpuset", "/kubepods")}/cpuset.mems = 0",
            $"write {_fake.Dir("cpuset", "/kubepods/pod1")}/cpuset.cpus = 0-3",
            $"write {_fake.Dir("cpuset", "/kubepods/pod1")}/cpuset.mems = 0",
            $"write {_fake.Dir("cpuset", Leaf)}/cpuset.cpus = 0-3",
            $"write {_fake.Dir("cpuset", Leaf)}/cpuset.mems = 0",
        }, log.Writes);
        Assert.Equal("0-3", File.ReadAllText(Path.Combine(_fake.Dir("cpuset", Leaf), "cpuset.cpus")));
    }

    [Fact]
    public void Create_WritesThePlanInOrderIntoEachControllersDirectory()
    {
        File.WriteAllText(Path.Combine(_fake.Dir("devices", "/"), "devices.list"), "a *:* rwm\n");
        KernelFiles(Leaf);
        var driver = Driver();
        var resources = new LinuxResources
        {
            Cpu = new LinuxCpu { Cpus = "2-3", Shares = 512, Period = 100000, Quota = 50000 },
            Memory = new LinuxMemory { Limit = 256L << 20, Swap = 512L << 20 },
            Pids = new LinuxPids { Limit = -1 },
            BlockIO = new LinuxBlockIO { Weight = 500 },
        };
        var devices = new[] { DeviceRule.Parse("deny a"), DeviceRule.Parse("c 1:3 rwm"), DeviceRule.Parse("b 253:* rwm") };
        var plan = driver.Plan(Target, resources, devices);
        // the kernel would now list exactly the requested rules: the driver re-reads devices.list to verify that
        File.WriteAllText(Path.Combine(_fake.Dir("devices", Leaf), "devices.list"), plan.DeviceTarget!.ToListText() + "\n");

        var log = new RecordingLog();
        driver.Create(Target, plan, System.Array.Empty<int>(), log);

        string F(string mount, string file) => Path.Combine(_fake.Dir(mount, Leaf), file);
        Assert.Equal(new[]
        {
            $"write {F("cpuset", "cpuset.cpus")} = 2-3",
            $"write {F("devices", "devices.deny")} = a *:* rwm",
            $"write {F("devices", "devices.allow")} = b 253:* rwm",
            $"write {F("devices", "devices.allow")} = c 1:3 rwm",
            $"write {F("memory", "memory.limit_in_bytes")} = 268435456",
            $"write {F("memory", "memory.memsw.limit_in_bytes")} = 536870912",
            $"write {F("cpu,cpuacct", "cpu.shares")} = 512",
            $"write {F("cpu,cpuacct", "cpu.cfs_period_us")} = 100000",
            $"write {F("cpu,cpuacct", "cpu.cfs_quota_us")} = 50000",
            $"write {F("pids", "pids.max")} = max",
            $"write {F("blkio", "blkio.weight")} = 500",
        }, log.Writes);
        Assert.Equal("268435456", File.ReadAllText(F("memory", "memory.limit_in_bytes")));
        Assert.Equal("536870912", File.ReadAllText(F("memory", "memory.memsw.limit_in_bytes")));
        Assert.Equal("max", File.ReadAllText(F("pids", "pids.max")));
        Assert.Equal("2-3", File.ReadAllText(F("cpuset", "cpuset.cpus")));
        Assert.Equal("a *:* rwm", File.ReadAllText(F("devices", "devices.deny")));
    }

    [Fact]
    public void Plan_WeightFilesFromTheNearestCgroup_NoneIsItsOwnError()
    {
        var resources = new LinuxResources { BlockIO = new LinuxBlockIO { Weight = 500 } };
        // Only throttle files (a kernel without CFQ and BFQ): the weight is refused, naming the cause.
        var e = Assert.Single(Driver().Plan(Target, resources, null).Unsupported);
        Assert.Equal(ErrorIds.BlockIoWeightUnsupported, e.ErrorId);

        // BFQ shows its statistics on the root (its weight files are not on the root).
        _fake.Touch("blkio", "/", "blkio.bfq.io_service_bytes", "Total 0\n");
        Assert.Equal("blkio.bfq.weight", Assert.Single(Driver().Plan(Target, resources, null).Writes).File);

        _fake.Touch("blkio", "/kubepods", "blkio.weight", "100\n");
        Assert.Equal("blkio.weight", Assert.Single(Driver().Plan(Target, resources, null).Writes).File);
    }

    [Fact]
    public void Plan_SwapAccountingFromTheNearestExistingCgroup()
    {
        var driver = Driver();
        var swap = new LinuxResources { Memory = new LinuxMemory { Limit = 256L << 20, Swap = 512L << 20 } };
        var e = Assert.Single(driver.Plan(Target, swap, null).Unsupported);
        Assert.Equal(ErrorIds.UnsupportedOnHost, e.ErrorId);

        File.WriteAllText(Path.Combine(_fake.Dir("memory", "/"), "memory.memsw.limit_in_bytes"), "9223372036854771712\n");
        Assert.Equal(2, driver.Plan(Target, swap, null).Writes.Count);
    }

    [Fact]
    public void Plan_CurrentMemoryLimitDecidesTheSwapOrder()
    {
        _fake.Touch("memory", Leaf, "memory.limit_in_bytes", "134217728\n");
        _fake.Touch("memory", Leaf, "memory.memsw.limit_in_bytes", "134217728\n");
        File.WriteAllText(Path.Combine(_fake.Dir("memory", "/"), "memory.memsw.limit_in_bytes"), "9223372036854771712\n");
        var plan = Driver().Plan(Target, new LinuxResources { Memory = new LinuxMemory { Limit = 256L << 20, Swap = 512L << 20 } }, null);
        Assert.Equal(new[] { "memory.memsw.limit_in_bytes", "memory.limit_in_bytes" }, plan.Writes.Select(w => w.File));
    }

    [Fact]
    public void Plan_CreateResetsTheDevicesWithoutReadingAnyList()
    {
        // A whitelisted parent: the new cgroup would start as its copy, but a create writes before any process
        // joins, so the plan is the reset and the wanted rules whatever the parent holds — and reads no list.
        _fake.Touch("devices", "/kubepods/pod1", "devices.list", "c 1:3 rwm\nc 1:9 rwm\n");
        var rules = new[] { DeviceRule.Parse("c 1:3 rwm"), DeviceRule.Parse("c 1:5 rwm") };
        var create = Driver().Plan(Target, new LinuxResources(), rules, create: true);
        Assert.Equal(new[] { "devices.deny = a *:* rwm", "devices.allow = c 1:3 rwm", "devices.allow = c 1:5 rwm" }, create.Describe());
        File.Delete(Path.Combine(_fake.Dir("devices", "/kubepods/pod1"), "devices.list"));
        Assert.Equal(create.Describe(), Driver().Plan(Target, new LinuxResources(), rules, create: true).Describe());
    }

    [Fact]
    public void Plan_UpdateDiffsAgainstTheCgroupsOwnList()
    {
        // a running cgroup: only the difference is written, never a moment of deny-all (devices/v1.go)
        _fake.Touch("devices", Leaf, "devices.list", "c 1:3 rwm\nc 1:9 rwm\n");
        var rules = new[] { DeviceRule.Parse("c 1:3 rwm"), DeviceRule.Parse("c 1:5 rwm") };
        var update = Driver().Plan(Target, new LinuxResources(), rules);
        Assert.Equal(new[] { "devices.deny = c 1:9 rwm", "devices.allow = c 1:5 rwm" }, update.Describe());
    }

    [Fact]
    public void Plan_HalfMadeCgroupDiffsAgainstTheNearestAncestorsDevices()
    {
        File.WriteAllText(Path.Combine(_fake.Dir("devices", "/"), "devices.list"), "a *:* rwm\n");
        var rules = new[] { DeviceRule.Parse("c 1:3 rwm"), DeviceRule.Parse("c 1:5 rwm") };
        var fromRoot = Driver().Plan(Target, new LinuxResources(), rules);
        Assert.Equal(("devices.deny", "a *:* rwm"), (fromRoot.Writes[0].File, fromRoot.Writes[0].Value));

        // a whitelisted parent: the child starts as its copy, so only the difference is written
        _fake.Touch("devices", "/kubepods/pod1", "devices.list", "c 1:3 rwm\nc 1:9 rwm\n");
        var fromParent = Driver().Plan(Target, new LinuxResources(), rules);
        Assert.Equal(new[] { "devices.deny = c 1:9 rwm", "devices.allow = c 1:5 rwm" }, fromParent.Describe());
    }

    [Fact]
    public void Plan_WritesNothing()
    {
        var before = _fake.Snapshot();
        Driver().Plan(Target, new LinuxResources { Pids = new LinuxPids { Limit = 5 } }, new[] { DeviceRule.Parse("c 1:3 rwm") });
        Assert.Equal(before, _fake.Snapshot());
    }

    [Fact]
    public void Create_FailedWrite_RemovesEveryDirectoryThisCallCreated()
    {
        // /kubepods already exists in two hierarchies: it must survive the rollback there, and only there.
        _fake.MakeCgroup("memory", "/kubepods");
        _fake.MakeCgroup("pids", "/kubepods");
        var before = _fake.Snapshot();
        var driver = Driver();
        var plan = driver.Plan(Target, new LinuxResources { Pids = new LinuxPids { Limit = 100 } }, null);
        var log = new RecordingLog();

        var e = Assert.Throws<CgroupException>(() => driver.Create(Target, plan, System.Array.Empty<int>(), log));

        var file = Path.Combine(_fake.Dir("pids", Leaf), "pids.max");
        Assert.Equal(ErrorIds.CgroupWriteFailed, e.ErrorId);
        Assert.Equal(Errno.ENOENT, e.Errno);
        Assert.Equal("ENOENT", e.ErrnoName);
        Assert.Equal(file, e.Target);
        Assert.Contains(file, e.Message);
        Assert.Contains("ENOENT", e.Message);
        Assert.Contains("'100'", e.Message);
        Assert.Equal(before, _fake.Snapshot());
        Assert.True(Directory.Exists(_fake.Dir("memory", "/kubepods")));
        Assert.False(Directory.Exists(_fake.Dir("cpuset", "/kubepods")));
        Assert.Empty(log.Warnings);
    }

    [Fact]
    public void Create_OpenFailsWithEisdir_RollsBackAndNamesFileAndErrno()
    {
        // A plan file that cannot be opened for writing: it is a directory.
        Directory.CreateDirectory(Path.Combine(_fake.Dir("pids", Leaf), "pids.max"));
        var before = _fake.Snapshot();
        var driver = Driver();
        var plan = driver.Plan(Target, new LinuxResources { Pids = new LinuxPids { Limit = 100 } }, null);

        var e = Assert.Throws<CgroupException>(() => driver.Create(Target, plan, System.Array.Empty<int>(), new RecordingLog()));

        Assert.Equal(ErrorIds.CgroupWriteFailed, e.ErrorId);
        Assert.Equal(Errno.EISDIR, e.Errno);
        Assert.Contains("pids.max", e.Message);
        Assert.Contains("EISDIR", e.Message);
        Assert.Equal(before, _fake.Snapshot());
        // the cgroup that existed before (in pids) is still there; the ones this call made elsewhere are gone
        Assert.True(Directory.Exists(_fake.Dir("pids", Leaf)));
        Assert.False(Directory.Exists(_fake.Dir("memory", "/kubepods")));
    }

    [Fact]
    public void Create_LaterWriteFails_EarlierHierarchiesAreRolledBackToo()
    {
        // memory's directory pre-exists with its file: the memory write succeeds, the pids write fails.
        _fake.Touch("memory", Leaf, "memory.limit_in_bytes");
        var driver = Driver();
        var plan = driver.Plan(Target, new LinuxResources { Memory = new LinuxMemory { Limit = 256L << 20 }, Pids = new LinuxPids { Limit = 100 } }, null);
        var log = new RecordingLog();

        var e = Assert.Throws<CgroupException>(() => driver.Create(Target, plan, System.Array.Empty<int>(), log));

        Assert.EndsWith("pids.max", e.Target);
        Assert.Contains(log.Writes, w => w.EndsWith("memory.limit_in_bytes = 268435456", StringComparison.Ordinal));
        foreach (var mount in FakeCgroupRoot.AllMounts.Where(m => m != "memory"))
            Assert.False(Directory.Exists(_fake.Dir(mount, "/kubepods")), $"{mount}/kubepods was left behind");
        Assert.True(Directory.Exists(_fake.Dir("memory", Leaf)));
        Assert.Equal(3 * (FakeCgroupRoot.AllMounts.Count - 1), log.VerboseMessages.Count(m => m.StartsWith("rmdir ", StringComparison.Ordinal)));
    }

    [Fact]
    public void Create_DevicesNotAsRequested_DevicesMismatchAndRollback()
    {
        File.WriteAllText(Path.Combine(_fake.Dir("devices", "/"), "devices.list"), "a *:* rwm\n");
        _fake.Touch("devices", Leaf, "devices.allow");
        _fake.Touch("devices", Leaf, "devices.deny");
        _fake.Touch("devices", Leaf, "devices.list", "a *:* rwm\n"); // what a kernel that ignored the writes would show
        var driver = Driver();
        var plan = driver.Plan(Target, new LinuxResources(), new[] { DeviceRule.Parse("c 1:3 rwm") });

        var e = Assert.Throws<CgroupException>(() => driver.Create(Target, plan, System.Array.Empty<int>(), new RecordingLog()));

        Assert.Equal(ErrorIds.DevicesMismatch, e.ErrorId);
        Assert.Contains("devices.list", e.Message);
        Assert.False(Directory.Exists(_fake.Dir("memory", "/kubepods")));
        Assert.True(Directory.Exists(_fake.Dir("devices", Leaf)));
    }

    [Fact]
    public void Apply_MissingCgroupIsCgroupNotFound()
    {
        var e = Assert.Throws<CgroupException>(() => Driver().Apply(Target, CgroupPlan.Empty, new RecordingLog()));
        Assert.Equal(ErrorIds.CgroupNotFound, e.ErrorId);
        Assert.Equal("/kubepods/pod1/sandbox1", e.Target);
    }

    [Fact]
    public void AddProcesses_MissingCgroupIsCgroupNotFound()
    {
        var e = Assert.Throws<CgroupException>(() => Driver().AddProcesses(Target, new[] { 1 }, new RecordingLog()));
        Assert.Equal(ErrorIds.CgroupNotFound, e.ErrorId);
    }

    [Fact]
    public void Find_ListsKataLeavesBelowTheRoot()
    {
        foreach (var p in new[] { "/vc/kata_a", "/vc/b/kata_c", "/vc/d", "/vc/kata_a/kata_child", "/kubepods/pod1/kata_s", "/kubepods/other" })
            _fake.MakeCgroup("cpuset", p);
        var driver = Driver();

        Assert.Equal(new[] { "/vc/b/kata_c", "/vc/kata_a", "/vc/kata_a/kata_child" }, driver.Find("/vc").Select(t => t.CgroupPath));
        Assert.Equal(new[] { "/kubepods/pod1/kata_s", "/vc/b/kata_c", "/vc/kata_a", "/vc/kata_a/kata_child" }, driver.Find("/").Select(t => t.CgroupPath));
        Assert.Equal(new[] { "/vc/kata_a", "/vc/kata_a/kata_child" }, driver.Find("/vc/kata_a").Select(t => t.CgroupPath));
        Assert.Empty(driver.Find("/nothing/here"));
    }

    [Fact]
    public void Read_ReportsLimitsTheOciWay()
    {
        _fake.Touch("memory", Leaf, "memory.limit_in_bytes", CgroupV1Plan.UnlimitedMemory + "\n");
        _fake.Touch("memory", Leaf, "memory.soft_limit_in_bytes", "134217728\n");
        _fake.Touch("cpu,cpuacct", Leaf, "cpu.shares", "512\n");
        _fake.Touch("cpu,cpuacct", Leaf, "cpu.cfs_quota_us", "-1\n");
        _fake.Touch("pids", Leaf, "pids.max", "max\n");
        _fake.Touch("cpuset", Leaf, "cpuset.cpus", "0-1\n");
        _fake.Touch("devices", Leaf, "devices.list", "c 1:3 rwm\nb 253:* rwm\n");
        _fake.Touch("freezer", Leaf, "freezer.state", "THAWED\n");
        _fake.Touch("blkio", Leaf, "blkio.bfq.weight", "100\n");

        var s = Driver().Read(Target);

        Assert.Equal(Target, s.Target);
        Assert.Equal(DriverKind.CgroupfsV1, s.Driver);
        Assert.Equal(CgroupMode.Hybrid, s.Mode);
        Assert.Equal(-1, s.MemoryLimit);
        Assert.Equal(134217728, s.MemoryReservation);
        Assert.Null(s.MemorySwap);
        Assert.Equal(512, s.CpuShares);
        Assert.Equal(-1, s.CpuQuota);
        Assert.Equal(-1, s.PidsLimit);
        Assert.Equal("0-1", s.Cpus);
        Assert.Equal(new[] { "c 1:3 rwm", "b 253:* rwm" }, s.Devices);
        Assert.Equal("THAWED", s.FreezerState);
        Assert.Equal(100, s.BlkioWeight);
        Assert.Empty(s.Pids);
        Assert.Equal(new[] { "cpuset", "devices", "memory", "cpu", "cpuacct", "pids", "blkio", "freezer" }, s.Paths.Select(p => p.Controller));
        Assert.Equal(new[] { "hugetlb", "net_cls,net_prio", "name=systemd", "unified" }, s.MissingIn);
    }

    [Fact]
    public void Read_MissingCgroupIsCgroupNotFound()
    {
        var e = Assert.Throws<CgroupException>(() => Driver().Read(Target));
        Assert.Equal(ErrorIds.CgroupNotFound, e.ErrorId);
        Assert.Equal(CgroupErrorKind.NotFound, e.Kind);
    }

    [Fact]
    public void Remove_DescendantsFirstInEveryHierarchyAncestorsKept()
    {
        _fake.MakeCgroupEverywhere(Leaf + "/child");
        var log = new RecordingLog();

        var outcome = Driver().Remove(Target, new RemoveOptions(), log);

        Assert.Equal(new RemoveOutcome(0, 0, 2 * FakeCgroupRoot.AllMounts.Count), outcome);
        foreach (var mount in FakeCgroupRoot.AllMounts)
        {
            Assert.False(Directory.Exists(_fake.Dir(mount, Leaf)));
            Assert.True(Directory.Exists(_fake.Dir(mount, "/kubepods/pod1")));
        }
        var rmdirs = log.VerboseMessages.Where(m => m.StartsWith("rmdir ", StringComparison.Ordinal)).ToList();
        Assert.Equal("rmdir " + _fake.Dir("devices", Leaf + "/child"), rmdirs[0]);
        Assert.Equal("rmdir " + _fake.Dir("devices", Leaf), rmdirs[1]);
        // The first hierarchy (the one holding the create mark) goes last: a removal cut short stays listed, unfinished.
        Assert.Equal("rmdir " + _fake.Dir("cpuset", Leaf + "/child"), rmdirs[^2]);
        Assert.Equal("rmdir " + _fake.Dir("cpuset", Leaf), rmdirs[^1]);
    }

    [Fact]
    public void Remove_FailureNamesTheDirectoryAndErrno()
    {
        _fake.MakeCgroupEverywhere(Leaf);
        File.WriteAllText(Path.Combine(_fake.Dir("memory", Leaf), "stray-file"), "x");

        var e = Assert.Throws<CgroupException>(() => Driver().Remove(Target, new RemoveOptions(), new RecordingLog()));

        Assert.Equal(ErrorIds.CgroupRemoveFailed, e.ErrorId);
        Assert.Equal(Errno.ENOTEMPTY, e.Errno);
        Assert.Contains(_fake.Dir("memory", Leaf), e.Message);
        Assert.Contains("ENOTEMPTY", e.Message);
        // the other hierarchies were still cleaned up
        Assert.False(Directory.Exists(_fake.Dir("pids", Leaf)));
    }

    [Fact]
    public void SetFreezer_WritesTheState()
    {
        var file = _fake.Touch("freezer", Leaf, "freezer.state", "THAWED");
        var driver = Driver();
        driver.SetFreezer(Target, FreezerState.Frozen, new RecordingLog());
        Assert.Equal("FROZEN", File.ReadAllText(file));
        driver.SetFreezer(Target, FreezerState.Thawed, new RecordingLog());
        Assert.Equal("THAWED", File.ReadAllText(file));
    }

    [Fact]
    public void SetFreezer_WithoutFreezerIsControllerNotMounted()
    {
        using var fake = FakeCgroupRoot.Create("freezer");
        var e = Assert.Throws<CgroupException>(() => fake.V1Driver().SetFreezer(Target, FreezerState.Frozen, new RecordingLog()));
        Assert.Equal(ErrorIds.ControllerNotMounted, e.ErrorId);
    }
}
