using KataCgroups.Interop;

namespace KataCgroups.Errors;

/// <summary>
/// The errors about a cgroup that several layers raise (the facade before it calls a driver, every driver, the shared
/// tree helpers), built in one place so each has one wording.
/// </summary>
internal static class CgroupErrors
{
    /// <summary>The cgroup <paramref name="cgroupPath"/>, resolved from <paramref name="requestedPath"/>, does not exist.</summary>
    internal static CgroupException NotFound(string cgroupPath, string requestedPath) =>
        new(ErrorIds.CgroupNotFound, CgroupErrorKind.NotFound,
            $"cgroup {cgroupPath} (from path '{requestedPath}') does not exist", requestedPath);

    /// <summary>
    /// Create is all or nothing and exclusive: a cgroup that was there before, in any hierarchy, or that another
    /// creator (another runspace, another host tool) made meanwhile, fails it, and only that call's own directories
    /// are rolled back. The kernel's mkdir answers the existence question, so nothing is stat'ed first.
    /// </summary>
    internal static CgroupException AlreadyExists(string cgroupPath, string requestedPath) =>
        new(ErrorIds.CgroupAlreadyExists, CgroupErrorKind.AlreadyExists,
            $"cgroup {cgroupPath} already exists; use Set-KataCgroupResource to change it or Remove-KataCgroup first",
            requestedPath);

    /// <summary>
    /// Another process (a Remove-KataCgroup in another session) removed the cgroup while this command
    /// <paramref name="during"/>: said as what happened, rather than as the not-found or failed write it caused.
    /// </summary>
    internal static CgroupException RemovedConcurrently(string cgroupPath, string requestedPath, string during, CgroupException cause) =>
        new(ErrorIds.CgroupRemovedConcurrently, CgroupErrorKind.NotFound,
            $"cgroup {cgroupPath} was removed by another process while it {during} ({cause.Message}); nothing of this create is left, run it again",
            requestedPath, cause.Errno, cause);

    /// <summary>A removal left directories behind: <paramref name="failures"/> says which and why; EBUSY is "busy".</summary>
    internal static CgroupException RemoveFailed(string cgroupPath, IEnumerable<string> failures, int errno) =>
        new(errno == Errno.EBUSY ? ErrorIds.CgroupBusy : ErrorIds.CgroupRemoveFailed,
            errno == Errno.EBUSY ? CgroupErrorKind.ResourceBusy : CgroupErrorKind.WriteFailed,
            $"could not remove cgroup {cgroupPath}: {string.Join("; ", failures)}", cgroupPath, errno);

    /// <summary>A process could not be moved out of a cgroup directory (into its parent).</summary>
    internal static CgroupException ProcessMoveFailed(int pid, string from, string to, int errno) =>
        new(ErrorIds.ProcessMoveFailed, CgroupErrorKind.WriteFailed,
            $"could not move process {pid} from {from} to {to}: {Errno.Describe(errno)}", from, errno);
}
