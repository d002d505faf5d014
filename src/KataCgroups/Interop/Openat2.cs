using System.Runtime.InteropServices;

namespace KataCgroups.Interop;

/// <summary>
/// openat2(2) (Linux 5.6) and the *at calls that go with a directory handle: opening a cgroup file relative to
/// its hierarchy's mount with resolution confined beneath it (opencontainers/cgroups file.go).
/// glibc has no openat2 wrapper, so it goes through syscall(2); the number is 437 on every architecture
/// (it was added after the syscall tables were unified).
/// </summary>
internal static unsafe partial class Openat2
{
    private const long SysOpenat2 = 437;

    /// <summary>include/uapi/linux/openat2.h</summary>
    internal const ulong RESOLVE_NO_XDEV = 0x01, RESOLVE_NO_MAGICLINKS = 0x02, RESOLVE_NO_SYMLINKS = 0x04, RESOLVE_BENEATH = 0x08;

    /// <summary>O_DIRECTORY and O_NOFOLLOW differ by architecture (arm64: 040000/0100000, x86_64: 0200000/0400000).</summary>
    internal static readonly int O_DIRECTORY = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 0x4000 : 0x10000;
    internal static readonly int O_NOFOLLOW = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 0x8000 : 0x20000;
    internal const int O_PATH = 0x200000;
    internal const int AT_REMOVEDIR = 0x200;

    [StructLayout(LayoutKind.Sequential)]
    private struct OpenHow
    {
        public ulong Flags;
        public ulong Mode;
        public ulong Resolve;
    }

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, long dirfd, byte* path, OpenHow* how, long size);

    [LibraryImport("libc", EntryPoint = "mkdirat", SetLastError = true)]
    private static partial int MkdirAt(int dirfd, byte* path, uint mode);

    [LibraryImport("libc", EntryPoint = "unlinkat", SetLastError = true)]
    private static partial int UnlinkAt(int dirfd, byte* path, int flags);

    [LibraryImport("libc", EntryPoint = "fstatfs", SetLastError = true)]
    private static partial int FStatFs(int fd, byte* buf);

    /// <summary>Opens <paramref name="relative"/> (NUL-terminated UTF-8) beneath <paramref name="dirfd"/>; the fd, or -1 and errno.</summary>
    internal static int Open(int dirfd, ReadOnlySpan<byte> relative, int flags, ulong resolve, out int errno)
    {
        var how = new OpenHow { Flags = (ulong)(flags | Libc.O_CLOEXEC), Resolve = resolve };
        fixed (byte* p = relative)
        {
            long fd = Syscall(SysOpenat2, dirfd, p, &how, sizeof(OpenHow));
            errno = fd < 0 ? Marshal.GetLastPInvokeError() : 0;
            return (int)fd;
        }
    }

    /// <summary>mkdirat(dirfd, name, mode): 0 or the errno.</summary>
    internal static int MakeDirectory(int dirfd, ReadOnlySpan<byte> name, uint mode)
    {
        fixed (byte* p = name) return MkdirAt(dirfd, p, mode) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    /// <summary>unlinkat(dirfd, name, AT_REMOVEDIR): 0 or the errno.</summary>
    internal static int RemoveDirectory(int dirfd, ReadOnlySpan<byte> name)
    {
        fixed (byte* p = name) return UnlinkAt(dirfd, p, AT_REMOVEDIR) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    /// <summary>f_type of the file system of an open fd (struct statfs starts with the word-sized f_type).</summary>
    internal static bool TryGetFsType(int fd, out long magic)
    {
        byte* buf = stackalloc byte[256];
        if (FStatFs(fd, buf) != 0) { magic = 0; return false; }
        magic = *(long*)buf;
        return true;
    }
}
