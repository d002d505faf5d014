using KataCgroups.Drivers;
using KataCgroups.Drivers.V1;
using KataCgroups.Host;
using KataCgroups.Paths;
using KataCgroups.Tests.Support;

namespace KataCgroups.Tests.Drivers;

/// <summary>
/// The v1 hierarchy layout and the per-read helpers of the v1 driver's fast paths, on a fake root: runc's order, the
/// multi-hierarchy operations, a read that stats only where nothing was read, and the blkio weight file hint.
/// </summary>
public sealed class HierarchyLayoutTests : IDisposable
{
    private readonly FakeCgroupRoot _fake = FakeCgroupRoot.Create();
    private const string Cgroup = "/kctest/kata_layout";

    public void Dispose() => _fake.Dispose();

    private HierarchyLayout Layout(CgroupMode mode = CgroupMode.Hybrid)
    {
        var host = _fake.Probe(mode);
        return new HierarchyLayout(host, _fake.Fs(host));
    }

    [Fact]
    public void TheHierarchies_FollowRuncsOrder_WithTheUnifiedTreeLastOnAHybridHost()
    {
        var layout = Layout();
        Assert.Equal(new[] { "cpuset", "devices", "memory", "cpu,cpuacct", "pids", "blkio", "hugetlb", "net_cls,net_prio", "freezer", "systemd", "unified" },
            layout.All.Select(h => Path.GetFileName(h.MountPoint)));
        Assert.True(layout.TryGetIndex("cpu", out int cpu) && layout.TryGetIndex("cpuacct", out int cpuacct) && cpu == cpuacct);
        Assert.Equal("unified", layout.Row(layout.RowCount - 1).Controller);
        Assert.DoesNotContain(Layout(CgroupMode.Legacy).All, h => h.IsUnified);
    }

    [Theory]
    [InlineData(new string[0], false, false, false)]
    [InlineData(new[] { "memory" }, true, false, true)]
    [InlineData(new[] { "memory", "pids" }, true, false, true)]
    public void ExistsEverywhere_TellsAHalfMadeCgroupFromAWholeOne(string[] made, bool anywhere, bool everywhere, bool inMemory)
    {
        var layout = Layout();
        foreach (var m in made) _fake.MakeCgroup(m, Cgroup);
        Assert.Equal((anywhere, everywhere, inMemory),
            (layout.ExistsAnywhere(Cgroup), layout.ExistsEverywhere(Cgroup), layout.ExistsEverywhere(Cgroup, h => h.Controllers.Contains("memory"))));
        _fake.MakeCgroupEverywhere(Cgroup);
        Assert.True(layout.ExistsEverywhere(Cgroup));
    }

    [Fact]
    public void MakeDirectories_MakesOnlyThePickedHierarchies_AndReportsWhatItMade()
    {
        var layout = Layout();
        _fake.MakeCgroup("freezer", "/kctest");
        var made = new List<string>();
        layout.MakeDirectories(CgroupTarget.FromCgroupPath(Cgroup)!, made, new RecordingLog(), h => h.Controllers.Contains("memory") || h.Controllers.Contains("freezer"));
        Assert.True(Directory.Exists(_fake.Dir("memory", Cgroup)));
        Assert.True(Directory.Exists(_fake.Dir("freezer", Cgroup)));
        Assert.False(Directory.Exists(_fake.Dir("pids", Cgroup)));
        Assert.Equal(new[] { _fake.Dir("memory", "/kctest"), _fake.Dir("memory", Cgroup), _fake.Dir("freezer", Cgroup) }, made);
    }

    [Fact]
    public void Processes_AreTheSortedUnionOverEveryHierarchy()
    {
        var layout = Layout();
        _fake.MakeCgroupEverywhere(Cgroup);
        _fake.Touch("memory", Cgroup, "cgroup.procs", "30\n10\n");
        _fake.Touch("pids", Cgroup, "cgroup.procs", "20\n10\n");
        Assert.Equal(new[] { 10, 20, 30 }, layout.Processes(Cgroup));
    }

    [Fact]
    public void HierarchyReads_StatOnlyWhereNothingWasRead_AndReportUnlimitedTheOciWay()
    {
        var layout = Layout();
        _fake.MakeCgroup("memory", Cgroup);
        _fake.Touch("memory", Cgroup, "memory.limit_in_bytes", "9223372036854771712\n");
        _fake.Touch("memory", Cgroup, "memory.soft_limit_in_bytes", "1048576\n");
        var reads = new HierarchyReads(layout, Cgroup);
        layout.TryGetIndex("memory", out int memory);
        layout.TryGetIndex("pids", out int pids);
        Assert.Equal(-1, reads.Number("memory", "memory.limit_in_bytes"));
        Assert.Equal(1048576, reads.Number("memory", "memory.soft_limit_in_bytes"));
        Assert.Null(reads.Number("pids", "pids.max"));
        Assert.Null(reads.Text("rdma", "rdma.max"));   // not mounted here
        Assert.True(reads.IsThere(memory));
        Assert.False(reads.IsThere(pids));             // nothing read there, not stat'ed yet
        Assert.False(reads.Confirm(pids));             // the stat: no directory
        _fake.MakeCgroup("pids", Cgroup);
        Assert.False(reads.Confirm(pids));             // asked once per read, then known
        Assert.True(new HierarchyReads(layout, Cgroup).Confirm(pids));
        Assert.Equal(_fake.Dir("memory", Cgroup), reads.Directory(memory));
    }

    [Fact]
    public void BlkioWeightFile_LearnsWhichFileTheHostHas_AndStillFindsTheOther()
    {
        var layout = Layout();
        _fake.MakeCgroup("blkio", "/kctest/kata_bfq");
        _fake.Touch("blkio", "/kctest/kata_bfq", "blkio.bfq.weight", "300\n");
        _fake.MakeCgroup("blkio", "/kctest/kata_both");
        _fake.Touch("blkio", "/kctest/kata_both", "blkio.weight", "100\n");
        _fake.Touch("blkio", "/kctest/kata_both", "blkio.bfq.weight", "200\n");
        var hint = new BlkioWeightFile();
        Assert.Equal(100, hint.Read(new HierarchyReads(layout, "/kctest/kata_both")));   // CFQ's first by default
        Assert.Equal(300, hint.Read(new HierarchyReads(layout, "/kctest/kata_bfq")));    // the other when missing
        Assert.Equal(200, hint.Read(new HierarchyReads(layout, "/kctest/kata_both")));   // now BFQ's first
        Assert.Null(hint.Read(new HierarchyReads(layout, "/kctest/kata_none")));
    }
}
