using KataCgroups.Errors;
using KataCgroups.Host;
using KataCgroups.Tests.Support;

namespace KataCgroups.Tests.Host;

/// <summary>The host probe with every path pointed at a temp dir (STYLE rule 9: test seams are paths).</summary>
public class HostProbeTests
{
    private static HostOptions Options(TempDir dir, string mountInfoFixture, CgroupMode? mode, uint? euid, string? uidMap = "0 0 4294967295\n")
    {
        var mountInfo = dir.Write("mountinfo", Fixture.Read("mountinfo/" + mountInfoFixture));
        var uidMapPath = dir["uid_map"];
        if (uidMap is not null) File.WriteAllText(uidMapPath, uidMap);
        return new HostOptions
        {
            CgroupRoot = "/sys/fs/cgroup",
            ProcRoot = dir["proc"],
            DevRoot = dir["dev"],
            MountInfoPath = mountInfo,
            UidMapPath = uidMapPath,
            ModeOverride = mode,
            EuidOverride = euid,
        };
    }

    [Fact]
    public void Hybrid_KeepsV1ControllersAndTheUnifiedTree()
    {
        using var dir = new TempDir();
        var host = HostProbe.Probe(Options(dir, "hybrid-host.txt", CgroupMode.Hybrid, 0));
        Assert.Equal(CgroupMode.Hybrid, host.Mode);
        Assert.False(host.IsRootless);
        Assert.Null(host.RootlessReason);
        Assert.Equal(0u, host.Euid);
        Assert.NotNull(host.Unified);
        Assert.Equal("/sys/fs/cgroup/unified", host.Unified!.MountPoint);
        Assert.Equal(
            new[] { "blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "memory", "name=systemd", "pids" },
            host.ByController.Keys.OrderBy(k => k, StringComparer.Ordinal));
        Assert.Equal("/sys/fs/cgroup/memory", host.ByController["memory"].MountPoint);
        Assert.Equal(10, host.Hierarchies.Count);
    }

    [Fact]
    public void Legacy_DropsCgroup2Mounts()
    {
        using var dir = new TempDir();
        var host = HostProbe.Probe(Options(dir, "hybrid-host.txt", CgroupMode.Legacy, 0));
        Assert.Equal(CgroupMode.Legacy, host.Mode);
        Assert.Null(host.Unified);
        Assert.DoesNotContain(host.Hierarchies, h => h.IsUnified);
    }

    [Fact]
    public void Unified_KeepsOnlyTheCgroup2Mount()
    {
        using var dir = new TempDir();
        var host = HostProbe.Probe(Options(dir, "unified.txt", CgroupMode.Unified, 0));
        Assert.Equal(CgroupMode.Unified, host.Mode);
        Assert.Equal("/sys/fs/cgroup", host.Unified!.MountPoint);
        Assert.Empty(host.ByController);
        Assert.Single(host.Hierarchies);
    }

    [Fact]
    public void Unified_OnAHybridMountTableIgnoresV1()
    {
        using var dir = new TempDir();
        var host = HostProbe.Probe(Options(dir, "hybrid-host.txt", CgroupMode.Unified, 0));
        Assert.Empty(host.ByController);
        Assert.True(Assert.Single(host.Hierarchies).IsUnified);
    }

    [Fact]
    public void CoMountedControllersShareOneHierarchy()
    {
        using var dir = new TempDir();
        var host = HostProbe.Probe(Options(dir, "legacy-comounted.txt", CgroupMode.Legacy, 0));
        Assert.Same(host.ByController["cpu"], host.ByController["cpuacct"]);
        Assert.Same(host.ByController["net_cls"], host.ByController["net_prio"]);
        Assert.Equal("/sys/fs/cgroup/cpu,cpuacct", host.ByController["cpu"].MountPoint);
    }

    [Fact]
    public void PrefersTheMountBeneathTheCgroupRoot()
    {
        // The container runtime's bind mount of memory comes first in the table; the probe must use /sys/fs/cgroup/memory.
        using var dir = new TempDir();
        var host = HostProbe.Probe(Options(dir, "legacy-comounted.txt", CgroupMode.Legacy, 0));
        Assert.Equal("/sys/fs/cgroup/memory", host.ByController["memory"].MountPoint);
        Assert.Single(host.Hierarchies, h => h.Name == "memory");
    }

    [Fact]
    public void FallsBackToAMountOutsideTheRoot()
    {
        using var dir = new TempDir();
        var options = Options(dir, "legacy-comounted.txt", CgroupMode.Legacy, 0) with { CgroupRoot = "/elsewhere" };
        var host = HostProbe.Probe(options);
        Assert.StartsWith("/var/lib/docker/", host.ByController["memory"].MountPoint);
    }

    [Fact]
    public void EuidOverride_NonRootIsRootless()
    {
        using var dir = new TempDir();
        var host = HostProbe.Probe(Options(dir, "hybrid-host.txt", CgroupMode.Hybrid, 65534));
        Assert.True(host.IsRootless);
        Assert.Equal(65534u, host.Euid);
        Assert.Contains("65534", host.RootlessReason);
    }

    [Fact]
    public void UidMap_RootInAUserNamespaceIsRootless()
    {
        using var dir = new TempDir();
        var host = HostProbe.Probe(Options(dir, "hybrid-host.txt", CgroupMode.Hybrid, 0, uidMap: "0 1000 1\n"));
        Assert.True(host.IsRootless);
        Assert.Contains("user namespace", host.RootlessReason);
    }

    [Fact]
    public void UidMap_MissingFileMeansNoUserNamespaces()
    {
        using var dir = new TempDir();
        var host = HostProbe.Probe(Options(dir, "hybrid-host.txt", CgroupMode.Hybrid, 0, uidMap: null));
        Assert.False(host.IsRootless);
    }

    [Fact]
    public void DefaultPathsComeFromProcRoot()
    {
        using var dir = new TempDir();
        dir.Write("proc/self/mountinfo", Fixture.Read("mountinfo/legacy-comounted.txt"));
        dir.Write("proc/self/uid_map", "0 1000 1\n");
        var host = HostProbe.Probe(new HostOptions { ProcRoot = dir["proc"], ModeOverride = CgroupMode.Legacy, EuidOverride = 0 });
        Assert.True(host.ByController.ContainsKey("perf_event"));
        Assert.True(host.IsRootless);
    }

    [Fact]
    public void MissingMountInfoIsHostProbeFailed()
    {
        using var dir = new TempDir();
        var options = new HostOptions { MountInfoPath = dir["no-such-mountinfo"], ModeOverride = CgroupMode.Legacy, EuidOverride = 0 };
        var e = Assert.Throws<CgroupException>(() => HostProbe.Probe(options));
        Assert.Equal(ErrorIds.HostProbeFailed, e.ErrorId);
        Assert.Equal(CgroupErrorKind.ReadFailed, e.Kind);
        Assert.Equal(dir["no-such-mountinfo"], e.Target);
    }

    [Fact]
    public void DetectMode_OrdinaryDirectoryIsLegacy()
    {
        using var dir = new TempDir();
        Assert.Equal(CgroupMode.Legacy, HostProbe.DetectMode(dir.Path));
    }

    [Fact]
    public void DetectMode_AgreesWithThisHostsMountTable()
    {
        // Read-only: statfs on /sys/fs/cgroup, compared with what /proc/self/mountinfo says is mounted there.
        var mounts = MountInfo.ParseCgroupMounts(File.ReadAllText("/proc/self/mountinfo"));
        var expected = mounts.Any(m => m.IsUnified && m.MountPoint == "/sys/fs/cgroup") ? CgroupMode.Unified
            : mounts.Any(m => m.IsUnified && m.MountPoint == "/sys/fs/cgroup/unified") ? CgroupMode.Hybrid
            : CgroupMode.Legacy;
        Assert.Equal(expected, HostProbe.DetectMode("/sys/fs/cgroup"));
    }
}
