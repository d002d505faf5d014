using KataCgroups.Model;
using KataCgroups.Drivers;
using KataCgroups.Errors;
using KataCgroups.Paths;

namespace KataCgroups;

/// <summary>What a move did (<see cref="CgroupManager.Move"/>).</summary>
/// <param name="Processes">Processes moved whole, sorted.</param>
/// <param name="Threads">Threads moved alone (their process was not wholly in the source), sorted.</param>
/// <param name="Vanished">Processes or threads that exited between the listing and the write, sorted.</param>
/// <param name="Passes">Passes made; the last one found the source empty.</param>
public sealed record MoveOutcome(IReadOnlyList<int> Processes, IReadOnlyList<int> Threads, IReadOnlyList<int> Vanished, int Passes);

public sealed partial class CgroupManager
{
    /// <summary>
    /// How many passes a move makes at most before it gives up on a source that keeps filling (processes forking faster
    /// than they are moved). Each pass moves everything it lists; a pass is milliseconds, and a shell loop that forks
    /// a child every few milliseconds is caught within a handful.
    /// </summary>
    public const int DefaultMovePasses = 100;

    /// <summary>
    /// Moves single threads into the cgroup (Kata's AddThread; see <see cref="ICgroupDriver.AddThreads"/> for what each
    /// driver does). Thread ids must be positive. An unfinished cgroup is refused as for processes, unless
    /// <paramref name="force"/>.
    /// </summary>
    public Outcome<IReadOnlyList<ThreadOutcome>> AddThreads(CgroupTarget target, IReadOnlyList<int> tids, ICgroupLog log, bool force = false)
    {
        foreach (var tid in tids) ValidatePid(tid);
        var driver = DriverFor(target);
        if (driver.Kind == DriverKind.Systemd) throw Drivers.Systemd.CgroupSystemdDriver.ThreadsUnsupported(target);
        if (Host.RootlessReason is { } why) return new(null, why);
        RefuseUnfinished(driver, target, log, force, $"move thread(s) {string.Join(", ", tids)} in");
        return new(driver.AddThreads(target, tids, log), null);
    }

    /// <summary>
    /// Moves every process and thread of <paramref name="from"/> (and of its descendants) into <paramref name="to"/>, in
    /// every hierarchy — Kata's MoveTo. Passes repeat until one finds the source empty: a process that forks while
    /// being moved leaves its child behind, and the next pass takes it. A task that exits between the listing and
    /// the write is counted as vanished, not an error. After <paramref name="maxPasses"/> passes that each still found
    /// something, the move fails with <see cref="ErrorIds.CgroupMoveIncomplete"/> naming what stayed.
    /// </summary>
    public Outcome<MoveOutcome> Move(CgroupTarget from, CgroupTarget to, ICgroupLog log, int maxPasses = DefaultMovePasses, bool force = false)
    {
        if (maxPasses < 1) throw new ArgumentOutOfRangeException(nameof(maxPasses));
        if (from.CgroupPath == to.CgroupPath && (from.Systemd is null) == (to.Systemd is null))
            throw new CgroupException(ErrorIds.InvalidCgroupPath, CgroupErrorKind.InvalidArgument,
                $"cannot move cgroup {from.CgroupPath} into itself", to.RequestedPath);
        if (CgroupPathText.IsAtOrBelow(to.CgroupPath, from.CgroupPath))
            throw new CgroupException(ErrorIds.InvalidCgroupPath, CgroupErrorKind.InvalidArgument,
                $"cannot move cgroup {from.CgroupPath} into {to.CgroupPath}, which is inside it: a move takes the processes of the source's descendants too",
                to.RequestedPath);
        // Into or out of a scope: the systemd driver (it attaches to scopes, and moves out of them through cgroupfs).
        var driver = from.Systemd is not null || to.Systemd is not null ? Systemd : DriverFor(from);
        if (Host.RootlessReason is { } why) return new(null, why);
        if (!DriverFor(from).Exists(from)) throw CgroupErrors.NotFound(from.CgroupPath, from.RequestedPath);
        var toDriver = DriverFor(to);
        if (!toDriver.Exists(to)) throw CgroupErrors.NotFound(to.CgroupPath, to.RequestedPath);
        RefuseUnfinished(toDriver, to, log, force, $"move the processes of {from.CgroupPath} in");

        var processes = new HashSet<int>();
        var threads = new HashSet<int>();
        var vanished = new HashSet<int>();
        for (int pass = 1; pass <= maxPasses; pass++)
        {
            var p = driver.MoveOnce(from, to, log);
            processes.UnionWith(p.Processes);
            threads.UnionWith(p.Threads);
            vanished.UnionWith(p.Vanished);
            if (p.Found == 0)
                return new(new MoveOutcome(TaskMoves.Sorted(processes), TaskMoves.Sorted(threads), TaskMoves.Sorted(vanished.Except(processes).Except(threads)), pass), null);
            // What only tasks of another PID namespace keep in the source, no further pass can move.
            if (p.Found == p.OutOfReach)
                throw MoveIncomplete(from, to, pass, driver.GetTasks(from), processes.Count, threads.Count,
                    "They belong to another PID namespace (cgroup v2 lists such a task as 0): only a process that can see them can move them");
            if (pass > 1) log.Debug($"move {from.CgroupPath} → {to.CgroupPath}: pass {pass} found {p.Found} task(s) (forked or created meanwhile)");
        }
        var left = driver.GetTasks(from);
        if (left.Count == 0)
            return new(new MoveOutcome(TaskMoves.Sorted(processes), TaskMoves.Sorted(threads), TaskMoves.Sorted(vanished.Except(processes).Except(threads)), maxPasses), null);
        throw MoveIncomplete(from, to, maxPasses, left, processes.Count, threads.Count,
            "Something keeps starting processes there faster than they can be moved (a fork loop): stop it, or end them with Remove-KataCgroup -Kill");
    }

    /// <summary>The failure of a move whose source did not empty, naming what stayed (at most 20 tasks).</summary>
    private CgroupException MoveIncomplete(CgroupTarget from, CgroupTarget to, int passes, IReadOnlyList<int> left, int processes, int threads, string why)
    {
        var named = string.Join(", ", left.Take(20).Select(t => $"{t} ({Comm(t)})")) + (left.Count > 20 ? $" and {left.Count - 20} more" : "");
        return new CgroupException(ErrorIds.CgroupMoveIncomplete, CgroupErrorKind.ResourceBusy,
            $"moving {from.CgroupPath} into {to.CgroupPath} did not finish: after {passes} {(passes == 1 ? "pass" : "passes")} {left.Count} task(s) are still in it — {named}; " +
            $"{processes} process(es) and {threads} thread(s) were moved. {why}",
            from.RequestedPath);
    }

    /// <summary>A task's command name for an error message: "exited", or for an id out of reach, that it is in another PID namespace.</summary>
    private string Comm(int tid) => TaskMoves.OutOfReach(tid) ? "another PID namespace"
        : CgroupFs.TryReadSystemFile(Path.Combine(Host.Options.ProcRoot, tid.ToString(System.Globalization.CultureInfo.InvariantCulture), "comm")) ?? "exited";

    /// <summary>An unfinished destination refuses processes and threads unless forced (then a warning).</summary>
    private static void RefuseUnfinished(ICgroupDriver driver, CgroupTarget target, ICgroupLog log, bool force, string action)
    {
        if (driver.Kind == DriverKind.Systemd || driver.Check(target) is not { Unfinished: true } state) return;
        if (!force) throw Unfinished(target, state, action);
        log.Warning($"cgroup {target.CgroupPath} is unfinished, going on with -Force to {action}: {state.Reason}");
    }
}
