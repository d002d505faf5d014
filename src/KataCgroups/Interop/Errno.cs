namespace KataCgroups.Interop;

/// <summary>Linux errno values the engine reacts to (asm-generic/errno-base.h; same on x86_64 and arm64).</summary>
public static class Errno
{
#pragma warning disable CS1591
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int ESRCH = 3;
    public const int EINTR = 4;
    public const int EIO = 5;
    public const int EBADF = 9;
    public const int EAGAIN = 11;
    public const int ENOMEM = 12;
    public const int EACCES = 13;
    public const int EBUSY = 16;
    public const int EEXIST = 17;
    public const int EXDEV = 18;
    public const int ENODEV = 19;
    public const int ENOTDIR = 20;
    public const int EISDIR = 21;
    public const int EINVAL = 22;
    public const int ENOSPC = 28;
    public const int EROFS = 30;
    public const int ERANGE = 34;
    public const int ENAMETOOLONG = 36;
    public const int ENOSYS = 38;
    public const int ENOTEMPTY = 39;
    public const int ELOOP = 40;
    public const int EOPNOTSUPP = 95;
#pragma warning restore CS1591

    /// <summary>Symbolic name of an errno, or <c>errno N</c>.</summary>
    public static string Name(int errno) => errno switch
    {
        EPERM => "EPERM", ENOENT => "ENOENT", ESRCH => "ESRCH", EINTR => "EINTR", EIO => "EIO",
        EBADF => "EBADF", EAGAIN => "EAGAIN", ENOMEM => "ENOMEM", EACCES => "EACCES", EBUSY => "EBUSY",
        EEXIST => "EEXIST", EXDEV => "EXDEV", ENODEV => "ENODEV", ENOTDIR => "ENOTDIR", EISDIR => "EISDIR",
        EINVAL => "EINVAL", ENOSPC => "ENOSPC", EROFS => "EROFS", ERANGE => "ERANGE",
        ENAMETOOLONG => "ENAMETOOLONG", ENOSYS => "ENOSYS", ENOTEMPTY => "ENOTEMPTY", ELOOP => "ELOOP",
        EOPNOTSUPP => "EOPNOTSUPP",
        _ => "errno " + errno,
    };

    /// <summary>Human text for an errno, e.g. <c>EBUSY (Device or resource busy)</c>.</summary>
    public static string Describe(int errno) => $"{Name(errno)} ({Libc.StrError(errno)})";
}
