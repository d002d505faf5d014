using KataCgroups.Resources;

namespace KataCgroups.Drivers.V1;

/// <summary>
/// One read of a cgroup across the v1 hierarchies (a snapshot; a listing makes thousands): each hierarchy's directory
/// is named once, number files are parsed from the bytes read, and a file read from a hierarchy proves its directory
/// is there, so only the hierarchies nothing is read from (cpuacct, name=systemd, the hybrid cgroup2 tree…) cost a
/// stat (<see cref="Confirm"/>).
/// </summary>
internal sealed class HierarchyReads
{
    private readonly HierarchyLayout _layout;
    private readonly string _cgroupPath;
    private readonly string?[] _dirs;
    private readonly bool?[] _there;   // true once a file was read there; null until something says

    internal HierarchyReads(HierarchyLayout layout, string cgroupPath)
    {
        _layout = layout;
        _cgroupPath = cgroupPath;
        _dirs = new string?[layout.All.Length];
        _there = new bool?[layout.All.Length];
    }

    /// <summary>The cgroup's directory in hierarchy <paramref name="index"/> (of <see cref="HierarchyLayout.All"/>).</summary>
    internal string Directory(int index) => _dirs[index] ??= _layout.All[index].DirectoryOf(_cgroupPath);

    /// <summary>A file of the controller's directory, or null (no such controller, or no such file).</summary>
    internal string? Text(string controller, string file)
    {
        if (!_layout.TryGetIndex(controller, out int i)) return null;
        var text = _layout.Fs.TryReadIn(Directory(i), file);
        if (text is not null) _there[i] = true;
        return text;
    }

    /// <summary>A number file of the controller's directory, or null; v1's "unlimited" (PAGE_COUNTER_MAX pages) is -1, the OCI way.</summary>
    internal long? Number(string controller, string file)
    {
        if (!_layout.TryGetIndex(controller, out int i)) return null;
        var n = _layout.Fs.TryReadNumberIn(Directory(i), file, out bool exists);
        if (exists) _there[i] = true;
        return n == CgroupV1Plan.UnlimitedMemory ? -1 : n;
    }

    /// <summary>Records that the directory of hierarchy <paramref name="index"/> is there (a cgroup.procs was read).</summary>
    internal void Found(int index) => _there[index] = true;

    /// <summary>Whether the directory of hierarchy <paramref name="index"/> is there: known from a read, else one stat.</summary>
    internal bool Confirm(int index) => _there[index] ??= _layout.Fs.DirectoryExists(Directory(index));

    /// <summary>True when a read or a stat showed the directory of hierarchy <paramref name="index"/>.</summary>
    internal bool IsThere(int index) => _there[index] == true;
}

/// <summary>
/// Which blkio weight file this host's cgroups have — CFQ's <c>blkio.weight</c> or BFQ's <c>blkio.bfq.weight</c>
/// (opencontainers/cgroups fs/blkio.go) — learnt from the last read: that one is tried first, so a listing does not pay
/// a failed open per cgroup; the other is still tried when it is not there. A hint, never trusted alone.
/// </summary>
internal sealed class BlkioWeightFile
{
    private volatile bool _bfqSeen;

    /// <summary>The weight, from whichever file the cgroup has.</summary>
    internal long? Read(HierarchyReads reads)
    {
        bool bfqFirst = _bfqSeen;
        var v = reads.Number("blkio", bfqFirst ? "blkio.bfq.weight" : "blkio.weight");
        if (v is not null) return v;
        v = reads.Number("blkio", bfqFirst ? "blkio.weight" : "blkio.bfq.weight");
        if (v is not null) _bfqSeen = !bfqFirst;
        return v;
    }
}
