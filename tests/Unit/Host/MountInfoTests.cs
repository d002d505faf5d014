using KataCgroups.Host;
using KataCgroups.Tests.Support;

namespace KataCgroups.Tests.Host;

/// <summary>mountinfo parsing (proc(5)) for cgroup and cgroup2 mounts, with fixture files.</summary>
public class MountInfoTests
{
    private static List<(string Name, string MountPoint, bool Unified)> Rows(string fixture) =>
        MountInfo.ParseCgroupMounts(Fixture.Read("mountinfo/" + fixture)).Select(h => (h.Name, h.MountPoint, h.IsUnified)).ToList();

    [Fact]
    public void HybridHost_ThisMachinesLayout()
    {
        Assert.Equal(new[]
        {
            ("cpu", "/sys/fs/cgroup/cpu", false),
            ("cpuacct", "/sys/fs/cgroup/cpuacct", false),
            ("cpuset", "/sys/fs/cgroup/cpuset", false),
            ("memory", "/sys/fs/cgroup/memory", false),
            ("devices", "/sys/fs/cgroup/devices", false),
            ("freezer", "/sys/fs/cgroup/freezer", false),
            ("blkio", "/sys/fs/cgroup/blkio", false),
            ("pids", "/sys/fs/cgroup/pids", false),
            ("name=systemd", "/sys/fs/cgroup/systemd", false),
            ("unified", "/sys/fs/cgroup/unified", true),
        }, Rows("hybrid-host.txt"));
    }

    [Fact]
    public void HybridHost_ControllersAndRoots()
    {
        var mounts = MountInfo.ParseCgroupMounts(Fixture.Read("mountinfo/hybrid-host.txt"));
        Assert.All(mounts, m => Assert.Equal("/", m.Root));
        Assert.Equal(new[] { "name=systemd" }, mounts.Single(m => m.MountPoint.EndsWith("/systemd")).Controllers);
        Assert.Empty(mounts.Single(m => m.IsUnified).Controllers);
    }

    [Fact]
    public void LegacyCoMounted_OneHierarchyPerMountWithAllItsControllers()
    {
        var mounts = MountInfo.ParseCgroupMounts(Fixture.Read("mountinfo/legacy-comounted.txt"));
        var cpu = mounts.Single(m => m.MountPoint == "/sys/fs/cgroup/cpu,cpuacct");
        Assert.Equal("cpu,cpuacct", cpu.Name);
        Assert.Equal(new[] { "cpu", "cpuacct" }, cpu.Controllers);
        var net = mounts.Single(m => m.MountPoint == "/sys/fs/cgroup/net_cls,net_prio");
        Assert.Equal(new[] { "net_cls", "net_prio" }, net.Controllers);
        // release_agent=/usr/lib/... and xattr are options, not controllers
        Assert.Equal(new[] { "name=systemd" }, mounts.Single(m => m.MountPoint == "/sys/fs/cgroup/systemd").Controllers);
        Assert.DoesNotContain(mounts, m => m.IsUnified);
        Assert.Equal(12, mounts.Count); // 11 hierarchies + the container's bind mount of memory
    }

    [Fact]
    public void LegacyCoMounted_KeepsTheMountRoot()
    {
        var mounts = MountInfo.ParseCgroupMounts(Fixture.Read("mountinfo/legacy-comounted.txt"));
        var bind = mounts.Single(m => m.MountPoint.StartsWith("/var/lib/docker/", StringComparison.Ordinal));
        Assert.Equal("/docker/4f1e", bind.Root);
        Assert.Equal("memory", bind.Name);
    }

    [Fact]
    public void PureV2_OnlyTheUnifiedRoot()
    {
        Assert.Equal(new[] { ("unified", "/sys/fs/cgroup", true) }, Rows("unified.txt"));
    }

    [Fact]
    public void EscapedMountPointsAreUnescaped()
    {
        var mounts = MountInfo.ParseCgroupMounts(Fixture.Read("mountinfo/escaped.txt"));
        Assert.Equal(new[] { "/tmp/my cgroups/memory", "/tmp/my cgroups/tab\tcpu", "/tmp/my cgroups/unified v2" },
            mounts.Select(m => m.MountPoint));
        Assert.Equal("/kata\\pods", mounts[1].Root);
    }

    [Theory]
    [InlineData("a\\040b", "a b")]
    [InlineData("\\134", "\\")]
    [InlineData("x\\011y\\012z", "x\ty\nz")]
    [InlineData("end\\040", "end ")]
    [InlineData("not\\08", "not\\08")]   // not three octal digits: kept as is
    [InlineData("short\\04", "short\\04")]
    [InlineData("plain", "plain")]
    public void Unescape(string input, string expected) => Assert.Equal(expected, MountInfo.Unescape(input));

    [Fact]
    public void IgnoresMalformedAndForeignLines()
    {
        const string text = "garbage\n\n"
            + "1 2 3:4 / /x rw - cgroup cgroup rw,nosuchcontroller\n"  // cgroup mount with no known controller
            + "1 2 3:4 / /y rw - tmpfs tmpfs rw,memory\n"              // not a cgroup file system
            + "1 2 / /z - cgroup cgroup rw,memory\n"                    // too few fields before the separator
            + "5 6 0:7 / /sys/fs/cgroup/pids rw shared:1 master:2 - cgroup cgroup rw,pids\r\n"; // two optional fields, CRLF
        var mount = Assert.Single(MountInfo.ParseCgroupMounts(text));
        Assert.Equal("pids", mount.Name);
        Assert.Equal("/sys/fs/cgroup/pids", mount.MountPoint);
    }

    [Fact]
    public void NamedHierarchiesAreKept()
    {
        var mount = Assert.Single(MountInfo.ParseCgroupMounts("9 8 0:9 / /run/elogind rw - cgroup cgroup rw,none,name=elogind\n"));
        Assert.Equal("name=elogind", mount.Name);
    }

    [Fact]
    public void Hierarchy_DirectoryOf()
    {
        var h = new Hierarchy("memory", new[] { "memory" }, "/sys/fs/cgroup/memory", "/", false);
        Assert.Equal("/sys/fs/cgroup/memory", h.DirectoryOf("/"));
        Assert.Equal("/sys/fs/cgroup/memory/vc/kata_x", h.DirectoryOf("/vc/kata_x"));
    }
}
