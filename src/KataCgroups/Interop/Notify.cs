using System.Runtime.InteropServices;

namespace KataCgroups.Interop;

/// <summary>
/// A file descriptor the engine owns (inotify instance, eventfd): closed exactly once, and never while a
/// <c>poll(2)</c> on another thread still uses it (SafeHandle reference counting; model: Tmds.DBus
/// <c>CloseSafeHandle.cs</c>).
/// </summary>
internal sealed class SafeFdHandle : SafeHandle
{
    internal SafeFdHandle(int fd) : base(new IntPtr(-1), ownsHandle: true) => SetHandle(new IntPtr(fd));

    /// <inheritdoc/>
    public override bool IsInvalid => handle.ToInt64() < 0;

    internal int Fd => (int)handle.ToInt64();

    /// <inheritdoc/>
    protected override bool ReleaseHandle() => Libc.Close(Fd) == 0;
}

/// <summary>
/// The change notifications memory events need: inotify (cgroup v2 <c>memory.events</c>: "A value change in this
/// file generates a file modified event", Documentation/admin-guide/cgroup-v2.rst), eventfd (cgroup v1
/// <c>cgroup.event_control</c>, Documentation/admin-guide/cgroup-v1/memory.rst §9) and poll(2) to wait on them.
/// Constants from include/uapi/linux/inotify.h, eventfd.h and asm-generic/poll.h (same on x86_64 and arm64).
/// </summary>
internal static unsafe partial class Notify
{
    internal const uint IN_MODIFY = 0x2;
    internal const int IN_NONBLOCK = 0x800, IN_CLOEXEC = 0x80000;
    internal const int EFD_NONBLOCK = 0x800, EFD_CLOEXEC = 0x80000;
    internal const short POLLIN = 0x1, POLLPRI = 0x2, POLLERR = 0x8, POLLHUP = 0x10, POLLNVAL = 0x20;

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short REvents;
    }

    [LibraryImport("libc", EntryPoint = "inotify_init1", SetLastError = true)]
    private static partial int InotifyInit1(int flags);

    [LibraryImport("libc", EntryPoint = "inotify_add_watch", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int InotifyAddWatch(int fd, string path, uint mask);

    [LibraryImport("libc", EntryPoint = "eventfd", SetLastError = true)]
    private static partial int EventFdNative(uint initval, int flags);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static partial int PollNative(PollFd* fds, nuint nfds, int timeout);

    /// <summary>A non-blocking inotify instance watching <paramref name="path"/> for <paramref name="mask"/>; errno on failure.</summary>
    internal static SafeFdHandle? Inotify(string path, uint mask, out int errno)
    {
        int fd = InotifyInit1(IN_NONBLOCK | IN_CLOEXEC);
        if (fd < 0) { errno = Marshal.GetLastPInvokeError(); return null; }
        var h = new SafeFdHandle(fd);
        if (InotifyAddWatch(fd, path, mask) < 0)
        {
            errno = Marshal.GetLastPInvokeError();
            h.Dispose();
            return null;
        }
        errno = 0;
        return h;
    }

    /// <summary>A non-blocking eventfd with counter 0; errno on failure.</summary>
    internal static SafeFdHandle? EventFd(out int errno)
    {
        int fd = EventFdNative(0, EFD_NONBLOCK | EFD_CLOEXEC);
        errno = fd < 0 ? Marshal.GetLastPInvokeError() : 0;
        return fd < 0 ? null : new SafeFdHandle(fd);
    }

    /// <summary>
    /// Empties a non-blocking notification fd and returns what it held: an eventfd's 8-byte counter (the number of
    /// signals since the last read), or for inotify the number of bytes of queued events (only "something changed"
    /// matters). 0 when nothing was pending.
    /// </summary>
    internal static long Drain(SafeFdHandle h)
    {
        bool added = false;
        h.DangerousAddRef(ref added);
        try
        {
            long total = 0;
            byte* buf = stackalloc byte[4096];
            while (true)
            {
                nint n = Libc.Read(h.Fd, buf, 4096);
                if (n < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno == Errno.EINTR) continue;
                    return total;   // EAGAIN: empty
                }
                if (n == 0) return total;
                total += n == 8 ? *(long*)buf : n;
            }
        }
        finally { if (added) h.DangerousRelease(); }
    }

    /// <summary>Adds 1 to an eventfd's counter (wakes a poll on it).</summary>
    internal static void Signal(SafeFdHandle h)
    {
        if (h.IsClosed) return;
        bool added = false;
        try
        {
            h.DangerousAddRef(ref added);
            long one = 1;
            Libc.Write(h.Fd, (byte*)&one, 8);
        }
        catch (ObjectDisposedException) { }
        finally { if (added) h.DangerousRelease(); }
    }

    /// <summary>
    /// poll(2) for readability on <paramref name="handles"/> for at most <paramref name="timeoutMs"/> (-1: no limit).
    /// Returns one flag per handle: readable, or hung up / in error (which a reader must look at too). EINTR is
    /// retried. The handles are kept open for the duration of the call.
    /// </summary>
    internal static bool[] Poll(IReadOnlyList<SafeFdHandle> handles, int timeoutMs)
    {
        var added = new bool[handles.Count];
        var ready = new bool[handles.Count];
        try
        {
            PollFd* fds = stackalloc PollFd[handles.Count];
            for (int i = 0; i < handles.Count; i++)
            {
                handles[i].DangerousAddRef(ref added[i]);
                fds[i] = new PollFd { Fd = handles[i].Fd, Events = POLLIN };
            }
            int r;
            do { r = PollNative(fds, (nuint)handles.Count, timeoutMs); }
            while (r < 0 && Marshal.GetLastPInvokeError() == Errno.EINTR);
            if (r < 0) throw new IOException($"poll failed: {Errno.Describe(Marshal.GetLastPInvokeError())}");
            for (int i = 0; i < handles.Count; i++)
                ready[i] = (fds[i].REvents & (POLLIN | POLLERR | POLLHUP | POLLNVAL)) != 0;
            return ready;
        }
        finally
        {
            for (int i = 0; i < handles.Count; i++) if (added[i]) handles[i].DangerousRelease();
        }
    }

    /// <summary>
    /// One non-blocking poll(2) of <paramref name="h"/> for <paramref name="events"/>; the revents (0: nothing yet,
    /// or the poll failed). The handle is kept open for the duration of the call.
    /// </summary>
    internal static short PollNow(SafeFdHandle h, short events)
    {
        bool added = false;
        try
        {
            h.DangerousAddRef(ref added);
            var fd = new PollFd { Fd = h.Fd, Events = events };
            int r;
            do { r = PollNative(&fd, 1, 0); }
            while (r < 0 && Marshal.GetLastPInvokeError() == Errno.EINTR);
            return r > 0 ? fd.REvents : (short)0;
        }
        catch (ObjectDisposedException) { return POLLNVAL; }
        finally { if (added) h.DangerousRelease(); }
    }
}
