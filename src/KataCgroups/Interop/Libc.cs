using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace KataCgroups.Interop;

/// <summary>
/// The few libc calls the BCL does not give us with an errno we can act on: open/write for one value per
/// write() (kernel cgroup files parse one value per write), mkdir/rmdir that report EEXIST/EBUSY/ENOENT
/// exactly, statfs for the file-system magic, stat for device numbers. Model: dotnet/runtime
/// src/libraries/Common/src/Interop/Linux.
/// </summary>
internal static partial class Libc
{
    private const string Lib = "libc";

    internal const int O_RDONLY = 0x0;
    internal const int O_WRONLY = 0x1;
    internal const int O_CLOEXEC = 0x80000;

    [LibraryImport(Lib, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Open(string path, int flags, int mode);

    [LibraryImport(Lib, EntryPoint = "close", SetLastError = true)]
    internal static partial int Close(int fd);

    [LibraryImport(Lib, EntryPoint = "write", SetLastError = true)]
    internal static unsafe partial nint Write(int fd, byte* buf, nint count);

    [LibraryImport(Lib, EntryPoint = "read", SetLastError = true)]
    internal static unsafe partial nint Read(int fd, byte* buf, nint count);

    [LibraryImport(Lib, EntryPoint = "mkdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Mkdir(string path, uint mode);

    [LibraryImport(Lib, EntryPoint = "rmdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Rmdir(string path);

    [LibraryImport(Lib, EntryPoint = "statfs", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int StatFs(string path, byte* buf);

    [LibraryImport(Lib, EntryPoint = "geteuid")]
    internal static partial uint GetEuid();

    [LibraryImport(Lib, EntryPoint = "strerror")]
    private static partial nint StrErrorNative(int errnum);

    [LibraryImport(Lib, EntryPoint = "kill", SetLastError = true)]
    internal static partial int Kill(int pid, int sig);

    internal static string StrError(int errno)
    {
        nint p = StrErrorNative(errno);
        return p == 0 ? "unknown error" : Marshal.PtrToStringUTF8(p) ?? "unknown error";
    }

    /// <summary>
    /// f_type of the file system holding <paramref name="path"/>. struct statfs starts with the
    /// word-sized f_type on every 64-bit Linux ABI (x86_64, arm64); 256 bytes covers the whole struct.
    /// </summary>
    internal static unsafe bool TryGetFsType(string path, out long magic, out int errno)
    {
        byte* buf = stackalloc byte[256];
        if (StatFs(path, buf) != 0)
        {
            errno = Marshal.GetLastPInvokeError();
            magic = 0;
            return false;
        }
        errno = 0;
        magic = *(long*)buf;
        return true;
    }

    internal const int O_NONBLOCK = 0x800, O_NOCTTY = 0x100;
    private const int AT_EMPTY_PATH = 0x1000;
    private const uint STATX_SIZE = 0x200;

    /// <summary>Why <see cref="TryReadRegularFile"/> read nothing.</summary>
    internal enum ReadRefusal { None, Errno, NotRegular, TooLarge }

    /// <summary>
    /// Reads a whole regular file of at most <paramref name="maxBytes"/> without ever blocking on what is not one:
    /// opened O_NONBLOCK (a FIFO's open does not wait for a writer), then fstat'ed through statx(AT_EMPTY_PATH) and
    /// refused unless S_IFREG (FIFOs, character devices such as /dev/zero, directories), and read only up to the
    /// bound, whatever size the file claims (procfs files say 0; a file may grow while read). <paramref name="mode"/>
    /// is the file type bits, <paramref name="size"/> what statx reported.
    /// </summary>
    internal static unsafe ReadRefusal TryReadRegularFile(string path, int maxBytes, out byte[]? content, out int errno, out int mode, out long size)
    {
        content = null; errno = 0; mode = 0; size = 0;
        int fd = Open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0);
        if (fd < 0) { errno = Marshal.GetLastPInvokeError(); return ReadRefusal.Errno; }
        try
        {
            byte* st = stackalloc byte[256];
            byte empty = 0;
            if (StatxAtNative(fd, &empty, AT_EMPTY_PATH, STATX_TYPE | STATX_SIZE, st) != 0)
            {
                errno = Marshal.GetLastPInvokeError();
                return ReadRefusal.Errno;
            }
            mode = *(ushort*)(st + 28) & S_IFMT;
            size = (long)*(ulong*)(st + 40);   // stx_size
            if (mode != S_IFREG) return ReadRefusal.NotRegular;
            if (size > maxBytes) return ReadRefusal.TooLarge;
            var buffer = new byte[Math.Min(maxBytes + 1L, Math.Max(size + 1, 4096))];
            int total = 0;
            while (true)
            {
                if (total == buffer.Length)
                {
                    if (buffer.Length > maxBytes) return ReadRefusal.TooLarge;
                    Array.Resize(ref buffer, (int)Math.Min(maxBytes + 1L, buffer.Length * 2L));
                }
                nint n;
                fixed (byte* b = &buffer[total]) n = Read(fd, b, buffer.Length - total);
                if (n < 0)
                {
                    errno = Marshal.GetLastPInvokeError();
                    if (errno == Errno.EINTR) continue;
                    return ReadRefusal.Errno;
                }
                if (n == 0) break;
                total += (int)n;
                if (total > maxBytes) return ReadRefusal.TooLarge;
            }
            content = buffer.AsSpan(0, total).ToArray();
            return ReadRefusal.None;
        }
        finally { Close(fd); }
    }

    internal const int AT_FDCWD = -100;
    private const int AT_SYMLINK_NOFOLLOW = 0x100, AT_STATX_DONT_SYNC = 0x4000;
    internal const uint STATX_TYPE = 0x1, STATX_NLINK = 0x4;
    internal const int S_IFMT = 0xF000, S_IFDIR = 0x4000, S_IFREG = 0x8000, S_IFCHR = 0x2000, S_IFBLK = 0x6000, S_IFIFO = 0x1000, S_IFSOCK = 0xC000;

    /// <summary>What <see cref="TryStatxAt"/> reports of struct statx (include/uapi/linux/stat.h).</summary>
    internal readonly record struct StatxResult(uint Mask, uint NLink, int Mode);

    [LibraryImport(Lib, EntryPoint = "statx", SetLastError = true)]
    private static unsafe partial int StatxAtNative(int dirfd, byte* path, int flags, uint mask, byte* buf);

    /// <summary>
    /// statx(2) of <paramref name="relative"/> (NUL-terminated UTF-8) under <paramref name="dirfd"/>, not following a
    /// final symlink and without syncing remote attributes. struct statx has one layout on every architecture:
    /// stx_mask u32 at 0, stx_nlink u32 at 16, stx_mode u16 at 28; 256 bytes in all.
    /// </summary>
    [SkipLocalsInit]
    internal static unsafe bool TryStatxAt(int dirfd, ReadOnlySpan<byte> relative, uint mask, out StatxResult result)
    {
        byte* buf = stackalloc byte[256];
        fixed (byte* p = relative)
        {
            if (StatxAtNative(dirfd, p, AT_SYMLINK_NOFOLLOW | AT_STATX_DONT_SYNC, mask, buf) != 0) { result = default; return false; }
        }
        result = new StatxResult(*(uint*)buf, *(uint*)(buf + 16), *(ushort*)(buf + 28));
        return true;
    }
}
