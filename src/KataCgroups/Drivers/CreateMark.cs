using KataCgroups.Interop;

namespace KataCgroups.Drivers;

/// <summary>
/// The intent mark that makes a create crash-consistent without a state file. A cgroupfs create is many system
/// calls — a mkdir per hierarchy, then the writes (devices.deny/allow, limits), the device check and the process
/// moves — and the kernel has no transaction around them (cgroup-v1.rst, cgroup-v2.rst: each interface file is
/// written on its own). A creator killed in between leaves directories that a reader could not tell from a finished
/// cgroup: a devices leaf copied from an allow-all parent (security/device_cgroup.c devcgroup_online) with none of
/// the rules written yet looks exactly like a finished one.
/// <para>
/// So the create marks its leaf as unfinished before it can look finished, and unmarks it as its very last step:
/// </para>
/// <list type="number">
/// <item>mkdir the leaf in the first hierarchy (the one the driver creates first, cpuset on v1 as in runc's
/// fs/fs.go subsystem order) — exclusive, so only the owner of the leaf ever touches the mark;</item>
/// <item>set <see cref="Name"/> on that directory, before any other hierarchy's mkdir;</item>
/// <item>mkdir the other hierarchies, write the plan, verify the devices, move the processes in;</item>
/// <item>remove the mark.</item>
/// </list>
/// <para>
/// A reader then knows: the mark is there, or the leaf is missing in some hierarchy, → unfinished. Between steps 1
/// and 2 the leaf exists only in the first hierarchy, so it is unfinished by the second rule: on a v1 or hybrid host
/// there is no moment where a created leaf looks complete before it is. A unified-only host has one hierarchy, and
/// the two system calls of steps 1 and 2 are a window of its own: there the leaf is brand new — no process can have
/// joined it, and it is bounded by its parent's limits and device programs, which cgroup v2 applies to every
/// descendant (cgroup-v2.rst "Device controller": a BPF_CGROUP_DEVICE program of an ancestor governs the subtree).
/// A failed create's rollback removes its directories newest first, the marked one last; a removal removes the marked
/// hierarchy's directory last, so a half-removed cgroup is unfinished by the second rule too.
/// </para>
/// <para>
/// Why an extended attribute: cgroupfs is kernfs, which stores <c>trusted.*</c> (and <c>security.*</c>, <c>user.*</c>)
/// attributes on every directory, v1 and cgroup2 alike, without a mount option (fs/kernfs/inode.c
/// kernfs_xattr_handlers; tried on each hierarchy of a 6.18 hybrid host). <c>trusted.*</c> needs CAP_SYS_ADMIN to set or
/// read (xattr(7)), the same privilege as the mkdir, and dies with the directory — a stale mark cannot outlive its
/// cgroup, unlike a state file, which is why runc and Kata keep none for cgroups (runc's libcontainer keeps its state
/// in state.json per container; Kata's manager reads the cgroup back). The v2 driver already keeps its device rules
/// this way (<c>DeviceStatePayload</c>). A mark is a negative signal on purpose: cgroups made by Kata itself or an
/// older version of this module carry none and are complete.
/// </para>
/// </summary>
internal static class CreateMark
{
    /// <summary>
    /// The attribute; its value names the creating process (<c>pid N start T</c>), so a racing creator can tell a create
    /// in progress from one that was killed (<see cref="CreatorAlive"/>); <c>getfattr -n trusted.katacgroups.creating</c> shows it.
    /// </summary>
    internal const string Name = Model.UnfinishedCgroup.CreateMarkName;

    /// <summary>
    /// Marks <paramref name="dir"/> unfinished. The directory is opened beneath its hierarchy (CgroupRoots), so the
    /// mark, like every write, lands only on cgroupfs. Returns 0 or the errno.
    /// </summary>
    internal static int Set(CgroupFs fs, string dir, ICgroupLog log) => SetAttribute(fs, dir, Name, Own.Value, log);

    /// <summary>Removes the mark (the create's last step); 0 also when it was not there or the directory is gone.</summary>
    internal static int Clear(CgroupFs fs, string dir, ICgroupLog log) => ClearAttribute(fs, dir, Name, log);

    /// <summary>Sets attribute <paramref name="name"/> on a cgroup directory opened beneath its hierarchy; 0 or the errno.</summary>
    internal static int SetAttribute(CgroupFs fs, string dir, string name, string value, ICgroupLog log)
    {
        int fd = fs.Open(dir, Libc.O_RDONLY | Openat2.O_DIRECTORY, out int errno);
        if (fd < 0) return errno;
        try
        {
            log.Verbose($"setxattr {dir} {name}");
            return Xattr.TrySet(fd, name, value);
        }
        finally { Libc.Close(fd); }
    }

    /// <summary>Removes attribute <paramref name="name"/>; 0 also when it was not there or the directory is gone.</summary>
    internal static int ClearAttribute(CgroupFs fs, string dir, string name, ICgroupLog log)
    {
        int fd = fs.Open(dir, Libc.O_RDONLY | Openat2.O_DIRECTORY, out int errno);
        if (fd < 0) return errno == Errno.ENOENT ? 0 : errno;
        try
        {
            log.Verbose($"removexattr {dir} {name}");
            return Xattr.TryRemove(fd, name);
        }
        finally { Libc.Close(fd); }
    }

    /// <summary>
    /// True when <paramref name="dir"/> carries the mark. One size-only lgetxattr: a listing asks it of every cgroup.
    /// A directory that is gone, or a file system without attributes, has no mark.
    /// </summary>
    internal static bool IsSet(string dir) => Xattr.IsSet(dir, Name, out _);

    /// <summary>
    /// This process as the mark names it: "pid N start T", T being the start time in clock ticks after boot
    /// (proc(5), /proc/pid/stat field 22), so a reused pid is not taken for the creator.
    /// </summary>
    private static readonly Lazy<string> Own = new(() => $"pid {Environment.ProcessId} start {StartTime(Environment.ProcessId)}");

    private static string? StartTime(int pid)
    {
        var stat = CgroupFs.TryReadSystemFile($"/proc/{pid}/stat");
        if (stat is null) return null;
        // The command name (field 2) is in parentheses and may hold spaces: count from the last ')'.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return fields.Length > 19 ? fields[19] : null;
    }

    /// <summary>
    /// True when the mark on <paramref name="dir"/> names a process that is still running (same pid, same start
    /// time): a create in progress, not one that was killed. Costs a getxattr and a /proc read; only asked when a
    /// create finds the leaf there already.
    /// </summary>
    internal static bool CreatorAlive(string dir)
    {
        var value = Xattr.TryGet(dir, Name, out _);
        if (value is null) return false;
        var parts = value.Split(' ');
        if (parts.Length != 4 || parts[0] != "pid" || parts[2] != "start" || !int.TryParse(parts[1], out int pid)) return false;
        return StartTime(pid) is { } start && start == parts[3];
    }

    /// <summary>Sets the mark or says, once per create, that this create is not crash-consistent.</summary>
    internal static bool SetOrWarn(CgroupFs fs, string dir, ICgroupLog log)
    {
        int errno = Set(fs, dir, log);
        if (errno != 0)
            log.Warning($"could not mark {dir} as being created ({Name}: {Errno.Describe(errno)}): if this command is killed before it ends, the cgroup may look complete while it is not");
        return errno == 0;
    }

    /// <summary>
    /// True while <paramref name="dir"/> carries this process's own mark. A create that set it and finds it gone, or
    /// naming another process, lost its directory to another process (removed, and perhaps made again by another
    /// create) before it finished.
    /// </summary>
    internal static bool IsOwn(string dir) => Xattr.TryGet(dir, Name, out _) == Own.Value;

    /// <summary>Clears the mark or says that the finished cgroup will still be listed as unfinished.</summary>
    internal static void ClearOrWarn(CgroupFs fs, string dir, ICgroupLog log)
    {
        int errno = Clear(fs, dir, log);
        if (errno != 0)
            log.Warning($"could not remove the mark {Name} from {dir} ({Errno.Describe(errno)}): the cgroup is complete but will be listed as Unfinished");
    }
}

/// <summary>
/// The mark of a <c>Remove-KataCgroup -Kill</c> under way where the kernel has no cgroup.kill (cgroup v1, cgroup v2
/// before Linux 5.14, and a threaded v2 cgroup, which refuses it): the removal freezes the cgroup so nothing forks while it sends SIGKILL, then thaws it
/// (runc's signalAllProcesses in libcontainer/init_linux.go does the same). Killed between the freeze and the thaw, it
/// leaves the cgroup FROZEN with its processes in it, which a Suspend-KataCgroup also leaves. So the removal sets this
/// attribute on the freezer directory before it freezes and clears it after the thaw: a frozen cgroup that carries it
/// is a removal cut short (<see cref="CgroupCompleteness.KillInterrupted"/>), which a later Remove-KataCgroup finishes
/// (a process moved out of a frozen v1 cgroup into a thawed one is thawed: kernel/cgroup/legacy_freezer.c
/// freezer_attach). A mark left on a thawed cgroup (killed after the thaw) means nothing and is not read as one.
/// </summary>
internal static class KillMark
{
    /// <summary>The attribute; <c>getfattr -n trusted.katacgroups.killing</c> shows it.</summary>
    internal const string Name = Model.UnfinishedCgroup.KillMarkName;

    /// <summary>Marks the freezer directory before the freeze. A failure only means a cut-short kill is shown as a plain FROZEN.</summary>
    internal static void Set(CgroupFs fs, string dir, ICgroupLog log)
    {
        int errno = CreateMark.SetAttribute(fs, dir, Name, "Remove-KataCgroup -Kill", log);
        if (errno != 0) log.Debug($"could not set {Name} on {dir} ({Errno.Describe(errno)})");
    }

    /// <summary>Clears the mark after the thaw.</summary>
    internal static void Clear(CgroupFs fs, string dir, ICgroupLog log) => CreateMark.ClearAttribute(fs, dir, Name, log);

    /// <summary>True when <paramref name="dir"/> carries the mark.</summary>
    internal static bool IsSet(string dir) => Xattr.IsSet(dir, Name, out _);

    /// <summary>A removal with -Kill cut short: the freezer state is not THAWED and the mark is there.</summary>
    internal static bool Interrupted(string dir, string? freezerState) =>
        freezerState is "FROZEN" or "FREEZING" && IsSet(dir);
}

/// <summary>
/// The mark a create leaves on each ancestor directory it had to make (mkdir -p of <c>/kubepods/pod1</c> for
/// <c>/kubepods/pod1/kata_sandbox1</c>), so that <c>Remove-KataCgroup -RemoveEmptyParent</c> can tell a parent this
/// module made from one the host made for its own use: an empty cgroup may still be meant for something (a slice a
/// service joins later, a parent with limits set for children yet to come), and nothing in cgroupfs says so. Only a
/// directory that carries this mark, has no child cgroup and no process is removed; the kernel refuses the rmdir of
/// one that gained either meanwhile (EBUSY, cgroup-v1.rst / cgroup-v2.rst "Removing a cgroup"). Like the create mark
/// it is a <c>trusted.*</c> attribute that dies with its directory; a parent made before this mark existed, or by
/// another tool, carries none and is kept.
/// </summary>
internal static class ParentMark
{
    /// <summary>The attribute; <c>getfattr -n trusted.katacgroups.parent</c> shows it.</summary>
    internal const string Name = "trusted.katacgroups.parent";

    /// <summary>Marks <paramref name="dir"/>, a parent this create made. A failure only means it will be kept.</summary>
    internal static void Set(CgroupFs fs, string dir, ICgroupLog log)
    {
        int fd = fs.Open(dir, Libc.O_RDONLY | Openat2.O_DIRECTORY, out int errno);
        if (fd >= 0)
        {
            try { errno = Xattr.TrySet(fd, Name, "made by New-KataCgroup"); }
            finally { Libc.Close(fd); }
        }
        if (errno != 0) log.Debug($"could not set {Name} on {dir} ({Errno.Describe(errno)}): -RemoveEmptyParent will keep it");
    }

    /// <summary>True when <paramref name="dir"/> carries the mark.</summary>
    internal static bool IsSet(string dir) => Xattr.IsSet(dir, Name, out _);
}

/// <summary>
/// Named points in a create or removal where a test can have this process killed with SIGKILL, to leave exactly the
/// state a crash there leaves. Inert unless the environment variable <c>KATACGROUPS_TEST_CRASH_AT</c> names the point
/// (read once per process); tests/Pester/CrashConsistency.Tests.ps1 sets it in a child pwsh only.
/// </summary>
internal static class CrashPoint
{
    private static readonly string? At = Environment.GetEnvironmentVariable("KATACGROUPS_TEST_CRASH_AT");

    /// <summary>Kills this process when <paramref name="name"/> is the point the test chose.</summary>
    internal static void Hit(string name)
    {
        if (At is not null && string.Equals(At, name, StringComparison.Ordinal)) Libc.Kill(Environment.ProcessId, 9);
    }
}
