using System.Runtime.InteropServices;

namespace KataCgroups.Devices;

/// <summary>A device node's type and numbers, from <c>statx(2)</c>.</summary>
public readonly record struct DeviceNode(char Type, long Major, long Minor)
{
    /// <summary>
    /// Stats a path: null when it does not exist or is not a device node; <paramref name="error"/> says why.
    /// statx is used because its layout is the same on every architecture (struct stat is not).
    /// </summary>
    public static DeviceNode? TryStat(string path, out string? error) => DeviceNodeInterop.TryStat(path, out error);
}

internal static unsafe partial class DeviceNodeInterop
{
    private const int AT_FDCWD = -100;
    private const uint STATX_TYPE = 0x1;
    private const int S_IFMT = 0xF000, S_IFCHR = 0x2000, S_IFBLK = 0x6000;

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int dirfd, string path, int flags, uint mask, byte* buf);

    internal static DeviceNode? TryStat(string path, out string? error)
    {
        byte* buf = stackalloc byte[256]; // sizeof(struct statx) == 256 (include/uapi/linux/stat.h)
        if (Statx(AT_FDCWD, path, 0, STATX_TYPE, buf) != 0)
        {
            error = Interop.Errno.Describe(Marshal.GetLastPInvokeError());
            return null;
        }
        int mode = *(ushort*)(buf + 28);           // stx_mode
        uint major = *(uint*)(buf + 128), minor = *(uint*)(buf + 132); // stx_rdev_major, stx_rdev_minor
        switch (mode & S_IFMT)
        {
            case S_IFCHR: error = null; return new DeviceNode('c', major, minor);
            case S_IFBLK: error = null; return new DeviceNode('b', major, minor);
            default: error = "not a device node"; return null;
        }
    }
}
