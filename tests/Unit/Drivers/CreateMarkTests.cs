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
/// Crash consistency on a fake root (CreateMark): the order of mkdirs, the mark and the writes; what a reader concludes
/// from a mark or a missing hierarchy; New, Add and Set on an unfinished cgroup; the listing and the process union over
/// every hierarchy. The fake's directories live on the test machine's file system, which stores trusted.* attributes
/// for root as cgroupfs does (the suite runs as root).
/// </summary>
public sealed class CreateMarkTests : IDisposable
{
    private static readonly CgroupTarget Target = CgroupTarget.Resolve("/kubepods/pod1/sandbox1");
    private const string Leaf = "/kubepods/pod1/kata_sandbox1";

    private readonly FakeCgroupRoot _fake = FakeCgroupRoot.Create();

    public void Dispose() => _fake.Dispose();

    private CgroupV1Driver Driver() => _fake.V1Driver();

    private CgroupManager Manager() => CgroupManager.ForHost(_fake.Options());

    /// <summary>Sets the mark as a killed create leaves it: naming a process that no longer runs.</summary>
    private void Mark(string mount = "cpuset") =>
        Assert.Equal(0, Xattr.TrySet(_fake.Dir(mount, Leaf), CreateMark.Name, $"pid {int.MaxValue} start 1"));

    /// <summary>Sets the mark as a create running in this process sets it (a driver registers the fake's hierarchies first).</summary>
    private void MarkAsRunning()
    {
        Assert.Equal(0, CreateMark.Set(_fake.Fs(_fake.Probe()), _fake.Dir("cpuset", Leaf), new RecordingLog()));
    }

    private bool Marked(string mount = "cpuset") => CreateMark.IsSet(_fake.Dir(mount, Leaf));

    [Fact]
    public void Create_MarksTheFirstHierarchysLeafBeforeAnyOtherMkdir_AndClearsItAsTheLastStep()
    {
        var log = new RecordingLog();
        Driver().Create(Target, CgroupPlan.Empty.ForCreate(), Array.Empty<int>(), log);
        var steps = log.VerboseMessages;

        int mkdirFirst = steps.IndexOf("mkdir " + _fake.Dir("cpuset", Leaf));
        int mark = steps.IndexOf($"setxattr {_fake.Dir("cpuset", Leaf)} {CreateMark.Name}");
        int mkdirSecond = steps.IndexOf("mkdir " + _fake.Dir("devices", Leaf));
        Assert.True(mkdirFirst >= 0 && mark > mkdirFirst && mkdirSecond > mark, string.Join("\n", steps));
    }

    [Fact]
    public void Create_CompleteCgroupHasNoMark_AndTheMarkIsRemovedAfterTheLastWrite()
    {
        var log = new RecordingLog();
        Driver().Create(Target, CgroupPlan.Empty.ForCreate(), Array.Empty<int>(), log);

        Assert.False(Marked());
        var steps = log.VerboseMessages;
        int set = steps.FindIndex(m => m.StartsWith("setxattr ", StringComparison.Ordinal));
        int clear = steps.FindIndex(m => m.StartsWith("removexattr ", StringComparison.Ordinal));
        Assert.True(set >= 0 && clear > set);
        Assert.Equal(steps.Count - 1, clear);   // nothing after it
        var read = Driver().Read(Target);
        Assert.False(read.Unfinished);
        Assert.False(Driver().Check(Target).Unfinished);
    }

    [Fact]
    public void Create_FailedWrite_RollsBackTheMarkedDirectoryLast()
    {
        var log = new RecordingLog();
        var plan = new CgroupPlan(new[] { new CgroupWrite("pids", "pids.max", "10") }, Array.Empty<string>());
        Assert.Throws<CgroupException>(() => Driver().Create(Target, plan.ForCreate(), Array.Empty<int>(), log));

        var rmdirs = log.VerboseMessages.Where(m => m.StartsWith("rmdir ", StringComparison.Ordinal)).ToList();
        Assert.Equal("rmdir " + _fake.Dir("cpuset", "/kubepods"), rmdirs[^1]);
        Assert.Contains("rmdir " + _fake.Dir("cpuset", Leaf), rmdirs);
        Assert.False(Directory.Exists(_fake.Dir("cpuset", Leaf)));
    }

    [Fact]
    public void Read_AMarkedCgroupIsUnfinished_EvenWhenEveryDirectoryIsThere()
    {
        _fake.MakeCgroupEverywhere(Leaf);
        Mark();

        var s = Driver().Read(Target);
        Assert.Empty(s.MissingIn);
        Assert.True(s.Marked);
        Assert.True(s.Unfinished);
        var c = Driver().Check(Target);
        Assert.True(c.Unfinished);
        Assert.Contains(CreateMark.Name, c.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_AMarkInAnotherHierarchyIsNotTheCreateMark()
    {
        _fake.MakeCgroupEverywhere(Leaf);
        Mark("memory");
        Assert.False(Driver().Read(Target).Unfinished);
    }

    [Fact]
    public void Read_ACgroupMissingInAHierarchyIsUnfinishedWithoutAMark()
    {
        _fake.MakeCgroupEverywhere(Leaf);
        Directory.Delete(_fake.Dir("cpuset", Leaf));   // what a removal killed after its first rmdir left before

        var s = Driver().Read(Target);
        Assert.Equal(new[] { "cpuset" }, s.MissingIn);
        Assert.False(s.Marked);
        Assert.True(s.Unfinished);
        Assert.Contains("missing in: cpuset", Driver().Check(Target).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_AbsentCgroupIsNeitherThereNorUnfinished()
    {
        var c = Driver().Check(Target);
        Assert.False(c.Exists);
        Assert.False(c.Unfinished);
        Assert.Null(c.Reason);
    }

    [Fact]
    public void Manager_Create_OnAnUnfinishedCgroup_IsCgroupUnfinishedAndChangesNothing()
    {
        _fake.MakeCgroupEverywhere(Leaf);
        Mark();
        var before = _fake.Snapshot();
        var manager = Manager();

        var e = Assert.Throws<CgroupException>(() => manager.Create(manager.Resolve("/kubepods/pod1/sandbox1"), CgroupPlan.Empty, new RecordingLog()));
        Assert.Equal(ErrorIds.CgroupUnfinished, e.ErrorId);
        Assert.Contains("Remove-KataCgroup", e.Message, StringComparison.Ordinal);
        Assert.Contains("New-KataCgroup -Force", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, _fake.Snapshot());
        Assert.True(Marked());
    }

    [Fact]
    public void Manager_Create_CompleteUnfinished_MakesTheMissingDirectoriesWritesAgainAndClearsTheMark()
    {
        _fake.MakeCgroupEverywhere(Leaf);
        Directory.Delete(_fake.Dir("memory", Leaf));
        _fake.Touch("pids", Leaf, "pids.max");   // a fake file is not truncated as a kernel file's value is replaced
        Mark();
        var manager = Manager();
        var log = new RecordingLog();
        var plan = new CgroupPlan(new[] { new CgroupWrite("pids", "pids.max", "10") }, Array.Empty<string>());

        var created = manager.Create(manager.Resolve("/kubepods/pod1/sandbox1"), plan, log, completeUnfinished: true);

        Assert.False(created.Value!.Unfinished);
        Assert.True(Directory.Exists(_fake.Dir("memory", Leaf)));
        Assert.Equal("10", File.ReadAllText(_fake.Dir("pids", Leaf) + "/pids.max"));
        Assert.False(Marked());
        Assert.Contains(log.Warnings, w => w.Contains("completing cgroup", StringComparison.Ordinal));
    }

    [Fact]
    public void Manager_Create_LosingTheRaceToACreateInProgress_IsCgroupAlreadyExists_EvenWithForce()
    {
        _fake.MakeCgroupEverywhere(Leaf);
        MarkAsRunning();   // the mark names this process, alive: another runspace's create, not a killed one
        var manager = Manager();
        Assert.True(manager.DriverFor(manager.Resolve("/kubepods/pod1/sandbox1")).Check(manager.Resolve("/kubepods/pod1/sandbox1")).InProgress);
        foreach (var force in new[] { false, true })
        {
            var e = Assert.Throws<CgroupException>(() =>
                manager.Create(manager.Resolve("/kubepods/pod1/sandbox1"), CgroupPlan.Empty, new RecordingLog(), completeUnfinished: force));
            Assert.Equal(ErrorIds.CgroupAlreadyExists, e.ErrorId);
        }
        Assert.True(Marked());
    }

    [Fact]
    public void Manager_Create_CompleteUnfinished_LeavesACompleteCgroupAlone()
    {
        _fake.MakeCgroupEverywhere(Leaf);
        var manager = Manager();
        var e = Assert.Throws<CgroupException>(() =>
            manager.Create(manager.Resolve("/kubepods/pod1/sandbox1"), CgroupPlan.Empty, new RecordingLog(), completeUnfinished: true));
        Assert.Equal(ErrorIds.CgroupAlreadyExists, e.ErrorId);
    }

    [Fact]
    public void Manager_AddProcesses_IntoAnUnfinishedCgroup_IsRefusedUnlessForced()
    {
        foreach (var m in _fake.Mounts) _fake.Touch(m, Leaf, "cgroup.procs");
        Mark();
        var manager = Manager();
        var target = manager.Resolve("/kubepods/pod1/sandbox1");

        var e = Assert.Throws<CgroupException>(() => manager.AddProcesses(target, new[] { Environment.ProcessId }, new RecordingLog()));
        Assert.Equal(ErrorIds.CgroupUnfinished, e.ErrorId);
        Assert.All(_fake.Mounts, m => Assert.Equal("", File.ReadAllText(_fake.Dir(m, Leaf) + "/cgroup.procs")));

        var log = new RecordingLog();
        var added = manager.AddProcesses(target, new[] { Environment.ProcessId }, log, force: true);
        Assert.True(added.Value!.Single().Added);
        Assert.Contains(log.Warnings, w => w.Contains("unfinished", StringComparison.Ordinal) && w.Contains(CreateMark.Name, StringComparison.Ordinal));
    }

    [Fact]
    public void Manager_Update_OnAHalfMadeCgroup_WarnsNamingTheMissingHierarchies()
    {
        _fake.MakeCgroupEverywhere(Leaf);
        _fake.Touch("pids", Leaf, "pids.max", "max");
        Directory.Delete(_fake.Dir("unified", Leaf));
        Directory.Delete(_fake.Dir("freezer", Leaf));
        var manager = Manager();
        var target = manager.Resolve("/kubepods/pod1/sandbox1");
        var log = new RecordingLog();

        manager.Update(target, new CgroupPlan(new[] { new CgroupWrite("pids", "pids.max", "10") }, Array.Empty<string>()), log, readBack: false);

        Assert.Contains(log.Warnings, w => w.Contains("unfinished", StringComparison.Ordinal) && w.Contains("freezer", StringComparison.Ordinal)
                                           && w.Contains("unified", StringComparison.Ordinal));
    }

    [Fact]
    public void Find_ListsACgroupThatIsLeftOnlyInALaterHierarchy()
    {
        _fake.MakeCgroup("memory", Leaf);                          // half removed: every other hierarchy done
        _fake.MakeCgroup("unified", "/kubepods/pod2/kata_other");  // half made before anything else... by hand
        _fake.MakeCgroupEverywhere("/kubepods/pod3/kata_whole");

        var found = Driver().Find("/kubepods").Select(t => t.CgroupPath).ToList();
        Assert.Equal(new[] { Leaf, "/kubepods/pod2/kata_other", "/kubepods/pod3/kata_whole" }, found);
    }

    [Fact]
    public void Pids_AreTheUnionOverEveryHierarchy_TheUnifiedTreeIncluded()
    {
        foreach (var m in _fake.Mounts) _fake.Touch(m, Leaf, "cgroup.procs", m == "devices" ? "10\n" : "");
        File.WriteAllText(_fake.Dir("unified", Leaf) + "/cgroup.procs", "30\n");
        File.WriteAllText(_fake.Dir("memory", Leaf) + "/cgroup.procs", "20\n10\n");

        Assert.Equal(new[] { 10, 20, 30 }, Driver().GetProcesses(Target));
        Assert.Equal(new[] { 10, 20, 30 }, Driver().Read(Target).Pids);
    }

    /// <summary>A fake /proc: each task of <paramref name="tgid"/> with its /proc/pid/task/tid/cgroup lines.</summary>
    private void FakeTask(int tgid, int tid, params string[] lines)
    {
        var dir = Path.Combine(_fake.Options().ProcRoot, tgid.ToString(System.Globalization.CultureInfo.InvariantCulture), "task",
            tid.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "cgroup"), string.Join("\n", lines) + "\n");
    }

    [Fact]
    public void ProcessIndex_GivesTheUnionFromProc_ThreadsCountForTheirProcess()
    {
        _fake.MakeCgroupEverywhere(Leaf);
        FakeTask(100, 100, "5:memory:" + Leaf, "3:cpu,cpuacct:/", "0::/");
        FakeTask(100, 101, "5:memory:/", "0::" + Leaf);            // a thread elsewhere: the process counts
        FakeTask(200, 200, "1:name=systemd:" + Leaf, "0::/other");
        FakeTask(300, 300, "5:memory:/kubepods", "0::/");           // not in it
        Directory.CreateDirectory(Path.Combine(_fake.Options().ProcRoot, "self"));
        var driver = Driver();

        var index = driver.IndexProcesses();
        Assert.NotNull(index);
        Assert.Equal(new[] { 100, 200 }, driver.Read(Target, index).Pids);
    }

    [Fact]
    public void ReadAll_ManyCgroups_TakesThePidsFromOnePassOverProc_WhenThatIsFewerReads()
    {
        var manager = Manager();
        var targets = Enumerable.Range(0, 20).Select(i => manager.Resolve($"/kubepods/c{i}")).ToList();
        foreach (var t in targets) _fake.MakeCgroupEverywhere(t.CgroupPath);
        FakeTask(100, 100, "0::/kubepods/kata_c7");                  // only in the unified tree
        File.WriteAllText(Path.Combine(_fake.Options().ProcRoot, "loadavg"), "0.00 0.01 0.05 1/3 100\n");

        var read = manager.ReadAll(targets, s => s).ToList();
        Assert.Equal(new[] { 100 }, read[7].Value!.Pids);
        Assert.All(read.Where((_, i) => i != 7), r => Assert.Empty(r.Value!.Pids));
    }

    /// <summary>A cgroup in every hierarchy whose freezer reads <paramref name="freezerState"/>, with the kill mark set.</summary>
    private void KillMarked(string freezerState)
    {
        _fake.MakeCgroupEverywhere(Leaf);
        _fake.Touch("freezer", Leaf, "freezer.state", freezerState);
        KillMark.Set(_fake.Fs(_fake.Probe()), _fake.Dir("freezer", Leaf), new RecordingLog());
    }

    [Fact]
    public void KillMark_OnAFrozenCgroup_IsUnfinishedSayingWhy_AndNewForceRefusesIt()
    {
        KillMarked("FROZEN");

        var s = Driver().Read(Target);
        Assert.True(s.KillInterrupted);
        Assert.True(s.Unfinished);
        Assert.Contains(KillMark.Name, s.UnfinishedReason, StringComparison.Ordinal);
        Assert.Contains("frozen", s.UnfinishedReason, StringComparison.Ordinal);
        var c = Driver().Check(Target);
        Assert.True(c.KillInterrupted);
        Assert.Equal(s.UnfinishedReason, c.Reason);

        var manager = Manager();
        var e = Assert.Throws<CgroupException>(() =>
            manager.Create(manager.Resolve("/kubepods/pod1/sandbox1"), CgroupPlan.Empty, new RecordingLog(), completeUnfinished: true));
        Assert.Equal(ErrorIds.CgroupUnfinished, e.ErrorId);
        Assert.DoesNotContain("New-KataCgroup -Force", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void KillMark_OnAThawedCgroup_MeansNothing()
    {
        KillMarked("THAWED");
        Assert.False(Driver().Read(Target).Unfinished);
        Assert.False(Driver().Check(Target).Unfinished);
    }

    [Fact]
    public void RemovedUnder_TellsARemovalFromAFileThisKernelLacks()
    {
        _fake.MakeCgroupEverywhere(Leaf);
        var dir = _fake.Dir("pids", Leaf);
        var fs = _fake.Fs(_fake.Probe());
        Assert.False(CgroupTree.RemovedUnder(fs, Path.Combine(dir, "pids.nope"), Errno.ENOENT));   // directory there, file never was
        _fake.Touch("pids", Leaf, "pids.max", "max");
        Assert.True(CgroupTree.RemovedUnder(fs, Path.Combine(dir, "pids.max"), Errno.ENOENT));    // back again: removed and made anew
        Assert.True(CgroupTree.RemovedUnder(fs, Path.Combine(dir, "pids.max"), Errno.ENODEV));    // kernfs: the node it opened was deactivated
        var throttle = _fake.Touch("blkio", Leaf, "blkio.throttle.read_bps_device");
        Assert.False(CgroupTree.RemovedUnder(fs, throttle, Errno.ENODEV));                         // a block device the host does not have
        Directory.Delete(dir, recursive: true);
        Assert.True(CgroupTree.RemovedUnder(fs, Path.Combine(dir, "pids.max"), Errno.ENOENT));    // the directory is gone
        Assert.False(CgroupTree.RemovedUnder(fs, Path.Combine(dir, "pids.max"), Errno.EINVAL));
    }

    /// <summary>A create that makes <paramref name="dir"/>, then meets <paramref name="meanwhile"/> and fails with <paramref name="failure"/>.</summary>
    private CgroupException FailedCreate(string dir, Action meanwhile, CgroupException failure, Func<bool>? lost = null) =>
        Assert.Throws<CgroupException>(() => CgroupTree.Transactional(_fake.Fs(_fake.Probe()), Target, new RecordingLog(), created =>
        {
            Directory.CreateDirectory(dir);
            created.Add(dir);
            meanwhile();
            throw failure;
        }, lost));

    [Fact]
    public void Create_WhoseDirectoryAnotherProcessRemoved_IsCgroupRemovedConcurrently()
    {
        var dir = _fake.Dir("pids", Leaf);
        // what a Remove-KataCgroup in another process does meanwhile
        var e = FailedCreate(dir, () => Directory.Delete(dir), CgroupFs.WriteFailed(Path.Combine(dir, "pids.max"), "10", Errno.ENOENT));
        Assert.Equal(ErrorIds.CgroupRemovedConcurrently, e.ErrorId);
        Assert.Contains("removed by another process", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_WhoseMarkAnotherProcessTook_IsCgroupRemovedConcurrently_AndLeavesTheOthersDirectories()
    {
        var dir = _fake.Dir("devices", Leaf);
        // removed and made again by another create meanwhile: the devices list read back is not what was written
        var e = FailedCreate(dir, () => { }, new CgroupException(ErrorIds.DevicesMismatch, CgroupErrorKind.WriteFailed, "devices.list has [a *:* rwm]"),
            lost: () => true);
        Assert.Equal(ErrorIds.CgroupRemovedConcurrently, e.ErrorId);
        Assert.True(Directory.Exists(dir));   // not this create's any more: not rolled back
    }

    // "": still empty when read again, a cpuset to set CPUs on; "0-1": another process's create wrote the cpuset
    // values between the kernel's refusal and the read, so the cgroup was unfinished at the move
    [Theory]
    [InlineData("", ErrorIds.CpusetEmpty, "cpuset.cpus is empty")]
    [InlineData("0-1", ErrorIds.CgroupUnfinished, "another process was creating it")]
    public void AddOutcome_Enospc_ReadsTheCpusetAgain(string cpus, string id, string says)
    {
        _fake.MakeCgroupEverywhere(Leaf);
        _fake.Touch("cpuset", Leaf, "cpuset.cpus", cpus);
        _fake.Touch("cpuset", Leaf, "cpuset.mems", "0");
        var o = CgroupTree.AddOutcome(_fake.Fs(_fake.Probe()), 42, Errno.ENOSPC, _fake.Dir("cpuset", Leaf));
        Assert.False(o.Added);
        Assert.Equal(id, o.ErrorId);
        Assert.Contains(says, o.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("cpuset.mems is", o.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void EmptyCpusetOfUnfinished_SaysTheCgroupIsBeingCreated_AndKeepsOtherOutcomes()
    {
        var refused = new ProcessOutcome(42, false, "failed to move process 42: ENOSPC: its cpuset.cpus is empty", ErrorId: ErrorIds.CpusetEmpty);
        var vanished = new ProcessOutcome(43, false, "process 43 does not exist", Vanished: true);
        var inProgress = new CgroupCompleteness(true, Marked: true, MissingIn: ["memory"], InProgress: true);
        var outcomes = CgroupManager.EmptyCpusetOfUnfinished(Target, [refused, vanished, new ProcessOutcome(44, true)], inProgress);
        Assert.Equal(ErrorIds.CgroupUnfinished, outcomes[0].ErrorId);
        Assert.Contains("another process is creating it now", outcomes[0].Error, StringComparison.Ordinal);
        Assert.Contains("New-KataCgroup -Force", outcomes[0].Error, StringComparison.Ordinal);
        Assert.DoesNotContain("Set-KataCgroupResource", outcomes[0].Error, StringComparison.Ordinal);
        Assert.Equal(vanished, outcomes[1]);
        Assert.True(outcomes[2].Added);
    }

    [Fact]
    public void AddOutcome_Enospc_WhoseDirectoryIsGone_IsCgroupNotFound()
    {
        var o = CgroupTree.AddOutcome(_fake.Fs(_fake.Probe()), 42, Errno.ENOSPC, _fake.Dir("cpuset", Leaf));
        Assert.Equal(ErrorIds.CgroupNotFound, o.ErrorId);
        Assert.Contains("removed by another process", o.Error, StringComparison.Ordinal);
    }
}
