using System.Runtime.InteropServices;
using System.Text;

namespace KataCgroups.Interop;

/// <summary>
/// getxattr/setxattr for the device rule set the v2 driver keeps on a cgroup directory (cgroupfs stores
/// <c>trusted.*</c> attributes for CAP_SYS_ADMIN: fs/kernfs/inode.c). Model: dotnet/runtime Interop/Unix.
/// </summary>
internal static unsafe partial class Xattr
{
    [LibraryImport("libc", EntryPoint = "getxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint GetXattr(string path, string name, byte* value, nint size);

    [LibraryImport("libc", EntryPoint = "setxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetXattr(string path, string name, byte* value, nint size, int flags);

    [LibraryImport("libc", EntryPoint = "lgetxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint LGetXattr(string path, string name, byte* value, nint size);

    [LibraryImport("libc", EntryPoint = "fsetxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int FSetXattr(int fd, string name, byte* value, nint size, int flags);

    [LibraryImport("libc", EntryPoint = "fremovexattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int FRemoveXattr(int fd, string name);

    /// <summary>The attribute as UTF-8 text; null with the errno (ENODATA = not set) when it cannot be read.</summary>
    internal static string? TryGet(string path, string name, out int errno)
    {
        for (int attempt = 0; attempt < 3; attempt++)
        {
            nint size = GetXattr(path, name, null, 0);
            if (size < 0) { errno = Marshal.GetLastPInvokeError(); return null; }
            var buf = new byte[Math.Max(1, (int)size)];
            fixed (byte* p = buf)
            {
                nint n = GetXattr(path, name, p, buf.Length);
                if (n >= 0) { errno = 0; return Encoding.UTF8.GetString(buf, 0, (int)n); }
                errno = Marshal.GetLastPInvokeError();
                if (errno != Errno.ERANGE) return null;   // grew between the two calls: ask again
            }
        }
        errno = Errno.ERANGE;
        return null;
    }

    /// <summary>Sets the attribute (created or replaced); returns 0 or the errno.</summary>
    internal static int TrySet(string path, string name, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        fixed (byte* p = bytes)
        {
            return SetXattr(path, name, p, bytes.Length, 0) == 0 ? 0 : Marshal.GetLastPInvokeError();
        }
    }

    /// <summary>
    /// Whether the attribute is set on <paramref name="path"/> (one size-only lgetxattr, no final symlink followed);
    /// 0 in <paramref name="errno"/> when set or certainly not set (ENODATA), else why it could not be asked.
    /// </summary>
    internal static bool IsSet(string path, string name, out int errno)
    {
        if (LGetXattr(path, name, null, 0) >= 0) { errno = 0; return true; }
        errno = Marshal.GetLastPInvokeError();
        if (errno == ENODATA) errno = 0;
        return false;
    }

    /// <summary>Sets the attribute on an open descriptor (created or replaced); returns 0 or the errno.</summary>
    internal static int TrySet(int fd, string name, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        fixed (byte* p = bytes)
        {
            return FSetXattr(fd, name, p, bytes.Length, 0) == 0 ? 0 : Marshal.GetLastPInvokeError();
        }
    }

    /// <summary>Removes the attribute from an open descriptor; returns 0 (also when it was not set) or the errno.</summary>
    internal static int TryRemove(int fd, string name)
    {
        if (FRemoveXattr(fd, name) == 0) return 0;
        int errno = Marshal.GetLastPInvokeError();
        return errno == ENODATA ? 0 : errno;
    }

    /// <summary>ENODATA: the attribute is not set (asm-generic/errno.h, 61 on x86_64 and arm64).</summary>
    internal const int ENODATA = 61;
}
