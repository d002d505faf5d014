using System.Diagnostics;
using KataCgroups.Drivers;
using KataCgroups.Drivers.V1;
using KataCgroups.Errors;
using KataCgroups.Host;
using KataCgroups.Model;
using KataCgroups.Paths;
using KataCgroups.Sandboxes;
using KataCgroups.Tests.Support;

namespace KataCgroups.Tests.Drivers;

/// <summary>
/// Threads and moves as engine logic, on a fake root (ordinary directories) and a fake /proc: how a directory's tasks
/// split into whole processes and threads placed alone, which file a v1 thread placement writes (tasks, never in the
/// cgroup2 tree), the bound of a move whose source never empties, vCPU threads by QEMU's names, Kata's sandbox and
/// overhead cgroup names, and systemd's refusal. The kernel's side is proven by tests/Pester/Threads.Tests.ps1.
/// </summary>
public sealed class ThreadsAndMovesTests : IDisposable
{
    private readonly FakeCgroupRoot _fake = FakeCgroupRoot.Create();

    public void Dispose() => _fake.Dispose();

    private string ProcRoot => _fake.Options().ProcRoot;

    /// <summary>A fake /proc/&lt;pid&gt; with its threads (each with its comm) and their status files naming the thread group.</summary>
    private void FakeProcess(int pid, params (int Tid, string Comm)[] threads)
    {
        foreach (var (tid, comm) in threads)
        {
            var task = Path.Combine(ProcRoot, pid.ToString(), "task", tid.ToString());
            Directory.CreateDirectory(task);
            File.WriteAllText(Path.Combine(task, "comm"), comm + "\n");
            Directory.CreateDirectory(Path.Combine(ProcRoot, tid.ToString()));
            File.WriteAllText(Path.Combine(ProcRoot, tid.ToString(), "status"), $"Name:\t{comm}\nTgid:\t{pid}\nPid:\t{tid}\n");
            File.WriteAllText(Path.Combine(ProcRoot, tid.ToString(), "comm"), comm + "\n");
        }
    }

    [Fact]
    public void Split_AProcessWhollyThereMovesWhole_ASplitOneAndStrayThreadsMoveAlone()
    {
        var threads = new Dictionary<int, IReadOnlyList<int>>
        {
            [10] = new[] { 10, 11 },        // every thread here: whole
            [20] = new[] { 20, 21 },        // 21 elsewhere: its threads here go alone
            [30] = new[] { 30, 31 },        // leader elsewhere (v1 lists it for 31): 31 alone
        };
        var (whole, alone) = TaskMoves.Split(new[] { 10, 20, 30 }, new HashSet<int> { 10, 11, 20, 31, 40 },
            pid => threads.TryGetValue(pid, out var t) ? t : null);
        Assert.Equal(new[] { 10 }, whole);
        Assert.Equal(new[] { 20, 31, 40 }, alone);   // 40: a thread created after the listing of processes
    }

    [Fact]
    public void Split_AProcessGoneMeanwhile_HasItsListedTasksMovedAlone()
    {
        var (whole, alone) = TaskMoves.Split(new[] { 50 }, new HashSet<int> { 50, 51 }, _ => null);
        Assert.Empty(whole);
        Assert.Equal(new[] { 50, 51 }, alone);
    }

    [Fact]
    public void V1AddThreads_WritesTasksInEveryV1Hierarchy_NeverTheCgroup2Tree()
    {
        var target = CgroupTarget.Resolve("/pod/a");
        _fake.MakeCgroupEverywhere(target.CgroupPath);
        foreach (var m in _fake.Mounts.Where(m => m != "unified")) _fake.Touch(m, target.CgroupPath, "tasks");
        FakeProcess(100, (100, "qemu-system-x86"), (101, "CPU 0/TCG"));
        var driver = _fake.V1Driver();

        var outcome = Assert.Single(driver.AddThreads(target, new[] { 101 }, new RecordingLog()));

        Assert.Equal(ThreadPlacement.Thread, outcome.Placement);
        Assert.Equal(100, outcome.ProcessId);
        foreach (var m in _fake.Mounts.Where(m => m != "unified"))
            Assert.Equal("101", File.ReadAllText(Path.Combine(_fake.Dir(m, target.CgroupPath), "tasks")));
        Assert.False(File.Exists(Path.Combine(_fake.Dir("unified", target.CgroupPath), "tasks")));
        Assert.False(File.Exists(Path.Combine(_fake.Dir("unified", target.CgroupPath), "cgroup.procs")));
    }

    [Fact]
    public void IsSingleThreaded_ReadsThisKernelsThreadCountOfProcTask()
    {
        using var sleep = Process.Start(new ProcessStartInfo("sleep", "30") { RedirectStandardInput = true })!;
        try
        {
            Assert.True(TaskMoves.IsSingleThreaded("/proc", sleep.Id));
            Assert.True(Process.GetCurrentProcess().Threads.Count > 1);
            Assert.False(TaskMoves.IsSingleThreaded("/proc", Environment.ProcessId));   // the test host runs many threads
        }
        finally
        {
            sleep.Kill();
            sleep.WaitForExit();
        }
        Assert.False(TaskMoves.IsSingleThreaded("/proc", sleep.Id));   // gone
    }

    /// <summary>Skips unless this file system counts a directory's subdirectories in its link count, as procfs counts threads.</summary>
    private void RequireSubdirectoryLinkCount()
    {
        FakeProcess(1, (1, "probe"));
        Skip.IfNot(TaskMoves.IsSingleThreaded(ProcRoot, 1),
            $"the file system of {ProcRoot} does not count subdirectories in a directory's link count, which the fake /proc/<pid>/task needs");
    }

    [SkippableFact]
    public void V1Read_AProcessWithOneThread_IsWhole_WithoutATasksRead()
    {
        RequireSubdirectoryLinkCount();
        var target = CgroupTarget.Resolve("/pod/a");
        _fake.MakeCgroupEverywhere(target.CgroupPath);
        FakeProcess(600, (600, "sleep"));
        foreach (var m in _fake.Mounts.Where(m => m != "unified"))   // the cgroup2 tree has no tasks file to consult
        {
            _fake.Touch(m, target.CgroupPath, "cgroup.procs", "600\n");
            // A tasks file no kernel would show beside that cgroup.procs: read, it would make 600 a process whose
            // leader is elsewhere, and drop it.
            _fake.Touch(m, target.CgroupPath, "tasks", "601\n");
        }

        var s = _fake.V1Driver().Read(target);

        Assert.Equal(new[] { 600 }, s.Pids);
        Assert.Empty(s.Threads);
    }

    [SkippableFact]
    public void V1Read_AProcessWithThreads_WhoseLeaderIsElsewhere_ShowsItsThreadsHere()
    {
        RequireSubdirectoryLinkCount();
        var target = CgroupTarget.Resolve("/pod/a");
        _fake.MakeCgroupEverywhere(target.CgroupPath);
        FakeProcess(700, (700, "qemu-system-x86"), (701, "CPU 0/TCG"), (702, "CPU 1/TCG"));
        foreach (var m in _fake.Mounts.Where(m => m != "unified"))
        {
            _fake.Touch(m, target.CgroupPath, "cgroup.procs", "700\n");   // v1 lists the process of every task here
            _fake.Touch(m, target.CgroupPath, "tasks", "701\n702\n");
        }

        var s = _fake.V1Driver().Read(target);

        Assert.Empty(s.Pids);
        Assert.Equal(new[] { 701, 702 }, s.Threads);
    }

    [Fact]
    public void V1AddThreads_AThreadWithoutAProcEntry_IsVanished_AndNothingIsWritten()
    {
        var target = CgroupTarget.Resolve("/pod/a");
        _fake.MakeCgroupEverywhere(target.CgroupPath);
        var outcome = Assert.Single(_fake.V1Driver().AddThreads(target, new[] { 4242 }, new RecordingLog()));
        Assert.False(outcome.Added);
        Assert.True(outcome.Vanished);
    }

    /// <summary>
    /// /pod/a and /pod/b in every fake hierarchy, b empty, a listing <paramref name="listed"/> of the mount in its
    /// cgroup.procs and (v1) tasks. Ordinary files do not change when written to, so a listed task stays listed.
    /// </summary>
    private (CgroupTarget From, CgroupTarget To) MoveSourceAndDestination(Func<string, string> listed)
    {
        var from = CgroupTarget.Resolve("/pod/a");
        var to = CgroupTarget.Resolve("/pod/b");
        _fake.MakeCgroupEverywhere(from.CgroupPath);
        _fake.MakeCgroupEverywhere(to.CgroupPath);
        foreach (var m in _fake.Mounts)
        {
            _fake.Touch(m, from.CgroupPath, "cgroup.procs", listed(m));
            _fake.Touch(m, to.CgroupPath, "cgroup.procs");
            if (m == "unified") continue;
            _fake.Touch(m, from.CgroupPath, "tasks", listed(m));
            _fake.Touch(m, to.CgroupPath, "tasks");
        }
        return (from, to);
    }

    [Fact]
    public void Move_ASourceThatNeverEmpties_FailsAfterTheBound_NamingWhatStayed()
    {
        // Ordinary files do not change when written to, so the source lists its task again on every pass: a fork
        // loop faster than the move, as far as the loop can tell.
        var (from, to) = MoveSourceAndDestination(m => "555\n");
        FakeProcess(555, (555, "forker"));
        var manager = new CgroupManager(_fake.Probe());

        var e = Assert.Throws<CgroupException>(() => manager.Move(from, to, new RecordingLog(), maxPasses: 3));

        Assert.Equal(ErrorIds.CgroupMoveIncomplete, e.ErrorId);
        Assert.Contains("after 3 passes", e.Message);
        Assert.Contains("555 (forker)", e.Message);
        Assert.Equal("555", File.ReadAllText(Path.Combine(_fake.Dir("memory", to.CgroupPath), "cgroup.procs")));
    }

    [Fact]
    public void Move_ATaskOfAnotherPidNamespace_IsNeverWritten_AndFailsAfterOnePass()
    {
        // cgroup v2 lists a task this process cannot see (another PID namespace) as 0; v1's files leave it out.
        // Writing 0 to cgroup.procs would move the writer itself, and no further pass can move that task.
        var (from, to) = MoveSourceAndDestination(m => m == "unified" ? "0\n" : "");
        var manager = new CgroupManager(_fake.Probe());

        var e = Assert.Throws<CgroupException>(() => manager.Move(from, to, new RecordingLog()));

        Assert.Equal(ErrorIds.CgroupMoveIncomplete, e.ErrorId);
        Assert.Contains("after 1 pass 1 task(s) are still in it — 0 (another PID namespace)", e.Message);
        Assert.Contains("They belong to another PID namespace", e.Message);
        Assert.Equal("", File.ReadAllText(Path.Combine(_fake.Dir("unified", to.CgroupPath), "cgroup.procs")));
    }

    [Fact]
    public void Move_IntoItselfOrADescendant_IsInvalidCgroupPath()
    {
        var manager = new CgroupManager(_fake.Probe());
        var a = CgroupTarget.Resolve("/pod/a");
        Assert.Equal(ErrorIds.InvalidCgroupPath, Assert.Throws<CgroupException>(() => manager.Move(a, a, new RecordingLog())).ErrorId);
        var inner = CgroupTarget.Resolve("/pod/kata_a/inner");
        Assert.Equal(ErrorIds.InvalidCgroupPath, Assert.Throws<CgroupException>(() => manager.Move(a, inner, new RecordingLog())).ErrorId);
    }

    [Fact]
    public void VcpuThreads_AreTheThreadsNamedCpuNSlashAccelerator_InVcpuOrder()
    {
        FakeProcess(700, (700, "qemu-system-x86"), (701, "IO mon_iothread"), (705, "CPU 1/TCG"), (706, "CPU 0/KVM"), (707, "CPU x/TCG"));
        var found = VcpuThreads.Find(ProcRoot, 700);
        Assert.Equal(new[] { (706, 0), (705, 1) }, found.Select(v => (v.ThreadId, v.Index)));
        Assert.Equal("CPU 0/KVM", found[0].Name);
        Assert.Empty(VcpuThreads.Find(ProcRoot, 999));   // no such process
    }

    [Fact]
    public void SandboxAddress_FollowsKatasNames()
    {
        var a = new SandboxAddress("/kubepods/pod1", "abc");
        Assert.Equal("/kubepods/pod1/abc", a.SandboxPath);
        Assert.Equal("/kubepods/pod1/kata_abc", a.Sandbox.CgroupPath);
        Assert.Equal("/kata_overhead/abc", a.Overhead.CgroupPath);   // sandbox.go resCtrlKataOverheadID, no kata_ prefix
        Assert.True(a.Overhead.Literal);
        Assert.Equal("/vc/pod1/kata_abc", new SandboxAddress("pod1", "abc").Sandbox.CgroupPath);
        Assert.Equal("/t/ovh/abc", new SandboxAddress("/pod", "abc", "/t/ovh/").Overhead.CgroupPath);
    }

    [Theory]
    [InlineData("/pod", "a/b")]
    [InlineData("/pod", "..")]
    [InlineData("/pod", "")]
    [InlineData("", "abc")]
    [InlineData("system.slice:kata:x", "abc")]
    public void SandboxAddress_RefusesWhatNamesNoSandbox(string pod, string id) =>
        Assert.Equal(ErrorIds.InvalidCgroupPath, Assert.Throws<CgroupException>(() => new SandboxAddress(pod, id).Sandbox).ErrorId);

    [Fact]
    public void FromLiteral_KeepsThePathAsItIs_ButInsideTheHierarchy()
    {
        Assert.Equal("/kata_overhead/x", CgroupTarget.FromLiteral("kata_overhead//x/").CgroupPath);
        Assert.Equal("/x", CgroupTarget.FromLiteral("/../../x").CgroupPath);
        Assert.Equal(ErrorIds.InvalidCgroupPath, Assert.Throws<CgroupException>(() => CgroupTarget.FromLiteral("/")).ErrorId);
    }

    [Fact]
    public void Listing_DoesNotOfferKatasOverheadParentAsACgroup()
    {
        _fake.MakeCgroupEverywhere("/kata_overhead/sb1");
        _fake.MakeCgroupEverywhere("/pod/kata_sb1");
        var found = _fake.V1Driver().Find("/").Select(t => t.CgroupPath).ToList();
        Assert.Equal(new[] { "/pod/kata_sb1" }, found);
    }

    [Fact]
    public void AddThreads_OnASystemdScope_IsThreadPlacementUnsupported()
    {
        var manager = new CgroupManager(_fake.Probe());
        var scope = CgroupTarget.Resolve("system.slice:kata:x");
        var e = Assert.Throws<CgroupException>(() => manager.AddThreads(scope, new[] { 1 }, new RecordingLog()));
        Assert.Equal(ErrorIds.ThreadPlacementUnsupported, e.ErrorId);
    }
}
