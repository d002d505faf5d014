using KataCgroups.Errors;
using KataCgroups.Paths;

namespace KataCgroups.Tests.Paths;

/// <summary>Systemd-form paths: recognition, slice expansion, unit names (opencontainers/cgroups systemd/common.go).</summary>
public class SystemdPathTests
{
    [Theory]
    [InlineData("system.slice:kata:abc", true)]
    [InlineData("kubepods-besteffort.slice:cri-containerd:abc", true)]   // '-' allowed (earlier Kata bug, kata ad5484ba)
    [InlineData("a.slice:b:c", true)]
    [InlineData("system.slice:abc", false)]
    [InlineData("system.slice::abc", false)]
    [InlineData(":kata:abc", false)]
    [InlineData("system.slice:kata:", false)]
    [InlineData("system:kata:abc", false)]
    [InlineData("system.slice:kata:abc:def", false)]
    [InlineData("/kubepods/pod1/abc", false)]
    [InlineData("", false)]
    public void IsSystemdForm(string path, bool expected) =>
        Assert.Equal(expected, SystemdPath.IsSystemdForm(path));

    [Theory]
    [InlineData("a.slice", "/a.slice")]
    [InlineData("a-b.slice", "/a.slice/a-b.slice")]
    [InlineData("a-b-c.slice", "/a.slice/a-b.slice/a-b-c.slice")]
    [InlineData("kubepods-besteffort-pod1.slice", "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice")]
    [InlineData("-.slice", "/")]
    [InlineData("system.slice", "/system.slice")]
    public void ExpandSlice(string slice, string expected) =>
        Assert.Equal(expected, SystemdPath.ExpandSlice(slice));

    [Theory]
    [InlineData("a--b.slice")]
    [InlineData("-a.slice")]
    [InlineData("a-.slice")]
    [InlineData(".slice")]
    [InlineData("a")]
    [InlineData("a.scope")]
    [InlineData("a/b.slice")]
    [InlineData("")]
    [InlineData("--.slice")]
    public void ExpandSlice_Rejects(string slice)
    {
        var e = Assert.Throws<CgroupException>(() => SystemdPath.ExpandSlice(slice));
        Assert.Equal(ErrorIds.MalformedSystemdPath, e.ErrorId);
        Assert.Equal(CgroupErrorKind.InvalidArgument, e.Kind);
    }

    [Fact]
    public void Parse_SplitsTheParts()
    {
        var sd = SystemdPath.Parse("kubepods-besteffort.slice:cri-containerd:abc");
        Assert.Equal("kubepods-besteffort.slice", sd.Slice);
        Assert.Equal("cri-containerd", sd.Prefix);
        Assert.Equal("abc", sd.Name);
        Assert.Equal("kubepods-besteffort.slice:cri-containerd:abc", sd.ToString());
    }

    [Theory]
    [InlineData("system.slice:docker:abc", "docker-abc.scope")]
    [InlineData("kubepods-besteffort.slice:cri-containerd:abc", "cri-containerd-abc.scope")]
    [InlineData("system.slice:kata:sandbox.slice", "sandbox.slice")]
    public void UnitName(string path, string expected) =>
        Assert.Equal(expected, SystemdPath.Parse(path).UnitName);

    [Theory]
    [InlineData("system.slice:kata:abc", "/system.slice", "/system.slice/kata-abc.scope")]
    [InlineData("kubepods-besteffort.slice:cri-containerd:abc", "/kubepods.slice/kubepods-besteffort.slice",
        "/kubepods.slice/kubepods-besteffort.slice/cri-containerd-abc.scope")]
    [InlineData("-.slice:kata:abc", "/", "/kata-abc.scope")]
    [InlineData("system.slice:kata:machine-sandbox.slice", "/system.slice", "/machine.slice/machine-sandbox.slice")]
    public void Directories(string path, string sliceDirectory, string cgroupDirectory)
    {
        var sd = SystemdPath.Parse(path);
        Assert.Equal(sliceDirectory, sd.SliceDirectory);
        Assert.Equal(cgroupDirectory, sd.CgroupDirectory);
    }

    [Fact]
    public void Parse_RejectsNonSystemdForm()
    {
        var e = Assert.Throws<CgroupException>(() => SystemdPath.Parse("/kubepods/abc"));
        Assert.Equal(ErrorIds.MalformedSystemdPath, e.ErrorId);
    }

    [Fact]
    public void CgroupTarget_ResolvesSystemdFormToTheUnitDirectory()
    {
        var t = CgroupTarget.Resolve("kubepods-besteffort.slice:cri-containerd:abc");
        Assert.Equal("kubepods-besteffort.slice:cri-containerd:abc", t.RequestedPath);
        Assert.Equal("/kubepods.slice/kubepods-besteffort.slice/cri-containerd-abc.scope", t.CgroupPath);
        Assert.NotNull(t.Systemd);
        Assert.Equal("cri-containerd-abc.scope", t.Systemd!.UnitName);
    }

    [Fact]
    public void CgroupTarget_ResolvesCgroupfsPaths()
    {
        var t = CgroupTarget.Resolve("/kubepods/pod1/sandbox1");
        Assert.Equal("/kubepods/pod1/sandbox1", t.RequestedPath);
        Assert.Equal("/kubepods/pod1/kata_sandbox1", t.CgroupPath);
        Assert.Null(t.Systemd);
    }

    [Fact]
    public void CgroupTarget_SystemdModeRejectsCgroupfsPaths()
    {
        var e = Assert.Throws<CgroupException>(() => CgroupTarget.Resolve("/kubepods/abc", systemdMode: true));
        Assert.Equal(ErrorIds.MalformedSystemdPath, e.ErrorId);
    }

    [Theory]
    [InlineData("/vc/kata_foo", "/vc/foo")]
    [InlineData("/kubepods/kata_x", "/kubepods/x")]
    public void CgroupTarget_FromCgroupPath(string cgroupPath, string requested)
    {
        var t = CgroupTarget.FromCgroupPath(cgroupPath);
        Assert.NotNull(t);
        Assert.Equal(requested, t!.RequestedPath);
        Assert.Equal(cgroupPath, t.CgroupPath);
        Assert.Equal(t, CgroupTarget.Resolve(requested) with { RequestedPath = requested });
    }
}
