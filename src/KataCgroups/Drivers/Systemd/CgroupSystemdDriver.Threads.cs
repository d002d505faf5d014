using KataCgroups.Model;
using KataCgroups.Errors;
using KataCgroups.Paths;

namespace KataCgroups.Drivers.Systemd;

/// <summary>
/// Threads and moves for systemd scopes. A scope is a set of processes: systemd takes PIDs (the <c>PIDs</c> property,
/// AttachProcessesToUnit) and moves whole processes, with no way to name a single thread (org.freedesktop.systemd1(5)).
/// So placing a thread alone is refused with <see cref="ErrorIds.ThreadPlacementUnsupported"/> rather than done
/// behind systemd's back; Kata likewise has no systemd form of its overhead cgroup, and treats a systemd path as a
/// cgroupfs one when vCPU threads must go apart (resourcecontrol NewSandboxResourceController).
/// </summary>
public sealed partial class CgroupSystemdDriver
{
    /// <inheritdoc/>
    public IReadOnlyList<ThreadOutcome> AddThreads(CgroupTarget target, IReadOnlyList<int> tids, ICgroupLog log) =>
        throw ThreadsUnsupported(target);

    internal static CgroupException ThreadsUnsupported(CgroupTarget target) =>
        new(ErrorIds.ThreadPlacementUnsupported, CgroupErrorKind.NotSupported,
            $"cannot place single threads in {target.Systemd?.UnitName ?? target.CgroupPath}: a systemd scope holds whole processes " +
            "(systemd attaches PIDs, never a thread alone); add the process with Add-KataCgroupProcess -Id, or use a cgroupfs path " +
            "for a cgroup whose threads go apart (Kata's overhead layout is cgroupfs-only too)",
            target.RequestedPath);

    /// <inheritdoc/>
    /// <remarks>
    /// Into a scope: the source's processes are attached with AttachProcessesToUnit (whole processes — a thread placed
    /// alone in the source brings its process along, as systemd knows only processes). Out of a scope into a cgroupfs
    /// cgroup: through cgroupfs, as any move (the scope is Delegate=yes).
    /// </remarks>
    public MovePass MoveOnce(CgroupTarget from, CgroupTarget to, ICgroupLog log)
    {
        if (to.Systemd is null) return _fsDriver.MoveOnce(from, to, log);
        var pids = _fsDriver.GetProcesses(from);
        var whole = new List<int>();
        var vanished = new List<int>();
        foreach (var o in AddProcesses(to, pids, log))
        {
            if (o.Added) whole.Add(o.Pid);
            else if (o.Vanished) vanished.Add(o.Pid);
            else throw new CgroupException(ErrorIds.ProcessMoveFailed, CgroupErrorKind.WriteFailed,
                o.Error ?? $"process {o.Pid} was not moved into {to.Systemd.UnitName}", from.RequestedPath);
        }
        return new MovePass(pids.Count, whole, Array.Empty<int>(), vanished);
    }

    /// <inheritdoc/>
    public IReadOnlyList<int> GetTasks(CgroupTarget target) => _fsDriver.GetTasks(target);
}
