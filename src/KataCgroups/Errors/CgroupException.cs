namespace KataCgroups.Errors;

/// <summary>What kind of failure an engine error is; the cmdlets map it onto an ErrorCategory.</summary>
public enum CgroupErrorKind
{
    /// <summary>The caller passed something malformed (path, number, device rule, JSON).</summary>
    InvalidArgument,
    /// <summary>The cgroup, process or file does not exist.</summary>
    NotFound,
    /// <summary>The kernel refused with EACCES/EPERM.</summary>
    PermissionDenied,
    /// <summary>The kernel answered EBUSY, or the cgroup is in use.</summary>
    ResourceBusy,
    /// <summary>A cgroup file write or directory operation failed.</summary>
    WriteFailed,
    /// <summary>Reading the host state failed or gave something unexpected.</summary>
    ReadFailed,
    /// <summary>The request cannot be expressed on this host (cgroup mode, missing controller).</summary>
    NotSupported,
    /// <summary>An object already exists.</summary>
    AlreadyExists,
}

/// <summary>
/// Base of every error the engine throws on purpose. <see cref="ErrorId"/> is stable: cmdlets use it as the
/// ErrorRecord id and tests pin it, so never rename one.
/// </summary>
public class CgroupException : Exception
{
    /// <summary>Creates an engine error.</summary>
    public CgroupException(string errorId, CgroupErrorKind kind, string message, string? target = null, int errno = 0, Exception? inner = null)
        : base(message, inner)
    {
        ErrorId = errorId;
        Kind = kind;
        Target = target;
        Errno = errno;
    }

    /// <summary>Stable identifier, e.g. <c>InvalidCgroupPath</c>.</summary>
    public string ErrorId { get; }

    /// <summary>Kind of failure.</summary>
    public CgroupErrorKind Kind { get; }

    /// <summary>The input or file the error is about (a path, a pid, a file name).</summary>
    public string? Target { get; }

    /// <summary>The errno the kernel returned, 0 when the error did not come from a system call.</summary>
    public int Errno { get; }

    /// <summary>Symbolic errno name (EBUSY, ENOENT…) or null.</summary>
    public string? ErrnoName => Errno == 0 ? null : Interop.Errno.Name(Errno);
}

/// <summary>
/// Stable error ids, one constant per failure a user can meet: the engine's and those the cmdlets raise
/// themselves. The one list of them; every ErrorRecord's id is one of these constants, never a string literal,
/// and tests/Pester/Docs.Tests.ps1 fails for a constant that about_KataCgroups does not document.
/// </summary>
public static class ErrorIds
{
#pragma warning disable CS1591 // the names are the documentation
    public const string InvalidCgroupPath = "InvalidCgroupPath";
    public const string MalformedSystemdPath = "MalformedSystemdPath";
    public const string InvalidResourceValue = "InvalidResourceValue";
    public const string InvalidDeviceRule = "InvalidDeviceRule";
    public const string InvalidOciConfig = "InvalidOciConfig";
    public const string OciConfigNotFound = "OciConfigNotFound";
    public const string CgroupNotFound = "CgroupNotFound";
    public const string CgroupAlreadyExists = "CgroupAlreadyExists";
    public const string CgroupUnfinished = "CgroupUnfinished";
    public const string CgroupRemovedConcurrently = "CgroupRemovedConcurrently";
    public const string CgroupWriteFailed = "CgroupWriteFailed";
    public const string CgroupReadFailed = "CgroupReadFailed";
    public const string CgroupCreateFailed = "CgroupCreateFailed";
    public const string CgroupRemoveFailed = "CgroupRemoveFailed";
    public const string CgroupBusy = "CgroupBusy";
    public const string MemoryLimitBusy = "MemoryLimitBusy";
    public const string DevicesMismatch = "DevicesMismatch";
    public const string InvalidProcessId = "InvalidProcessId";
    public const string ProcessNotFound = "ProcessNotFound";
    public const string ProcessMoveFailed = "ProcessMoveFailed";
    public const string UnsupportedOnHost = "UnsupportedOnHost";
    public const string BlockIoWeightUnsupported = "BlockIoWeightUnsupported";
    public const string ControllerNotMounted = "ControllerNotMounted";
    public const string ControllerNotFound = "ControllerNotFound";
    public const string HostProbeFailed = "HostProbeFailed";
    public const string FreezeFailed = "FreezeFailed";
    public const string SystemdUnavailable = "SystemdUnavailable";
    public const string SystemdJobFailed = "SystemdJobFailed";
    public const string SystemdCallFailed = "SystemdCallFailed";
    public const string PidNamespaceMismatch = "PidNamespaceMismatch";
    public const string DeviceStateUnknown = "DeviceStateUnknown";
    public const string CpusetNotSubset = "CpusetNotSubset";
    public const string CpusetBusy = "CpusetBusy";
    public const string CpusetEmpty = "CpusetEmpty";
    // [threads and sandboxes]
    public const string ThreadPlacementUnsupported = "ThreadPlacementUnsupported";
    public const string CgroupMoveIncomplete = "CgroupMoveIncomplete";
    public const string VcpuThreadsNotFound = "VcpuThreadsNotFound";
    public const string ThreadNotInProcess = "ThreadNotInProcess";
    // [events]
    public const string CgroupEventsUnavailable = "CgroupEventsUnavailable";
    public const string CgroupEventTimeout = "CgroupEventTimeout";
    // raised by the cmdlets: parameter combinations and names only they know
    public const string NoCgroupPath = "NoCgroupPath";
    public const string CgroupPathRequired = "CgroupPathRequired";
    public const string ProcessIdRequired = "ProcessIdRequired";
    public const string HostCheckNotFound = "HostCheckNotFound";
#pragma warning restore CS1591
}
