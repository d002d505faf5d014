using System.Management.Automation;
using KataCgroups.Errors;

namespace KataCgroups.PowerShell.Internal;

/// <summary>Engine errors → ErrorRecords with the engine's stable id, a category and the input as target (STYLE rule 4).</summary>
internal static class ErrorRecords
{
    public static ErrorRecord From(CgroupException e, object? target = null) =>
        new(e, e.ErrorId, Category(e.Kind), target ?? e.Target);

    public static ErrorCategory Category(CgroupErrorKind kind) => kind switch
    {
        CgroupErrorKind.InvalidArgument => ErrorCategory.InvalidArgument,
        CgroupErrorKind.NotFound => ErrorCategory.ObjectNotFound,
        CgroupErrorKind.PermissionDenied => ErrorCategory.PermissionDenied,
        CgroupErrorKind.ResourceBusy => ErrorCategory.ResourceBusy,
        CgroupErrorKind.WriteFailed => ErrorCategory.WriteError,
        CgroupErrorKind.ReadFailed => ErrorCategory.ReadError,
        CgroupErrorKind.NotSupported => ErrorCategory.NotImplemented,
        CgroupErrorKind.AlreadyExists => ErrorCategory.ResourceExists,
        _ => ErrorCategory.NotSpecified,
    };

    /// <summary>An error the cmdlet layer raises itself (bad parameter combination).</summary>
    public static ErrorRecord Invalid(string errorId, string message, object? target) =>
        new(new ArgumentException(message), errorId, ErrorCategory.InvalidArgument, target);
}
