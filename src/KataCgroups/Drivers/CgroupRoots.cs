using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using KataCgroups.Host;
using KataCgroups.Interop;
using Microsoft.Win32.SafeHandles;

namespace KataCgroups.Drivers;

/// <summary>
/// Where cgroup files may be opened, made and removed: each hierarchy's mount point, held open as an O_PATH handle
/// (opencontainers/cgroups file.go). Every open, mkdir and rmdir resolves its path beneath the handle of the hierarchy it belongs to
/// with openat2 <c>RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV | RESOLVE_NO_SYMLINKS</c>: cgroupfs has
/// no symlinks of its own and a hierarchy is one mount, so a symlink, a <c>/proc/self/…</c> magic link, a way out
/// through <c>..</c> or a bind mount planted inside a cgroup directory ends the call with EXDEV or ELOOP instead of
/// leading outside. That is stricter than runc (opencontainers/cgroups file.go resolves beneath /sys/fs/cgroup and
/// can add NO_XDEV only on a unified host), because here the root is the hierarchy itself. Kernels without openat2
/// (before 5.6) fall back to open(2) plus an fstatfs check that the file is on cgroupfs, as runc's openFallback does.
/// One instance per probed host: <see cref="CgroupManager"/> opens it (through <see cref="CgroupFs.For"/>), hands
/// it to its drivers and disposes it; nothing here is shared by the process.
/// </summary>
internal sealed class CgroupRoots : IDisposable
{
    internal const long CgroupSuperMagic = 0x27e0eb, Cgroup2SuperMagic = 0x63677270;

    private const ulong Resolve = Openat2.RESOLVE_BENEATH | Openat2.RESOLVE_NO_MAGICLINKS | Openat2.RESOLVE_NO_XDEV | Openat2.RESOLVE_NO_SYMLINKS;

    private sealed record Root(string Path, SafeFileHandle Handle, bool Verify);

    private readonly object _lock = new();
    private Root[] _roots = Array.Empty<Root>();   // longest path first
    private volatile bool _noOpenat2;   // the kernel has no openat2 (ENOSYS once): the fallback from then on
    private volatile bool _disposed;

    /// <summary>
    /// Opens the hierarchies a probe found, which every later open, mkdir and rmdir resolves beneath. Real hosts must
    /// have cgroupfs there; fake roots (ModeOverride, in tests) are ordinary directories. The caller owns the result.
    /// </summary>
    internal static CgroupRoots For(HostInfo host)
    {
        var roots = new CgroupRoots();
        foreach (var h in host.Hierarchies) roots.Register(h.MountPoint, verify: host.Options.ModeOverride is null);
        return roots;
    }

    /// <summary>
    /// Closes every handle. Calls already under way finish on the handles they hold (SafeHandle reference counts);
    /// later calls throw <see cref="ObjectDisposedException"/> rather than open by absolute path.
    /// </summary>
    public void Dispose()
    {
        Root[] roots;
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            roots = _roots;
            _roots = Array.Empty<Root>();
        }
        foreach (var r in roots) r.Handle.Dispose();
        DropParents();
    }

    /// <summary>
    /// Registers a hierarchy's mount point (registered again, its handle is replaced: the old one is released once no
    /// call uses it). <paramref name="verify"/> requires it to be cgroupfs; test roots on ordinary file systems pass false.
    /// Returns false, registering nothing, when it cannot be opened or is not cgroupfs.
    /// </summary>
    internal bool Register(string mountPoint, bool verify)
    {
        int fd = Libc.Open(mountPoint, Openat2.O_PATH | Openat2.O_DIRECTORY | Libc.O_CLOEXEC, 0);
        if (fd < 0) return false;
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        if (verify && !(Openat2.TryGetFsType(fd, out var magic) && magic is CgroupSuperMagic or Cgroup2SuperMagic))
        {
            handle.Dispose();
            return false;
        }
        lock (_lock)
        {
            if (_disposed)
            {
                handle.Dispose();
                return false;
            }
            var old = _roots.FirstOrDefault(r => r.Path == mountPoint);
            _roots = _roots.Where(r => r.Path != mountPoint).Append(new Root(mountPoint, handle, verify))
                .OrderByDescending(r => r.Path.Length).ToArray();
            old?.Handle.Dispose();
        }
        DropParents();
        return true;
    }

    private void DropParents()
    {
        lock (_parents)
        {
            foreach (var h in _parents.Values) h.Dispose();
            _parents.Clear();
        }
    }

    /// <summary>The registered hierarchy <paramref name="path"/> is beneath, and where its relative part starts (-1: the root itself).</summary>
    private Root? RootOf(string path, out int relativeStart)
    {
        foreach (var r in _roots)
        {
            if (path.Length == r.Path.Length && path == r.Path) { relativeStart = -1; return r; }
            if (path.Length > r.Path.Length && path[r.Path.Length] == '/' && path.StartsWith(r.Path, StringComparison.Ordinal))
            {
                relativeStart = r.Path.Length + 1;
                return r;
            }
        }
        relativeStart = 0;
        return null;
    }

    /// <summary>Opens a cgroup file or directory; the fd (the caller closes it) or -1 with the errno.</summary>
    internal int Open(string path, int flags, out int errno) => OpenIn(path, null, flags, out errno);

    /// <summary>
    /// Opens <paramref name="file"/> of the cgroup directory <paramref name="dir"/> (a plain name, or null for the
    /// directory itself): what <see cref="Open"/> of <c>dir/file</c> does, without building that string. This is
    /// the hot path — every cgroup file the module reads or writes — so no closure and no substring: the relative
    /// path is encoded on the stack.
    /// </summary>
    [SkipLocalsInit]
    internal unsafe int OpenIn(string dir, string? file, int flags, out int errno)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var root = RootOf(dir, out int relativeStart);
        if (root is not null && !_noOpenat2)
        {
            Span<byte> name = stackalloc byte[1024];
            if (!TryEncodeRelative(dir, relativeStart, file, name, out int length)) name = EncodeRelativeOnHeap(dir, relativeStart, file);
            else name = name[..length];
            int fd;
            while (true)
            {
                bool added = false;
                try
                {
                    root.Handle.DangerousAddRef(ref added);
                    fd = Openat2.Open((int)root.Handle.DangerousGetHandle(), name, flags, Resolve, out errno);
                    break;
                }
                catch (ObjectDisposedException) when (Reregistered(ref root, dir)) { }   // replaced meanwhile: the new handle
                catch (ObjectDisposedException) { fd = -1; errno = Errno.EBADF; break; }
                finally { if (added) root.Handle.DangerousRelease(); }
            }
            if (fd >= 0) return fd;
            if (errno != Errno.ENOSYS) return -1;
            _noOpenat2 = true;   // kernel < 5.6: from now on the fallback
        }
        // Fallback: plain open, then make sure what was opened is cgroupfs.
        var path = file is null ? dir : dir + "/" + file;
        int f2 = Libc.Open(path, flags | Libc.O_CLOEXEC, 0);
        if (f2 < 0) { errno = Marshal.GetLastPInvokeError(); return -1; }
        if ((root?.Verify ?? true) && !(Openat2.TryGetFsType(f2, out var magic) && magic is CgroupSuperMagic or Cgroup2SuperMagic))
        {
            Libc.Close(f2);
            errno = Errno.EXDEV;
            return -1;
        }
        errno = 0;
        return f2;
    }

    /// <summary>
    /// Whether <paramref name="path"/> is a directory, asked with one statx(2) relative to its hierarchy's handle
    /// (a shorter path walk than stat of the absolute path; not following a final symlink). Paths outside every
    /// registered hierarchy are asked from "/".
    /// </summary>
    internal bool DirectoryExists(string path) =>
        Statx(path, Libc.STATX_TYPE, out var stx) && (stx.Mode & Libc.S_IFMT) == Libc.S_IFDIR;

    /// <summary>The link count of a directory in a hierarchy (a kernfs directory has 2 + its subdirectories); false when unknown.</summary>
    internal bool TryGetLinkCount(string path, out uint nlink)
    {
        bool known = Statx(path, Libc.STATX_NLINK, out var stx) && (stx.Mask & Libc.STATX_NLINK) != 0;
        nlink = known ? stx.NLink : 0;
        return known;
    }

    /// <summary>statx of a path: relative to its hierarchy's handle when it is in a registered one, else from "/"; false when it fails.</summary>
    [SkipLocalsInit]
    private bool Statx(string path, uint mask, out Libc.StatxResult result)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var root = RootOf(path, out int relativeStart);
        if (root is null) relativeStart = 0;   // the whole absolute path, from AT_FDCWD
        Span<byte> name = stackalloc byte[1024];
        if (!TryEncodeRelative(path, relativeStart, null, name, out int length)) name = EncodeRelativeOnHeap(path, relativeStart, null);
        else name = name[..length];
        if (root is null) return Libc.TryStatxAt(Libc.AT_FDCWD, name, mask, out result);
        while (true)
        {
            bool added = false;
            try
            {
                root.Handle.DangerousAddRef(ref added);
                return Libc.TryStatxAt((int)root.Handle.DangerousGetHandle(), name, mask, out result);
            }
            catch (ObjectDisposedException) when (Reregistered(ref root, path)) { }
            catch (ObjectDisposedException) { result = default; return false; }
            finally { if (added) root.Handle.DangerousRelease(); }
        }
    }

    /// <summary>
    /// A hierarchy's handle was disposed under a call: <see cref="Register(string, bool)"/> replaced it (the same mount
    /// registered again) or <see cref="Dispose"/> closed it. True, with the new root, when there is a newer one to use —
    /// the call is made again on it instead of failing with EBADF.
    /// </summary>
    private bool Reregistered(ref Root root, string path)
    {
        var now = RootOf(path, out _);
        if (now is null || ReferenceEquals(now, root) || now.Path != root.Path) return false;
        root = now;
        return true;
    }

    /// <summary>
    /// The part of <paramref name="dir"/> below its hierarchy (from <paramref name="relativeStart"/>; "." for the
    /// root itself), plus "/<paramref name="file"/>", as NUL-terminated UTF-8 in <paramref name="buffer"/>; false
    /// when it does not fit.
    /// </summary>
    private static bool TryEncodeRelative(string dir, int relativeStart, string? file, Span<byte> buffer, out int length)
    {
        var relative = relativeStart < 0 ? ".".AsSpan() : dir.AsSpan(relativeStart);
        length = 0;
        if (Encoding.UTF8.GetMaxByteCount(relative.Length + 1 + (file?.Length ?? 0)) + 1 > buffer.Length) return false;
        int n = Encoding.UTF8.GetBytes(relative, buffer);
        if (file is not null)
        {
            buffer[n++] = (byte)'/';
            n += Encoding.UTF8.GetBytes(file, buffer[n..]);
        }
        buffer[n] = 0;
        length = n + 1;
        return true;
    }

    private static byte[] EncodeRelativeOnHeap(string dir, int relativeStart, string? file)
    {
        var text = (relativeStart < 0 ? "." : dir[relativeStart..]) + (file is null ? "" : "/" + file);
        var bytes = new byte[Encoding.UTF8.GetByteCount(text) + 1];
        Encoding.UTF8.GetBytes(text, bytes);
        return bytes;
    }

    private static readonly uint DirMode = Convert.ToUInt32("755", 8);

    /// <summary>mkdir 0755 beneath the hierarchy: 0 or the errno.</summary>
    internal int Mkdir(string path) => InParent(path, static (pfd, name) => Openat2.MakeDirectory(pfd, name, DirMode));

    /// <summary>rmdir beneath the hierarchy: 0 or the errno.</summary>
    internal int Rmdir(string path) => InParent(path, Openat2.RemoveDirectory);

    private delegate int SpanCall(int dirfd, ReadOnlySpan<byte> name);

    // Parent directories recently made or removed in, held open (O_PATH, opened beneath the hierarchy): a runtime
    // creates and removes its sandboxes in a handful of parents (/kubepods/pod…, /vc), so mkdir and rmdir cost one
    // syscall instead of three. A held handle keeps naming the directory it was opened on; if that directory is
    // removed, the *at call fails with ENOENT and the handle is dropped and the parent opened afresh once.
    private const int MaxParents = 64;
    private readonly Dictionary<string, SafeFileHandle> _parents = new(StringComparer.Ordinal);

    /// <summary>Runs a *at call on the last component of <paramref name="path"/> in its (safely opened) parent.</summary>
    private int InParent(string path, SpanCall call)
    {
        var trimmed = path.TrimEnd('/');
        int slash = trimmed.LastIndexOf('/');
        if (slash < 0) return Errno.EINVAL;
        var parent = slash == 0 ? "/" : trimmed[..slash];
        var name = trimmed[(slash + 1)..];
        if (name is "" or "." or "..") return Errno.EINVAL;
        for (int attempt = 0, disposed = 0; ; )
        {
            var handle = ParentHandle(parent, out int errno);
            if (handle is null) return errno;
            bool added = false;
            int result;
            try
            {
                handle.DangerousAddRef(ref added);
                int pfd = (int)handle.DangerousGetHandle();
                result = WithUtf8(name, bytes => call(pfd, bytes));
            }
            catch (ObjectDisposedException) when (++disposed < 100)
            {
                // Register dropped the cached handles (a hierarchy registered again) under this call: the call was
                // not made; make it on a fresh handle, without spending the one stale-handle retry below.
                DropParent(parent, handle);
                continue;
            }
            catch (ObjectDisposedException) { result = Errno.EBADF; }
            finally { if (added) handle.DangerousRelease(); }
            if (result != Errno.ENOENT || attempt++ > 0) return result;
            DropParent(parent, handle);   // maybe a stale handle on a parent that was removed: once more, freshly
        }
    }

    private SafeFileHandle? ParentHandle(string parent, out int errno)
    {
        lock (_parents)
        {
            if (_parents.TryGetValue(parent, out var cached)) { errno = 0; return cached; }
        }
        int fd = Open(parent, Openat2.O_PATH | Openat2.O_DIRECTORY, out errno);
        if (fd < 0) return null;
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        lock (_parents)
        {
            if (_parents.TryGetValue(parent, out var raced)) { handle.Dispose(); return raced; }
            if (_parents.Count >= MaxParents)
            {
                foreach (var h in _parents.Values) h.Dispose();   // in-flight calls hold a reference; they finish first
                _parents.Clear();
            }
            _parents[parent] = handle;
        }
        return handle;
    }

    private void DropParent(string parent, SafeFileHandle handle)
    {
        lock (_parents)
        {
            if (_parents.TryGetValue(parent, out var h) && h == handle) _parents.Remove(parent);
        }
        handle.Dispose();
    }

    private delegate int Utf8Call(ReadOnlySpan<byte> bytes);

    /// <summary>The text as NUL-terminated UTF-8, on the stack when short.</summary>
    private static int WithUtf8(string text, Utf8Call call)
    {
        int max = Encoding.UTF8.GetMaxByteCount(text.Length) + 1;
        Span<byte> buf = max <= 1024 ? stackalloc byte[max] : new byte[max];
        int n = Encoding.UTF8.GetBytes(text, buf);
        buf[n] = 0;
        return call(buf[..(n + 1)]);
    }
}
