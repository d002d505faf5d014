using KataCgroups.Interop;

namespace KataCgroups.Host;

/// <summary>
/// Says cheaply whether the mount table may have changed since the last look. <c>/proc/self/mountinfo</c> is
/// pollable: "a change in this file (i.e., a filesystem mount or unmount) causes … poll(2) … [to] mark the file as
/// having a priority event (POLLPRI)" (proc(5); fs/proc_namespace.c mounts_poll, which also resets the event). So
/// the cached host probe costs one poll(2) per command instead of the whole table read and compared each time.
/// </summary>
internal sealed class MountWatch : IDisposable
{
    private readonly SafeFdHandle? _fd;

    /// <summary>Opens <paramref name="mountInfoFile"/> to watch it; only a procfs mountinfo can be watched this way.</summary>
    internal MountWatch(string mountInfoFile)
    {
        int fd = Libc.Open(mountInfoFile, Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
        if (fd < 0) return;
        if (Openat2.TryGetFsType(fd, out var magic) && magic == ProcSuperMagic) _fd = new SafeFdHandle(fd);
        else Libc.Close(fd);   // a plain file (a test's mountinfo) never signals: no watch, always look
    }

    /// <summary>include/uapi/linux/magic.h PROC_SUPER_MAGIC.</summary>
    internal const long ProcSuperMagic = 0x9fa0;

    /// <summary>True when the file is watched (procfs).</summary>
    internal bool Watching => _fd is not null;

    /// <summary>
    /// True when a mount or unmount happened since the previous call (or since this watch was made), and always
    /// when the file is not watched: the caller then reads and compares the table as before.
    /// </summary>
    internal bool MayHaveChanged() =>
        _fd is null || (Notify.PollNow(_fd, Notify.POLLPRI) & (Notify.POLLPRI | Notify.POLLERR | Notify.POLLNVAL)) != 0;

    /// <inheritdoc/>
    public void Dispose() => _fd?.Dispose();
}
