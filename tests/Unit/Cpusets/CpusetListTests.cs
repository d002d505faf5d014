using KataCgroups.Cpusets;
using KataCgroups.Errors;

namespace KataCgroups.Tests.Cpusets;

/// <summary>cpuset lists and the subset rules a cpuset update is checked against (cgroup-v1/cpusets.rst, cgroup-v2.rst).</summary>
public class CpusetListTests
{
    [Theory]
    [InlineData("0-3,7", "0-3,7")]
    [InlineData("3,0,1,2", "0-3")]
    [InlineData(" 1 , 0 ", "0-1")]
    [InlineData("5", "5")]
    [InlineData("", "")]
    [InlineData("0-0,2-2,4", "0,2,4")]
    public void Parses_and_prints_like_the_kernel(string text, string expected) =>
        Assert.Equal(expected, CpusetList.TryParse(text)!.ToString());

    [Theory]
    [InlineData("a")]
    [InlineData("3-1")]
    [InlineData("1-2-3")]
    [InlineData("-1")]
    public void Rejects_what_is_not_a_list(string text) => Assert.Null(CpusetList.TryParse(text));

    private static CpusetBounds Bounds(string requested, string parent, params (string, string)[] children) =>
        new("cpuset.cpus", requested, "/sys/fs/cgroup/cpuset/pod", parent, "cpuset.cpus", "0-1", children);

    [Theory]
    [InlineData("0", "0-1")]
    [InlineData("1", "0-1")]
    [InlineData("0-1", "0-1")]
    [InlineData("0", "")]       // an empty parent (a v1 cpuset nobody set up yet) constrains nothing here
    public void A_subset_passes(string requested, string parent) => CpusetCheck.Check(Bounds(requested, parent));

    [Fact]
    public void Not_within_the_parent_is_CpusetNotSubset_naming_the_parent()
    {
        var e = Assert.Throws<CgroupException>(() => CpusetCheck.Check(Bounds("1", "0")));
        Assert.Equal(ErrorIds.CpusetNotSubset, e.ErrorId);
        Assert.Equal("cpuset.cpus '1' is not within the parent cgroup's CPUs: /sys/fs/cgroup/cpuset/pod/cpuset.cpus is '0', so CPU 1 cannot be given; a cpuset may only use what its parent has", e.Message);
    }

    [Fact]
    public void A_cpu_the_host_does_not_have_says_so()
    {
        var e = Assert.Throws<CgroupException>(() => CpusetCheck.Check(Bounds("0,7", "0-1")));
        Assert.Equal(ErrorIds.CpusetNotSubset, e.ErrorId);
        Assert.Contains("CPU 7 does not exist or is offline on this host (online: 0-1)", e.Message);
    }

    [Fact]
    public void Shrinking_below_a_child_is_CpusetBusy_naming_the_child()
    {
        var e = Assert.Throws<CgroupException>(() => CpusetCheck.Check(Bounds("0", "0-1", ("/sys/fs/cgroup/cpuset/pod/sb/a", "0"), ("/sys/fs/cgroup/cpuset/pod/sb/b", "0-1"))));
        Assert.Equal(ErrorIds.CpusetBusy, e.ErrorId);
        Assert.Equal(CgroupErrorKind.ResourceBusy, e.Kind);
        Assert.Contains("child cgroup /sys/fs/cgroup/cpuset/pod/sb/b uses CPU 1 (cpuset.cpus '0-1')", e.Message);
    }

    [Fact]
    public void Memory_nodes_are_named_as_such()
    {
        var e = Assert.Throws<CgroupException>(() => CpusetCheck.Check(new CpusetBounds("cpuset.mems", "1", "/p", "0", "cpuset.mems", "0", Array.Empty<(string, string)>())));
        Assert.Contains("not within the parent cgroup's memory nodes", e.Message);
        Assert.Contains("memory node 1 does not exist or is offline on this host (online: 0)", e.Message);
    }

    [Fact]
    public void A_malformed_request_is_InvalidResourceValue()
    {
        var e = Assert.Throws<CgroupException>(() => CpusetCheck.Check(Bounds("x", "0-1")));
        Assert.Equal(ErrorIds.InvalidResourceValue, e.ErrorId);
    }
}
