using KataCgroups.Drivers;
using KataCgroups.Drivers.V1;
using KataCgroups.Host;

namespace KataCgroups.Tests.Support;

/// <summary>
/// A cgroup tree made of ordinary directories in a temp dir, with a mountinfo naming one mount per hierarchy
/// (Fixtures/mountinfo/fake-root.template), probed with ModeOverride/EuidOverride. Good for pure logic only:
/// the files a kernel would create on mkdir do not appear, so tests pre-create what they need.
/// </summary>
internal sealed class FakeCgroupRoot : IDisposable
{
    /// <summary>Mount directory (relative to <see cref="Root"/>) of each hierarchy in the template.</summary>
    public static readonly IReadOnlyList<string> AllMounts = new[]
    {
        "cpuset", "devices", "memory", "cpu,cpuacct", "pids", "blkio", "hugetlb", "net_cls,net_prio", "freezer", "systemd", "unified",
    };

    private readonly TempDir _temp = new();

    private FakeCgroupRoot(IReadOnlyList<string> mounts)
    {
        Mounts = mounts;
        Root = _temp["cgroup"];
        DevRoot = _temp["dev"];
        Directory.CreateDirectory(Root);
        Directory.CreateDirectory(DevRoot);
        foreach (var m in mounts) Directory.CreateDirectory(Path.Combine(Root, m));
        // mountinfo escapes spaces as \040 (proc(5)); a temp path normally has none, but be exact.
        var escapedRoot = Root.Replace("\\", "\\134").Replace(" ", "\\040");
        var lines = Fixture.Read("mountinfo/fake-root.template")
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => !l.Contains("@ROOT@/") || mounts.Any(m => l.Contains("@ROOT@/" + m + " ", StringComparison.Ordinal)))
            .Select(l => l.Replace("@ROOT@", escapedRoot));
        MountInfoPath = _temp.Write("proc/self/mountinfo", string.Join('\n', lines) + "\n");
        UidMapPath = _temp.Write("proc/self/uid_map", "         0          0 4294967295\n");
    }

    /// <summary>Creates the tree with every hierarchy of the template except <paramref name="exclude"/>.</summary>
    public static FakeCgroupRoot Create(params string[] exclude) => new(AllMounts.Where(m => !exclude.Contains(m)).ToList());

    public IReadOnlyList<string> Mounts { get; }
    public string Root { get; }
    public string DevRoot { get; }
    public string MountInfoPath { get; }
    public string UidMapPath { get; }

    public HostOptions Options(CgroupMode mode = CgroupMode.Hybrid, uint euid = 0) => new()
    {
        CgroupRoot = Root,
        ProcRoot = _temp["proc"],
        DevRoot = DevRoot,
        RunRoot = _temp["run"],
        MountInfoPath = MountInfoPath,
        UidMapPath = UidMapPath,
        ModeOverride = mode,
        EuidOverride = euid,
    };

    public HostInfo Probe(CgroupMode mode = CgroupMode.Hybrid, uint euid = 0) => HostProbe.Probe(Options(mode, euid));

    /// <summary>Directory of a hierarchy-relative cgroup path in the hierarchy mounted at <paramref name="mount"/>.</summary>
    public string Dir(string mount, string cgroupPath) =>
        cgroupPath == "/" ? Path.Combine(Root, mount) : Path.Combine(Root, mount) + cgroupPath;

    /// <summary>Creates the cgroup directory (and ancestors) in one hierarchy.</summary>
    public string MakeCgroup(string mount, string cgroupPath)
    {
        var dir = Dir(mount, cgroupPath);
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>Creates the cgroup directory in every hierarchy.</summary>
    public void MakeCgroupEverywhere(string cgroupPath)
    {
        foreach (var m in Mounts) MakeCgroup(m, cgroupPath);
    }

    /// <summary>Writes a file the kernel would have created, in the cgroup's directory of one hierarchy.</summary>
    public string Touch(string mount, string cgroupPath, string file, string content = "")
    {
        var dir = MakeCgroup(mount, cgroupPath);
        var path = Path.Combine(dir, file);
        File.WriteAllText(path, content);
        return path;
    }

    /// <summary>Every directory and file under the root with file contents, to prove a call changed nothing.</summary>
    public SortedDictionary<string, string> Snapshot()
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var d in Directory.EnumerateDirectories(Root, "*", SearchOption.AllDirectories))
            result[Path.GetRelativePath(Root, d) + "/"] = "";
        foreach (var f in Directory.EnumerateFiles(Root, "*", SearchOption.AllDirectories))
            result[Path.GetRelativePath(Root, f)] = File.ReadAllText(f);
        return result;
    }

    private readonly List<CgroupFs> _opened = new();

    /// <summary>The cgroupfs primitives beneath this fake's hierarchies (as a manager opens them); closed by <see cref="Dispose"/>.</summary>
    public CgroupFs Fs(HostInfo host)
    {
        var fs = CgroupFs.For(host);
        lock (_opened) _opened.Add(fs);
        return fs;
    }

    /// <summary>A v1 driver on this fake, as <see cref="CgroupManager"/> makes it.</summary>
    public CgroupV1Driver V1Driver(CgroupMode mode = CgroupMode.Hybrid) => V1Driver(Probe(mode));

    /// <summary>A v1 driver for a probe of this fake.</summary>
    public CgroupV1Driver V1Driver(HostInfo host) => new(host, Fs(host));

    public void Dispose()
    {
        lock (_opened) foreach (var fs in _opened) fs.Dispose();
        _temp.Dispose();
    }
}
