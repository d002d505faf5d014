namespace KataCgroups.Model;

/// <summary>What happened to one pid of an add or move.</summary>
/// <param name="Pid">The process id.</param>
/// <param name="Added">True when it is now in the cgroup in every hierarchy.</param>
/// <param name="Error">Why not, when not (e.g. the process no longer exists).</param>
/// <param name="Vanished">True when the process did not exist or exited during the move.</param>
/// <param name="ErrorId">A more precise error id than the generic move failure (e.g. <c>CpusetEmpty</c>), or null.</param>
public sealed record ProcessOutcome(int Pid, bool Added, string? Error = null, bool Vanished = false, string? ErrorId = null);

/// <summary>How a thread of an add was placed (ICgroupDriver.AddThreads).</summary>
public enum ThreadPlacement
{
    /// <summary>Not placed (see the outcome's error).</summary>
    None,
    /// <summary>The thread alone: v1 <c>tasks</c> in every v1 hierarchy, or v2 <c>cgroup.threads</c> of a threaded cgroup.</summary>
    Thread,
    /// <summary>
    /// Its whole process: a cgroup v2 domain cgroup keeps every thread of a process together, so the thread id moved
    /// the process it belongs to (Kata's AddThread does the same on v2: cgroupsv2 AddProc).
    /// </summary>
    WholeProcess,
}

/// <summary>What happened to one thread of an add.</summary>
/// <param name="ThreadId">The thread id (a tid, as in /proc/&lt;pid&gt;/task).</param>
/// <param name="ProcessId">Its process (thread group), 0 when unknown (it exited).</param>
/// <param name="Placement">How it was placed; <see cref="ThreadPlacement.None"/> when it was not.</param>
/// <param name="Error">Why not, when not.</param>
/// <param name="Vanished">True when the thread did not exist or exited during the move.</param>
public sealed record ThreadOutcome(int ThreadId, int ProcessId, ThreadPlacement Placement, string? Error = null, bool Vanished = false)
{
    /// <summary>True when it is now in the cgroup.</summary>
    public bool Added => Placement != ThreadPlacement.None;
}

/// <summary>What one pass of a move found and moved (ICgroupDriver.MoveOnce).</summary>
/// <param name="Found">Tasks (processes and threads) the pass found in the source, moved or not.</param>
/// <param name="Processes">Processes moved whole (cgroup.procs): every thread of theirs was in the source.</param>
/// <param name="Threads">Threads moved alone (v1 tasks, v2 cgroup.threads): their process was not wholly in the source.</param>
/// <param name="Vanished">Processes or threads that exited between the listing and the write (not an error).</param>
/// <param name="OutOfReach">
/// Tasks found that belong to another PID namespace: cgroup v2 lists them as 0, and nothing in this one can move them.
/// </param>
public sealed record MovePass(int Found, IReadOnlyList<int> Processes, IReadOnlyList<int> Threads, IReadOnlyList<int> Vanished, int OutOfReach = 0);

/// <summary>Options of a removal.</summary>
/// <param name="Kill">Kill the processes instead of moving them to the parent.</param>
/// <param name="RemoveEmptyParent">
/// Then remove, in every hierarchy and bottom-up, the parents a create made that are left empty
/// (<see cref="CgroupManager.Remove"/>); drivers ignore it.
/// </param>
/// <param name="ConfirmParent">Asked before each such parent is removed (the cmdlet's ShouldProcess); false keeps it and the ones above.</param>
public sealed record RemoveOptions(bool Kill = false, bool RemoveEmptyParent = false, Func<string, bool>? ConfirmParent = null);

/// <summary>What a removal did.</summary>
/// <param name="MovedProcesses">Distinct pids moved to the parent.</param>
/// <param name="KilledProcesses">Distinct pids killed.</param>
/// <param name="RemovedDirectories">Directories removed.</param>
/// <param name="RemovedParents">Empty parent directories removed after the cgroup (-RemoveEmptyParent), bottom-up per hierarchy.</param>
public sealed record RemoveOutcome(int MovedProcesses, int KilledProcesses, int RemovedDirectories, IReadOnlyList<string>? RemovedParents = null);
