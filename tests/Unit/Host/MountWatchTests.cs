using System.Diagnostics;
using KataCgroups.Host;
using KataCgroups.Tests.Support;

namespace KataCgroups.Tests.Host;

/// <summary>
/// The cached host probe is re-checked with one poll(2) of /proc/self/mountinfo; these prove the poll really
/// reports a mount and an unmount (a real tmpfs on a private temp directory), once each, and that a file which
/// cannot signal is never trusted to be unchanged.
/// </summary>
public sealed class MountWatchTests
{
    [SkippableFact]
    public void AMountAndAnUnmountAreEachSeenOnceAndNothingElse()
    {
        Skip.IfNot(Environment.IsPrivilegedProcess, "mounting a tmpfs needs root");
        using var dir = new TempDir();
        using var watch = new MountWatch("/proc/self/mountinfo");
        Assert.True(watch.Watching);
        Assert.False(watch.MayHaveChanged());

        Run("mount", "-t", "tmpfs", "-o", "size=64k", "kc-mountwatch", dir.Path);
        try
        {
            Assert.True(watch.MayHaveChanged());
            Assert.False(watch.MayHaveChanged());   // the event is consumed by the poll that reported it
        }
        finally
        {
            Run("umount", dir.Path);
        }
        Assert.True(watch.MayHaveChanged());
        Assert.False(watch.MayHaveChanged());
    }

    [Fact]
    public void APlainFileIsNotWatchedAndAlwaysCountsAsChanged()
    {
        using var dir = new TempDir();
        var file = dir.Write("mountinfo", "25 1 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
        using var watch = new MountWatch(file);
        Assert.False(watch.Watching);
        Assert.True(watch.MayHaveChanged());
        Assert.True(watch.MayHaveChanged());
    }

    private static void Run(string exe, params string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo(exe, args) { RedirectStandardError = true })!;
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{exe} {string.Join(' ', args)}: {err}");
    }
}
