using KataCgroups.Devices;
using KataCgroups.Drivers;
using KataCgroups.Errors;
using KataCgroups.Host;
using KataCgroups.Model;
using KataCgroups.Paths;
using KataCgroups.Resources;
using KataCgroups.Tests.Support;

namespace KataCgroups.Tests.Drivers;

/// <summary>The engine's front door on a fake root: rootless outcomes, pid checks, sandbox devices, create/remove.</summary>
public sealed class CgroupManagerTests : IDisposable
{
    private const string Leaf = "/kubepods/pod1/kata_sandbox1";
    private readonly FakeCgroupRoot _fake = FakeCgroupRoot.Create();

    public void Dispose() => _fake.Dispose();

    private CgroupManager Manager(uint euid = 0, CgroupMode mode = CgroupMode.Hybrid) => CgroupManager.ForHost(_fake.Options(mode, euid));

    [Fact]
    public void Rootless_MutationsAreSkippedWithTheReasonAndWriteNothing()
    {
        var manager = Manager(euid: 65534);
        Assert.True(manager.Host.IsRootless);
        var log = new RecordingLog();
        var target = manager.Resolve("/kubepods/pod1/sandbox1");
        var existing = manager.Resolve("/kubepods/pod1/existing");
        foreach (var m in _fake.Mounts) _fake.Touch(m, "/kubepods/pod1/kata_existing", "cgroup.procs");
        var before = _fake.Snapshot();

        var create = manager.Create(target, manager.PlanCreate(target, new LinuxResources { Pids = new LinuxPids { Limit = 10 } }, log), log);
        var update = manager.Update(existing, manager.PlanUpdate(existing, new LinuxResources { Pids = new LinuxPids { Limit = 10 } }, log), log);
        var add = manager.AddProcesses(existing, new[] { Environment.ProcessId }, log);
        var remove = manager.Remove(existing, new RemoveOptions(Kill: true), log);
        var freeze = manager.SetFreezer(existing, FreezerState.Frozen, log);

        const string reason = "running rootless (effective uid 65534)";
        Assert.True(create.Skipped);
        Assert.Equal(reason, create.SkippedReason);
        Assert.Null(create.Value);
        Assert.Equal(reason, update.SkippedReason);
        Assert.Equal(reason, add.SkippedReason);
        Assert.Equal(reason, remove.SkippedReason);
        Assert.Equal(reason, freeze.SkippedReason);
        Assert.False(freeze.Value);
        Assert.Equal(before, _fake.Snapshot());
        Assert.Empty(log.Writes);
        Assert.DoesNotContain(log.VerboseMessages, m => m.StartsWith("mkdir", StringComparison.Ordinal) || m.StartsWith("rmdir", StringComparison.Ordinal));
    }

    [Fact]
    public void Rootless_InsideAUserNamespace()
    {
        File.WriteAllText(_fake.UidMapPath, "0 1000 1\n");
        var manager = Manager(euid: 0);
        var target = manager.Resolve("x");
        var outcome = manager.Create(target, CgroupPlan.Empty, new RecordingLog());
        Assert.True(outcome.Skipped);
        Assert.Contains("user namespace", outcome.SkippedReason);
        Assert.False(Directory.Exists(_fake.Dir("memory", "/vc")));
    }

    [Fact]
    public void Rootless_ReadOnlyCallsStillWork()
    {
        _fake.MakeCgroupEverywhere(Leaf);
        var manager = Manager(euid: 65534);
        var target = manager.Resolve("/kubepods/pod1/sandbox1");
        Assert.True(manager.Exists(target));
        Assert.Equal(target, manager.Read(target).Target);
        Assert.Equal(13, manager.GetPaths(target).Count);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    public void ValidatePid_NonPositiveIsInvalidProcessId(int pid)
    {
        var e = Assert.Throws<CgroupException>(() => CgroupManager.ValidatePid(pid));
        Assert.Equal(ErrorIds.InvalidProcessId, e.ErrorId);
        Assert.Equal(CgroupErrorKind.InvalidArgument, e.Kind);
        Assert.Equal(pid.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Target);
    }

    [Fact]
    public void ValidatePid_PositiveIsFine() => CgroupManager.ValidatePid(1);

    [Fact]
    public void AddProcesses_ValidatesPidsBeforeAnythingElse()
    {
        // even rootless, and even before the cgroup is looked up
        var e = Assert.Throws<CgroupException>(() =>
            Manager(euid: 65534).AddProcesses(CgroupTarget.Resolve("x"), new[] { 5, 0 }, new RecordingLog()));
        Assert.Equal(ErrorIds.InvalidProcessId, e.ErrorId);
    }

    [Fact]
    public void SandboxDevices_CallerFirstThenHypervisorThenDefaults()
    {
        var manager = Manager();
        var asked = new List<string>();
        var log = new RecordingLog();
        var resources = new LinuxResources
        {
            Devices = new()
            {
                new LinuxDeviceCgroup { Allow = false, Access = "rwm" },
                new LinuxDeviceCgroup { Allow = true, Type = "c", Major = 7, Minor = 7, Access = "r" },
            },
        };
        var rules = manager.SandboxDevices(resources, log, path =>
        {
            asked.Add(path);
            return path.EndsWith("/kvm", StringComparison.Ordinal) ? (new DeviceNode('c', 10, 232), null) : (null, "ENOENT (No such file or directory)");
        });

        Assert.Equal(new[] { "deny a *:* rwm", "allow c 7:7 r", "allow b 253:* rwm", "allow c 10:232 rwm" }, rules.Take(4).Select(r => r.ToString()));
        Assert.Equal(HypervisorDevices.RuntimeDefaults, rules.Skip(4));
        Assert.All(asked, p => Assert.StartsWith(_fake.DevRoot + "/", p));
        Assert.Contains(_fake.DevRoot + "/vhost-net", asked);
        var warned = string.Join("\n", log.Warnings);   // vhost-net, vfio/vfio, vhost-vsock skipped; kvm allowed
        foreach (var node in new[] { "vhost-net", "vfio/vfio", "vhost-vsock" })
            Assert.Contains(_fake.DevRoot + "/" + node, warned);
        Assert.DoesNotContain(_fake.DevRoot + "/kvm", warned);
    }

    [Fact]
    public void SandboxDevices_BadCallerRuleIsInvalidDeviceRule()
    {
        var resources = new LinuxResources { Devices = new() { new LinuxDeviceCgroup { Allow = true, Type = "x" } } };
        var e = Assert.Throws<CgroupException>(() => Manager().SandboxDevices(resources, new RecordingLog(), _ => (null, "ENOENT")));
        Assert.Equal(ErrorIds.InvalidDeviceRule, e.ErrorId);
    }

    [Fact]
    public void PlanCreate_AlwaysIncludesTheSandboxDevices()
    {
        File.WriteAllText(Path.Combine(_fake.Dir("devices", "/"), "devices.list"), "a *:* rwm\n");
        var manager = Manager();
        var log = new RecordingLog();
        var plan = manager.PlanCreate(manager.Resolve("/kubepods/pod1/sandbox1"), new LinuxResources(), log);
        Assert.Equal("devices.deny = a *:* rwm", plan.Describe().First());
        Assert.Contains("devices.allow = b 253:* rwm", plan.Describe());
        Assert.Contains("devices.allow = c 1:3 rwm", plan.Describe());
        var warned = string.Join("\n", log.Warnings); // the fake dev root is empty: every node is reported missing
        Assert.All(HypervisorDevices.Nodes, node => Assert.Contains(_fake.DevRoot + "/" + node, warned));
    }

    [Fact]
    public void PlanUpdate_MissingCgroupIsCgroupNotFound()
    {
        var manager = Manager();
        var e = Assert.Throws<CgroupException>(() => manager.PlanUpdate(manager.Resolve("nope"), new LinuxResources(), new RecordingLog()));
        Assert.Equal(ErrorIds.CgroupNotFound, e.ErrorId);
    }

    [Fact]
    public void PlanUpdate_DevicesOnlyWhenGiven()
    {
        _fake.MakeCgroupEverywhere(Leaf);
        _fake.Touch("devices", Leaf, "devices.list", "c 1:3 rwm\n");
        var manager = Manager();
        var target = manager.Resolve("/kubepods/pod1/sandbox1");
        var plan = manager.PlanUpdate(target, new LinuxResources { Pids = new LinuxPids { Limit = 9 } }, new RecordingLog());
        Assert.Equal(new[] { "pids.max = 9" }, plan.Describe());
        Assert.Null(plan.DeviceTarget);
    }

    [Fact]
    public void PlanCreate_InvalidResourcesFailBeforeTheDriver()
    {
        var manager = Manager(mode: CgroupMode.Unified); // no cgroup2 mount at the root: validation must still come first
        var e = Assert.Throws<CgroupException>(() =>
            manager.PlanCreate(manager.Resolve("x"), new LinuxResources { Cpu = new LinuxCpu { Shares = 1 } }, new RecordingLog()));
        Assert.Equal(ErrorIds.InvalidResourceValue, e.ErrorId);
    }

    [Fact]
    public void DriverFor_SystemdFormUsesTheSystemdDriverAndTheScopeDirectory()
    {
        var manager = Manager();
        var target = manager.Resolve("system.slice:kata:abc");
        Assert.Equal(DriverKind.Systemd, manager.DriverFor(target).Kind);
        Assert.Equal("/system.slice/kata-abc.scope", target.CgroupPath);
        Assert.All(manager.GetPaths(target), p => Assert.EndsWith("/system.slice/kata-abc.scope", p.Directory));
    }

    [Fact]
    public void PlanCreate_Systemd_V1_BlockIoWeightOnAKernelWithoutWeightsFailsAsCgroupfsDoes()
    {
        // The fake blkio hierarchy has neither CFQ's nor BFQ's files. systemd would take BlockIOWeight= and only log
        // that it has nowhere to write it; runc's systemd v1 driver fails on the file, and so does the module.
        var manager = Manager();
        var target = manager.Resolve("system.slice:kata:abc");
        var r = new LinuxResources { BlockIO = new LinuxBlockIO { Weight = 500 }, Pids = new LinuxPids { Limit = 10 } };
        var e = Assert.Throws<CgroupException>(() => manager.PlanCreate(target, r, new RecordingLog()));
        Assert.Equal(ErrorIds.BlockIoWeightUnsupported, e.ErrorId);
        var skipped = manager.PlanCreate(target, r, new RecordingLog(), skipUnsupported: true);
        Assert.DoesNotContain(skipped.UnitProperties, p => p.Name == "BlockIOWeight");
        Assert.Contains(skipped.UnitProperties, p => p.Name == "TasksMax");
        Assert.DoesNotContain(skipped.Writes, w => w.File.Contains("weight", StringComparison.Ordinal));
    }

    [Fact]
    public void DriverFor_V1AndHybridUseTheV1Driver()
    {
        Assert.Equal(DriverKind.CgroupfsV1, Manager(mode: CgroupMode.Hybrid).DriverFor(CgroupTarget.Resolve("x")).Kind);
        Assert.Equal(DriverKind.CgroupfsV1, Manager(mode: CgroupMode.Legacy).DriverFor(CgroupTarget.Resolve("x")).Kind);
    }

    [Fact]
    public void Create_ExistingCgroupIsCgroupAlreadyExists()
    {
        _fake.MakeCgroupEverywhere(Leaf);   // complete: there everywhere, no create mark (CreateMarkTests: the unfinished ones)
        var manager = Manager();
        var target = manager.Resolve("/kubepods/pod1/sandbox1");
        var before = _fake.Snapshot();
        var e = Assert.Throws<CgroupException>(() => manager.Create(target, CgroupPlan.Empty, new RecordingLog()));
        Assert.Equal(ErrorIds.CgroupAlreadyExists, e.ErrorId);
        Assert.Equal(CgroupErrorKind.AlreadyExists, e.Kind);
        Assert.Equal(before, _fake.Snapshot());
    }

    [Fact]
    public void Create_ThenRemove_WithoutDevicesController()
    {
        using var fake = FakeCgroupRoot.Create("devices", "cpuset");
        var manager = CgroupManager.ForHost(fake.Options());
        var log = new RecordingLog();
        var target = manager.Resolve("/kubepods/pod1/sandbox1");

        // The sandbox's device rules cannot be enforced: refused by default, left out with a warning when asked.
        var e = Assert.Throws<CgroupException>(() => manager.PlanCreate(target, new LinuxResources(), log));
        Assert.Equal(ErrorIds.ControllerNotMounted, e.ErrorId);
        var plan = manager.PlanCreate(target, new LinuxResources(), log, skipUnsupported: true);
        Assert.Empty(plan.Writes);
        Assert.Contains(plan.Warnings, w => w.Contains("devices controller is not mounted", StringComparison.Ordinal));

        var created = manager.Create(target, plan, log);
        Assert.False(created.Skipped);
        Assert.Equal(target, created.Value!.Target);
        Assert.Empty(created.Value.MissingIn);
        Assert.Contains(plan.Warnings[0], log.Warnings);   // plan warnings are reported on create
        foreach (var m in fake.Mounts) Assert.True(Directory.Exists(fake.Dir(m, Leaf)));

        Assert.Equal(new[] { "/kubepods/pod1/sandbox1" }, manager.Find(new[] { "/kubepods" }).Select(t => t.RequestedPath));

        var removed = manager.Remove(target, new RemoveOptions(), log);
        Assert.Equal(fake.Mounts.Count, removed.Value!.RemovedDirectories);
        Assert.False(manager.Exists(target));
        foreach (var m in fake.Mounts) Assert.True(Directory.Exists(fake.Dir(m, "/kubepods/pod1")));
    }

    [Fact]
    public void RemoveEmptyParent_RemovesTheParentsACreateMade_BottomUp_AndStopsAtASiblingAProcessOrAnUnmarkedOne()
    {
        using var fake = FakeCgroupRoot.Create("devices", "cpuset");   // no devices: a create with an empty plan works on plain directories
        var manager = CgroupManager.ForHost(fake.Options());
        var log = new RecordingLog();
        foreach (var m in fake.Mounts) fake.MakeCgroup(m, "/r");   // there before: no create made it
        var plan = CgroupPlan.Empty.ForCreate();
        var a = manager.Resolve("/r/pod1/x/sandbox1");
        var sibling = manager.Resolve("/r/pod1/sandbox2");
        manager.Create(a, plan, log, readBack: false);
        manager.Create(sibling, plan, log, readBack: false);
        var first = fake.Mounts[0];
        fake.Touch(fake.Mounts[1], "/r/pod1", "cgroup.procs", "4242\n");   // a process in one hierarchy's /r/pod1

        // -WhatIf's view first: /r/pod1/x in every hierarchy, nothing yet removed.
        Assert.Equal(fake.Mounts.Select(m => fake.Dir(m, "/r/pod1/x")), manager.EmptyParents(a));
        var asked = new List<string>();
        var outcome = manager.Remove(a, new RemoveOptions(RemoveEmptyParent: true, ConfirmParent: d => { asked.Add(d); return true; }), log).Value!;
        // /r/pod1 keeps its other child (sandbox2) everywhere: only x goes.
        Assert.Equal(fake.Mounts.Select(m => fake.Dir(m, "/r/pod1/x")), outcome.RemovedParents);
        Assert.Equal(outcome.RemovedParents, asked);
        Assert.Contains(log.VerboseMessages, v => v.StartsWith($"kept parent {fake.Dir(first, "/r/pod1")}: it has 1 other child cgroup(s)", StringComparison.Ordinal));

        // While sandbox2 is there, /r/pod1 has a child everywhere; once it is gone, /r/pod1 goes where it has no
        // process, and /r (not made by a create) stays.
        Assert.Empty(manager.RemoveEmptyParents(sibling, null, log));
        foreach (var m in fake.Mounts) Directory.Delete(fake.Dir(m, "/r/pod1/kata_sandbox2"));
        var second = manager.RemoveEmptyParents(sibling, null, log);
        var expected = fake.Mounts.Where(m => m != fake.Mounts[1]).Select(m => fake.Dir(m, "/r/pod1")).ToList();
        Assert.Equal(expected, second);
        Assert.Contains(log.VerboseMessages, v => v == $"kept parent {fake.Dir(fake.Mounts[1], "/r/pod1")}: it has 1 process(es)");
        foreach (var m in fake.Mounts) Assert.True(Directory.Exists(fake.Dir(m, "/r")));
        Assert.Contains(log.VerboseMessages, v => v.StartsWith($"kept parent {fake.Dir(first, "/r")}: no create made it", StringComparison.Ordinal));

        // A "no" keeps that directory and the ones above it.
        var b = manager.Resolve("/r/pod2/y/sandbox3");
        manager.Create(b, plan, log, readBack: false);
        var kept = manager.Remove(b, new RemoveOptions(RemoveEmptyParent: true, ConfirmParent: d => !d.EndsWith("/r/pod2/y", StringComparison.Ordinal)), log).Value!;
        Assert.Empty(kept.RemovedParents!);
        foreach (var m in fake.Mounts) Assert.True(Directory.Exists(fake.Dir(m, "/r/pod2")));
    }

    [Fact]
    public void Create_FailureLeavesNothingBehind()
    {
        var manager = Manager();
        var target = manager.Resolve("/kubepods/pod1/sandbox1");
        var plan = manager.PlanCreate(target, new LinuxResources(), new RecordingLog()); // device writes into new, empty dirs fail
        var before = _fake.Snapshot();

        var e = Assert.Throws<CgroupException>(() => manager.Create(target, plan, new RecordingLog()));

        Assert.Equal(ErrorIds.CgroupWriteFailed, e.ErrorId);
        Assert.Contains("devices.", e.Message);
        Assert.Contains("nothing was left behind", e.Message);
        Assert.Equal(before, _fake.Snapshot());
    }

    [Fact]
    public void Remove_MissingCgroupIsCgroupNotFound()
    {
        var manager = Manager();
        var e = Assert.Throws<CgroupException>(() => manager.Remove(manager.Resolve("nope"), new RemoveOptions(), new RecordingLog()));
        Assert.Equal(ErrorIds.CgroupNotFound, e.ErrorId);
    }

    [Fact]
    public void Find_DescendsIntoEveryDirectoryWithSubdirectoriesAndSkipsLeaves()
    {
        // The walk skips a directory only when its link count says it has no subdirectories.
        _fake.MakeCgroup("cpuset", "/vc/kata_a/kata_inner");
        _fake.MakeCgroup("cpuset", "/vc/pod/x/y/kata_deep");
        _fake.MakeCgroup("cpuset", "/vc/kata_leaf");
        Assert.Equal(new[] { "/vc/kata_a", "/vc/kata_a/kata_inner", "/vc/kata_leaf", "/vc/pod/x/y/kata_deep" },
            Manager().Find().Select(t => t.CgroupPath));
    }

    [SkippableFact]
    public void MayHaveSubdirectories_FollowsTheCgroupfsLinkCount()
    {
        Skip.IfNot(Environment.IsPrivilegedProcess, "making a cgroup needs root");
        var host = HostProbe.Probe();
        var mount = host.Hierarchies.FirstOrDefault(h => !h.IsUnified)?.MountPoint ?? host.Unified?.MountPoint;
        Skip.If(mount is null, "no cgroup hierarchy mounted");
        using var fs = CgroupFs.For(host);
        var dir = Path.Combine(mount!, "kctest-unit-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(dir);
        try
        {
            Assert.False(CgroupTree.MayHaveSubdirectories(fs, dir));   // a leaf: nlink 2
            Directory.CreateDirectory(Path.Combine(dir, "child"));
            Assert.True(CgroupTree.MayHaveSubdirectories(fs, dir));    // nlink 3
            Assert.False(CgroupTree.MayHaveSubdirectories(fs, Path.Combine(dir, "child")));
            Assert.True(CgroupTree.MayHaveSubdirectories(fs, Path.Combine(dir, "missing")));   // unknown: look
        }
        finally
        {
            if (Directory.Exists(Path.Combine(dir, "child"))) Directory.Delete(Path.Combine(dir, "child"));
            Directory.Delete(dir);
        }
    }

    [Fact]
    public void Find_SearchesTheWholeHostByDefault_AndOnlyTheCleanedRootsWhenGiven()
    {
        _fake.MakeCgroup("cpuset", "/vc/kata_a");
        _fake.MakeCgroup("cpuset", "/vc/x/kata_b");
        _fake.MakeCgroup("cpuset", "/kubepods/pod1/kata_c");
        _fake.MakeCgroup("memory", "/deep/er/still/kata_d");   // only in a hierarchy other than the first
        var manager = Manager();
        Assert.Equal(new[] { "/deep/er/still/d", "/kubepods/pod1/c", "/vc/a", "/vc/x/b" }, manager.Find().Select(t => t.RequestedPath));
        Assert.Equal(new[] { "/kubepods/pod1/c", "/vc/a", "/vc/x/b" },
            manager.Find(new[] { "../kubepods", "vc/./", "/vc/kata_a" }).Select(t => t.RequestedPath));
        Assert.Equal(new[] { "/vc/a" }, manager.Find(new[] { "/vc/kata_a" }).Select(t => t.RequestedPath));
        Assert.Equal("/deep/er/still/kata_d", manager.Find().First().CgroupPath);
    }

    [Fact]
    public void Find_SaysWhereItLookedInVerbose()
    {
        _fake.MakeCgroup("cpuset", "/kubepods/pod1/kata_c");
        var log = new RecordingLog();
        Manager().Find(null, DriverSelection.Auto, log);
        var searched = Assert.Single(log.VerboseMessages, m => m.StartsWith("searched for Kata cgroups", StringComparison.Ordinal));
        Assert.Contains("at or below / in ", searched);
        foreach (var m in _fake.Mounts) Assert.Contains(_fake.Dir(m, "/").TrimEnd('/'), searched);
        Assert.EndsWith(": 1 found", searched);
    }

    [Fact]
    public void Find_ControlCharacterInARootIsInvalidCgroupPath()
    {
        var e = Assert.Throws<CgroupException>(() => Manager().Find(new[] { "/vc\n" }));
        Assert.Equal(ErrorIds.InvalidCgroupPath, e.ErrorId);
    }

    [Fact]
    public void Find_ADirectoryNamedJustKataPrefixIsNotANullTarget()
    {
        _fake.MakeCgroup("cpuset", "/vc/kata_");
        _fake.MakeCgroup("cpuset", "/vc/kata_a");
        var found = Manager().Find();
        Assert.All(found, t => Assert.NotNull(t));
        Assert.Contains(found, t => t.RequestedPath == "/vc/a");
    }

    [Fact]
    public void DriverFor_UnifiedUsesTheV2Driver()
    {
        using var fake = FakeCgroupRoot.Create();
        File.WriteAllText(fake.MountInfoPath, $"35 22 0:30 / {fake.Root} rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n");
        var manager = CgroupManager.ForHost(fake.Options(CgroupMode.Unified));
        Assert.Equal(DriverKind.CgroupfsV2, manager.DriverFor(manager.Resolve("x")).Kind);
    }

    [Fact]
    public void Resolve_DriverSelectionSystemdRequiresTheSystemdForm()
    {
        var manager = Manager();
        Assert.NotNull(manager.Resolve("system.slice:kata:abc", DriverSelection.Systemd).Systemd);
        var e = Assert.Throws<CgroupException>(() => manager.Resolve("/kubepods/abc", DriverSelection.Systemd));
        Assert.Equal(ErrorIds.MalformedSystemdPath, e.ErrorId);
        Assert.Contains("slice:prefix:name", e.Message);
    }

    [Fact]
    public void Resolve_DriverSelectionCgroupfsRefusesTheSystemdForm()
    {
        var manager = Manager();
        Assert.Equal("/kubepods/kata_abc", manager.Resolve("/kubepods/abc", DriverSelection.Cgroupfs).CgroupPath);
        var e = Assert.Throws<CgroupException>(() => manager.Resolve("system.slice:kata:abc", DriverSelection.Cgroupfs));
        Assert.Equal(ErrorIds.InvalidCgroupPath, e.ErrorId);
        Assert.Contains("systemd path", e.Message);
        Assert.Equal(DriverKind.Systemd, manager.DriverFor(manager.Resolve("system.slice:kata:abc")).Kind);
    }

    [Fact]
    public void Find_OnAHostWithoutSystemdNeverTalksToSystemd()
    {
        _fake.MakeCgroup("cpuset", "/vc/kata_a");
        var manager = Manager().ForSystemdBus(null);
        Assert.False(manager.Host.SystemdBooted);
        var log = new RecordingLog();
        Assert.Equal(new[] { "/vc/a" }, manager.Find(null, DriverSelection.Auto, log).Select(t => t.RequestedPath));
        Assert.Empty(log.Warnings);
    }

    [Fact]
    public void Find_SystemdBootedButUnreachableIsAWarningInAutoAndAnErrorWhenSystemdIsAskedFor()
    {
        _fake.MakeCgroup("cpuset", "/vc/kata_a");
        Directory.CreateDirectory(Path.Combine(_fake.Options().RunRoot, "systemd", "system"));
        var manager = Manager().ForSystemdBus("unix:path=/nonexistent/kc-test-bus");
        Assert.True(manager.Host.SystemdBooted);
        var log = new RecordingLog();

        Assert.Equal(new[] { "/vc/a" }, manager.Find(null, DriverSelection.Auto, log).Select(t => t.RequestedPath));
        Assert.Contains(log.Warnings, w => w.Contains("systemd units were not listed", StringComparison.Ordinal));

        var e = Assert.Throws<CgroupException>(() => manager.Find(null, DriverSelection.Systemd, log));
        Assert.Equal(ErrorIds.SystemdUnavailable, e.ErrorId);
        Assert.DoesNotContain(Manager().Find(null, DriverSelection.Cgroupfs), t => t.Systemd is not null);
    }
}
