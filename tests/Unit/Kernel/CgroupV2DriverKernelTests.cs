using KataCgroups.Drivers;
using KataCgroups.Model;
using KataCgroups.Preflight;
using KataCgroups.Resources;

namespace KataCgroups.Tests.Kernel;

/// <summary>
/// The cgroupfs v2 driver on this machine's real cgroup2 tree (the unified hierarchy of a hybrid host, probed as
/// if it were a unified host). Controllers that hybrid hosts keep on v1 are not there, so this covers the core:
/// create/rollback, hugetlb files where offered, eBPF devices, cgroup.procs, cgroup.freeze, cgroup.kill.
/// </summary>
[Trait("Category", "Kernel")]
public sealed class CgroupV2DriverKernelTests
{
    private static CgroupManager UnifiedManager(KernelCgroup2 cg) => new(cg.ProbeUnified());

    /// <summary>
    /// The manager and the preflight checks of the same probe. Every create attaches one device eBPF program (the
    /// hypervisor and runtime default rules), so a kernel that cannot load one (DeviceControl) skips, naming it.
    /// </summary>
    private static CgroupManager UnifiedManager(KernelCgroup2 cg, out IReadOnlyDictionary<string, HostCheck> checks)
    {
        var host = cg.ProbeUnified();
        checks = cg.Checks(host);
        HostCapability.Require(checks, "DeviceControl");
        return new CgroupManager(host);
    }

    [SkippableFact]
    public void CreateJoinFreezeKillRemoveOnRealCgroup2()
    {
        using var cg = new KernelCgroup2();
        var m = UnifiedManager(cg, out var checks);
        HostCapability.Require(checks, "Freezer");   // cgroup.freeze (Linux 5.2)
        var log = new Support.RecordingLog();
        var target = m.Resolve($"/{cg.Name}/pod/sandbox");
        var resources = new LinuxResources { Pids = new LinuxPids { Limit = 64 } };
        // A v2 host offers pids on this tree; a hybrid host keeps it on its v1 hierarchy, and then the tree refuses
        // the limit, naming the controller, before anything is made.
        bool pids = HostCapability.Has(checks, "Controller:pids");
        if (!pids)
        {
            var refused = Assert.Throws<Errors.CgroupException>(() => m.PlanCreate(target, resources, log));
            Assert.Equal(Errors.ErrorIds.ControllerNotMounted, refused.ErrorId);
            Assert.Contains("pids", refused.Message);
            Assert.False(Directory.Exists(cg.Dir));
            resources = new LinuxResources();
        }

        var plan = m.PlanCreate(target, resources, log);
        var created = m.Create(target, plan, log).Value!;
        Assert.Equal(DriverKind.CgroupfsV2, created.Driver);
        var dir = Path.Combine(cg.Dir, "pod", "kata_sandbox");
        Assert.True(Directory.Exists(dir));
        Assert.Single(created.Devices); // one eBPF program, from the hypervisor + default device rules
        if (pids) Assert.Equal("64", File.ReadAllText(Path.Combine(dir, "pids.max")).Trim());

        var sleep = cg.StartSleep();
        var added = Assert.Single(m.AddProcesses(target, new[] { sleep.Id }, log).Value!);
        Assert.True(added.Added, added.Error);
        Assert.Contains(sleep.Id, File.ReadAllText(Path.Combine(dir, "cgroup.procs")).Split('\n').Where(l => l.Length > 0).Select(int.Parse));

        m.SetFreezer(target, FreezerState.Frozen, log);
        Assert.Contains("frozen 1", File.ReadAllText(Path.Combine(dir, "cgroup.events")));
        Assert.Equal("FROZEN", m.Read(target).FreezerState);
        m.SetFreezer(target, FreezerState.Thawed, log);
        Assert.Equal("THAWED", m.Read(target).FreezerState);

        var removed = m.Remove(target, new RemoveOptions(Kill: true), log).Value!;
        Assert.Equal(1, removed.KilledProcesses);
        Assert.True(sleep.WaitForExit(5000), "the killed process is still running");
        Assert.False(Directory.Exists(dir));
    }

    /// <summary>
    /// A limit set later on a cgroup made without it: its controller is enabled top-down then, as at a create
    /// (runc's libcontainer/cgroups/fs2/create.go reads what may be enabled from the root's cgroup.controllers,
    /// not from the parent's, which lists only what was enabled so far). Needs cpu on this cgroup2 tree: a
    /// hybrid host keeps cpu on v1, and there the test would have to enable a controller in the host's own root.
    /// </summary>
    [SkippableFact]
    public void ALimitSetAfterTheCreateEnablesItsController()
    {
        using var cg = new KernelCgroup2();
        var m = UnifiedManager(cg, out var checks);
        HostCapability.Require(checks, "Controller:cpu");
        var log = new Support.RecordingLog();
        var target = m.Resolve($"/{cg.Name}/pod/sandbox");
        m.Create(target, m.PlanCreate(target, new LinuxResources(), log), log);
        var dir = Path.Combine(cg.Dir, "pod", "kata_sandbox");
        Assert.False(File.Exists(Path.Combine(dir, "cpu.max")));

        var later = new LinuxResources { Cpu = new LinuxCpu { Quota = 20000, Period = 100000 } };
        m.Update(target, m.PlanUpdate(target, later, log), log);

        Assert.Equal("20000 100000", File.ReadAllText(Path.Combine(dir, "cpu.max")).Trim());
    }

    [SkippableFact]
    public void RemoveMovesProcessesToTheParent()
    {
        using var cg = new KernelCgroup2();
        var m = UnifiedManager(cg, out _);
        var log = new Support.RecordingLog();
        var target = m.Resolve($"/{cg.Name}/sandbox");
        m.Create(target, m.PlanCreate(target, new LinuxResources(), log), log);
        var sleep = cg.StartSleep();
        Assert.True(m.AddProcesses(target, new[] { sleep.Id }, log).Value![0].Added);

        var removed = m.Remove(target, new RemoveOptions(), log).Value!;

        Assert.Equal(1, removed.MovedProcesses);
        Assert.False(sleep.HasExited);
        Assert.Contains($"0::/{cg.Name}\n", File.ReadAllText($"/proc/{sleep.Id}/cgroup"));
        Assert.False(Directory.Exists(Path.Combine(cg.Dir, "kata_sandbox")));
        // Leave the parent empty for the fixture's cleanup.
        File.WriteAllText(Path.Combine(cg.Mount, "cgroup.procs"), sleep.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// A threaded subtree (cgroup-v2.rst "Threads"; it needs no controller, so a hybrid host's cgroup2 tree has it
    /// too): a thread placed alone in a threaded cgroup counts its process there, as v1's cgroup.procs does. Removing
    /// the cgroup moves the thread alone to the parent and leaves the process running; -Kill ends the process. A
    /// threaded cgroup refuses both the read of its cgroup.procs and cgroup.kill (EOPNOTSUPP: both are
    /// process-directed), so both go through cgroup.threads.
    /// </summary>
    [SkippableFact]
    public void AThreadedCgroup_HoldsAThreadAlone_AndIsRemovedWithTheThreadMovedUp_OrItsProcessKilled()
    {
        using var cg = new KernelCgroup2();
        var m = UnifiedManager(cg, out var checks);
        HostCapability.Require(checks, "Freezer");   // -Kill freezes what it kills where cgroup.kill cannot be used
        var log = new Support.RecordingLog();
        var pod = Path.Combine(cg.Dir, "pod");
        var sandbox = m.Resolve($"/{cg.Name}/pod/sandbox");
        var overhead = m.Resolve($"/{cg.Name}/pod/overhead");
        foreach (var (t, name) in new[] { (sandbox, "kata_sandbox"), (overhead, "kata_overhead") })
        {
            m.Create(t, m.PlanCreate(t, new LinuxResources(), log), log);
            File.WriteAllText(Path.Combine(pod, name, "cgroup.type"), "threaded");
        }
        Assert.Equal("domain threaded", File.ReadAllText(Path.Combine(pod, "cgroup.type")).Trim());
        var (vmm, tids) = cg.StartThreaded(2);
        string CgroupOf(int tid) =>
            File.ReadAllLines($"/proc/{vmm.Id}/task/{tid}/cgroup").Single(l => l.StartsWith("0::", StringComparison.Ordinal))[3..];

        Assert.True(m.AddProcesses(overhead, new[] { vmm.Id }, log).Value![0].Added);
        var placed = Assert.Single(m.AddThreads(sandbox, new[] { tids[0] }, log).Value!);
        Assert.Equal(ThreadPlacement.Thread, placed.Placement);
        Assert.Equal(vmm.Id, placed.ProcessId);
        Assert.Equal($"{tids[0]}", File.ReadAllText(Path.Combine(pod, "kata_sandbox", "cgroup.threads")).Trim());
        Assert.Equal(new[] { vmm.Id }, m.GetProcesses(sandbox));

        var removed = m.Remove(sandbox, new RemoveOptions(), log).Value!;
        Assert.Equal(1, removed.MovedProcesses);
        Assert.False(Directory.Exists(Path.Combine(pod, "kata_sandbox")));
        Assert.False(vmm.HasExited);
        Assert.Equal($"/{cg.Name}/pod", CgroupOf(tids[0]));
        Assert.Equal($"/{cg.Name}/pod/kata_overhead", CgroupOf(tids[1]));
        Assert.Equal($"/{cg.Name}/pod/kata_overhead", CgroupOf(vmm.Id));

        var killed = m.Remove(overhead, new RemoveOptions(Kill: true), log).Value!;
        Assert.Equal(1, killed.KilledProcesses);
        Assert.True(vmm.WaitForExit(5000), "the process of the killed threads is still running");
        Assert.False(Directory.Exists(Path.Combine(pod, "kata_overhead")));
    }

    /// <summary>
    /// A cgroup that is the root of a threaded subtree (its children threaded, one thread of the process in each)
    /// is removed with the process moved whole to its parent: a thread cannot leave its threaded subtree alone
    /// (EOPNOTSUPP), so it takes its process along, and the other threads follow.
    /// </summary>
    [SkippableFact]
    public void RemovingTheRootOfAThreadedSubtree_MovesItsProcessWholeToTheParent()
    {
        using var cg = new KernelCgroup2();
        var m = UnifiedManager(cg, out _);
        var log = new Support.RecordingLog();
        var vm = m.Resolve($"/{cg.Name}/vm");
        m.Create(vm, m.PlanCreate(vm, new LinuxResources(), log), log);
        var vmDir = Path.Combine(cg.Dir, "kata_vm");
        foreach (var child in new[] { "vcpu", "rest" })
        {
            Directory.CreateDirectory(Path.Combine(vmDir, child));
            File.WriteAllText(Path.Combine(vmDir, child, "cgroup.type"), "threaded");
        }
        var (vmm, tids) = cg.StartThreaded(1);
        File.WriteAllText(Path.Combine(vmDir, "rest", "cgroup.procs"), $"{vmm.Id}");
        File.WriteAllText(Path.Combine(vmDir, "vcpu", "cgroup.threads"), $"{tids[0]}");

        var removed = m.Remove(vm, new RemoveOptions(), log).Value!;

        Assert.Equal(1, removed.MovedProcesses);
        Assert.Equal(3, removed.RemovedDirectories);
        Assert.False(Directory.Exists(vmDir));
        Assert.False(vmm.HasExited);
        foreach (var tid in new[] { vmm.Id, tids[0] })
            Assert.Contains($"0::/{cg.Name}\n", File.ReadAllText($"/proc/{vmm.Id}/task/{tid}/cgroup"));
    }

    [SkippableFact]
    public void AControllerTheTreeDoesNotOfferIsAClearErrorAndNothingIsCreated()
    {
        using var cg = new KernelCgroup2();
        var m = UnifiedManager(cg);
        var offered = File.ReadAllText(Path.Combine(cg.Mount, "cgroup.controllers"));
        Skip.If(offered.Contains("memory", StringComparison.Ordinal), "memory is available on this cgroup2 tree");
        var target = m.Resolve($"/{cg.Name}/sandbox");
        var e = Assert.Throws<Errors.CgroupException>(() =>
            m.PlanCreate(target, new LinuxResources { Memory = new LinuxMemory { Limit = 256L << 20 } }, NullCgroupLog.Instance));
        Assert.Equal(Errors.ErrorIds.ControllerNotMounted, e.ErrorId);
        Assert.Contains("memory", e.Message);
        Assert.False(Directory.Exists(cg.Dir));
    }
}
