using KataCgroups.Drivers;
using KataCgroups.Interop;
using KataCgroups.Tests.Support;

namespace KataCgroups.Tests.Drivers;

/// <summary>
/// Beneath-the-hierarchy access (opencontainers/cgroups file.go) on a registered test root: a planted symlink, a way out through
/// "..", or an unregistered path never leads to a write outside; a decoy outside the root proves nothing landed
/// there. (Real cgroupfs and a planted bind mount: tests/Pester/BadInput.Tests.ps1.)
/// </summary>
public sealed class CgroupRootsTests : IDisposable
{
    private readonly TempDir _temp = new();
    private readonly string _root;
    private readonly string _decoy;
    private readonly CgroupFs _fs = new(new CgroupRoots());

    public CgroupRootsTests()
    {
        _root = _temp["root"];
        _decoy = _temp["decoy"];
        Directory.CreateDirectory(Path.Combine(_root, "a"));
        Directory.CreateDirectory(_decoy);
        File.WriteAllText(Path.Combine(_decoy, "file"), "untouched");
        Assert.True(_fs.Roots.Register(_root, verify: false));
    }

    public void Dispose()
    {
        _fs.Dispose();
        _temp.Dispose();
    }

    private void AssertDecoyUntouched()
    {
        Assert.Equal("untouched", File.ReadAllText(Path.Combine(_decoy, "file")));
        Assert.Equal(new[] { Path.Combine(_decoy, "file") }, Directory.GetFileSystemEntries(_decoy));
    }

    [Fact]
    public void WritesAndReadsBeneathTheRoot()
    {
        File.WriteAllText(Path.Combine(_root, "a", "value"), "");
        Assert.Equal(0, _fs.TryWrite(Path.Combine(_root, "a", "value"), "42"));
        Assert.Equal("42", _fs.TryReadValue(Path.Combine(_root, "a", "value")));
        Assert.True(_fs.Mkdir(Path.Combine(_root, "a", "child"), NullCgroupLog.Instance));
        Assert.Equal(0, _fs.Rmdir(Path.Combine(_root, "a", "child"), NullCgroupLog.Instance));
    }

    [Fact]
    public void APlantedSymlinkIsNeverFollowed()
    {
        File.CreateSymbolicLink(Path.Combine(_root, "a", "link"), _decoy);
        int errno = _fs.TryWrite(Path.Combine(_root, "a", "link", "file"), "owned");
        Assert.True(errno is Errno.ELOOP or Errno.EXDEV, Errno.Describe(errno));
        var e = Assert.Throws<KataCgroups.Errors.CgroupException>(() => _fs.Mkdir(Path.Combine(_root, "a", "link", "new"), NullCgroupLog.Instance));
        Assert.Contains("leaves its cgroup hierarchy", e.Message);
        var victim = Directory.CreateDirectory(_temp["victim"]).FullName;
        File.CreateSymbolicLink(Path.Combine(_root, "a", "vlink"), _temp.Path);
        int rmdir = _fs.Rmdir(Path.Combine(_root, "a", "vlink", "victim"), NullCgroupLog.Instance);
        Assert.True(rmdir is Errno.ELOOP or Errno.EXDEV, Errno.Describe(rmdir));
        Assert.True(Directory.Exists(victim), "rmdir through a planted symlink removed a directory outside the root");
        Assert.Throws<KataCgroups.Errors.CgroupException>(() => _fs.Read(Path.Combine(_root, "a", "link", "file")));
        AssertDecoyUntouched();
    }

    [Fact]
    public void AMagicLinkIsNeverFollowed()
    {
        // /proc/self/cwd is a magic link: planted inside the root it must not lead anywhere.
        File.CreateSymbolicLink(Path.Combine(_root, "a", "proc"), "/proc/self/cwd");
        int errno = _fs.TryWrite(Path.Combine(_root, "a", "proc", "file"), "owned");
        Assert.True(errno is Errno.ELOOP or Errno.EXDEV, Errno.Describe(errno));
        AssertDecoyUntouched();
    }

    [Fact]
    public void DotDotCannotClimbOut()
    {
        int errno = _fs.TryWrite(_root + "/a/../../decoy/file", "owned");
        Assert.Equal(Errno.EXDEV, errno);
        var e = Assert.Throws<KataCgroups.Errors.CgroupException>(() => _fs.Mkdir(_root + "/a/../../decoy/new", NullCgroupLog.Instance));
        Assert.Equal(Errno.EXDEV, e.Errno);
        AssertDecoyUntouched();
    }

    [Fact]
    public void TwoInstancesShareNoRoot()
    {
        // The roots belong to the instance that opened them (a manager's), not to the process: another instance
        // has not registered this one's root, so to it the path is on no cgroupfs and nothing is written.
        using var other = new CgroupFs(new CgroupRoots());
        var file = Path.Combine(_root, "a", "value");
        File.WriteAllText(file, "");
        Assert.Equal(Errno.EXDEV, other.TryWrite(file, "1"));
        Assert.Equal("", File.ReadAllText(file));
        Assert.Equal(0, _fs.TryWrite(file, "1"));
        Assert.Equal("1", File.ReadAllText(file));
    }

    [Fact]
    public void ADisposedInstanceRefusesEveryCall()
    {
        var fs = new CgroupFs(new CgroupRoots());
        Assert.True(fs.Roots.Register(_root, verify: false));
        fs.Dispose();
        Assert.Throws<ObjectDisposedException>(() => fs.TryReadValue(Path.Combine(_root, "a", "value")));
        Assert.Throws<ObjectDisposedException>(() => fs.DirectoryExists(_root));
        Assert.Throws<ObjectDisposedException>(() => fs.Mkdir(Path.Combine(_root, "b"), NullCgroupLog.Instance));
        Assert.False(fs.Roots.Register(_root, verify: false));
        Assert.False(Directory.Exists(Path.Combine(_root, "b")));
    }

    [Fact]
    public void APathUnderNoRegisteredRootMustBeOnCgroupfs()
    {
        // Not beneath a registered hierarchy: the fallback opens it and refuses anything that is not cgroupfs.
        Assert.Equal(Errno.EXDEV, _fs.TryWrite(Path.Combine(_decoy, "file"), "owned"));
        AssertDecoyUntouched();
    }

    [Fact]
    public void ARootMustBeCgroupfsWhenVerified()
    {
        Assert.False(_fs.Roots.Register(_decoy, verify: true));
        Assert.Equal(Errno.EXDEV, _fs.TryWrite(Path.Combine(_decoy, "file"), "owned"));
        AssertDecoyUntouched();
    }

    [Fact]
    public void FilesLargerThanOnePageAreReadWhole()
    {
        var text = string.Concat(Enumerable.Range(0, 3000).Select(i => $"line {i}\n"));   // ~26 KiB
        File.WriteAllText(Path.Combine(_root, "a", "big"), text);
        Assert.Equal(text, _fs.Read(Path.Combine(_root, "a", "big")));
        File.WriteAllText(Path.Combine(_root, "a", "page"), new string('x', 4096));
        Assert.Equal(4096, _fs.Read(Path.Combine(_root, "a", "page")).Length);
    }

    [Fact]
    public void FilesOfADirectoryAreOpenedBeneathTheRootWithoutBuildingThePath()
    {
        var dir = Path.Combine(_root, "a");
        File.WriteAllText(Path.Combine(dir, "value"), "");
        Assert.Equal(0, _fs.TryWriteIn(dir, "value", "7", NullCgroupLog.Instance));
        Assert.Equal("7", _fs.TryReadIn(dir, "value"));
        Assert.Null(_fs.TryReadIn(dir, "missing"));
        Assert.Equal(Errno.ENOENT, _fs.TryWriteIn(dir, "missing", "7", NullCgroupLog.Instance));
        // the root itself, and a planted symlink as the directory: never followed
        File.WriteAllText(Path.Combine(_root, "top"), "1\n");
        Assert.Equal("1\n", _fs.TryReadIn(_root, "top"));
        File.CreateSymbolicLink(Path.Combine(_root, "a", "link"), _decoy);
        int errno = _fs.TryWriteIn(Path.Combine(dir, "link"), "file", "owned", NullCgroupLog.Instance);
        Assert.True(errno is Errno.ELOOP or Errno.EXDEV, Errno.Describe(errno));
        Assert.Throws<KataCgroups.Errors.CgroupException>(() => _fs.TryReadIn(Path.Combine(dir, "link"), "file"));
        AssertDecoyUntouched();
    }

    [Theory]
    [InlineData("268435456\n", 268435456L)]
    [InlineData("max\n", -1L)]
    [InlineData("-1\n", -1L)]
    [InlineData("  42  \n", 42L)]
    [InlineData("9223372036854771712\n", 9223372036854771712L)]
    [InlineData("\n", null)]
    [InlineData("FROZEN\n", null)]
    [InlineData("99999999999999999999\n", null)]
    public void NumberFilesAreParsedFromTheBytesRead(string content, long? expected)
    {
        File.WriteAllText(Path.Combine(_root, "a", "n"), content);
        Assert.Equal(expected, _fs.TryReadNumberIn(Path.Combine(_root, "a"), "n", out bool exists));
        Assert.True(exists);
        // the same answer as the string path (TryReadNumber) gives
        Assert.Equal(_fs.TryReadNumber(Path.Combine(_root, "a", "n")), expected);
    }

    [Fact]
    public void ANumberFileThatIsMissingOrTooLongIsNoNumber()
    {
        Assert.Null(_fs.TryReadNumberIn(Path.Combine(_root, "a"), "missing", out bool exists));
        Assert.False(exists);
        File.WriteAllText(Path.Combine(_root, "a", "long"), new string('1', 64));
        Assert.Null(_fs.TryReadNumberIn(Path.Combine(_root, "a"), "long", out exists));
        Assert.True(exists);
    }

    [Fact]
    public void DirectoryExistenceAndLinkCountsAreAskedRelativeToTheRoot()
    {
        Assert.True(_fs.Roots.DirectoryExists(Path.Combine(_root, "a")));
        Assert.True(_fs.Roots.DirectoryExists(_root));
        Assert.False(_fs.Roots.DirectoryExists(Path.Combine(_root, "nope")));
        File.WriteAllText(Path.Combine(_root, "a", "file"), "");
        Assert.False(_fs.Roots.DirectoryExists(Path.Combine(_root, "a", "file")));
        // a final symlink to a directory is not a cgroup directory
        File.CreateSymbolicLink(Path.Combine(_root, "a", "dlink"), _decoy);
        Assert.False(_fs.Roots.DirectoryExists(Path.Combine(_root, "a", "dlink")));
        // outside every registered root: asked the ordinary way
        Assert.True(_fs.Roots.DirectoryExists(_decoy));
        Directory.CreateDirectory(Path.Combine(_root, "a", "c1"));
        Directory.CreateDirectory(Path.Combine(_root, "a", "c2"));
        Assert.True(_fs.Roots.TryGetLinkCount(Path.Combine(_root, "a"), out var nlink));
        Assert.Equal(4u, nlink);
        Assert.False(_fs.Roots.TryGetLinkCount(Path.Combine(_root, "nope"), out _));
    }

    [Fact]
    public async Task AHierarchyRegisteredAgainWhileFilesAreOpenedIsUsedThroughItsNewHandle()
    {
        // Register replaces the handle of a mount point (a new host probe after a mount change) and disposes the
        // old one and the cached parent handles; a read, stat, mkdir or rmdir that meets a disposed handle uses a
        // new one instead of failing with EBADF (or, for a parent, a made-up ENOENT).
        var dir = Path.Combine(_root, "a");
        File.WriteAllText(Path.Combine(dir, "value"), "7\n");
        using var stop = new CancellationTokenSource();
        int registrations = 0;
        var registrar = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                Assert.True(_fs.Roots.Register(_root, verify: false));
                Interlocked.Increment(ref registrations);
            }
        });
        var failures = new List<string>();
        // Reads until the registrar has replaced the handle 20,000 times (bounded, should it never start).
        for (int i = 0; (i < 2000 || Volatile.Read(ref registrations) < 20_000) && i < 5_000_000 && failures.Count < 5; i++)
        {
            try
            {
                if (_fs.TryReadNumberIn(dir, "value", out _) != 7) failures.Add($"read {i}: no value");
                if (!_fs.Roots.DirectoryExists(dir)) failures.Add($"stat {i}: not there");
                if (i % 16 == 0)
                {
                    if (!_fs.Mkdir(Path.Combine(dir, "m"), NullCgroupLog.Instance)) failures.Add($"mkdir {i}: was there");
                    if (_fs.Rmdir(Path.Combine(dir, "m"), NullCgroupLog.Instance) is var e and not 0) failures.Add($"rmdir {i}: {Errno.Describe(e)}");
                }
            }
            catch (KataCgroups.Errors.CgroupException e) { failures.Add($"{i}: {e.Message}"); }
        }
        stop.Cancel();
        await registrar;
        Assert.Empty(failures);
        Assert.True(registrations >= 20_000, $"the root was registered only {registrations} times");
    }
}
