using KataCgroups.Drivers;
using KataCgroups.Interop;

namespace KataCgroups.Tests.Kernel;

/// <summary>
/// The file primitives against the real kernel (this machine's cgroup2 mount): a cgroup removed between the open and
/// the read of one of its files makes the read fail with ENODEV (kernfs deactivates the node), which a listing racing
/// a removal must read as "gone", not report as an error.
/// </summary>
[Trait("Category", "Kernel")]
public sealed class CgroupFsKernelTests
{
    [SkippableFact]
    public void AFileOfACgroupRemovedAfterTheOpenReadsAsGone()
    {
        using var cg = new KernelCgroup2();
        var fs = cg.Fs;
        Directory.CreateDirectory(cg.Dir);

        int before = fs.Roots.OpenIn(cg.Dir, "cgroup.procs", Libc.O_RDONLY, out int errno);
        Assert.True(before >= 0, Errno.Describe(errno));
        Assert.Equal("", CgroupFs.TryReadOpened(before, cg.Dir, "cgroup.procs"));   // open and empty: read, closed

        int fd = fs.Roots.OpenIn(cg.Dir, "cgroup.procs", Libc.O_RDONLY, out errno);
        Assert.True(fd >= 0, Errno.Describe(errno));
        Directory.Delete(cg.Dir);
        Assert.Null(CgroupFs.TryReadOpened(fd, cg.Dir, "cgroup.procs"));          // ENODEV: gone, and the fd closed

        // and after the removal, by name: not there
        Assert.Null(fs.TryReadIn(cg.Dir, "cgroup.procs"));
        Assert.Null(fs.TryReadNumberIn(cg.Dir, "cgroup.max.depth", out bool exists));
        Assert.False(exists);
        Assert.False(fs.Roots.DirectoryExists(cg.Dir));
    }
}
