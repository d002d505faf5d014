namespace KataCgroups.Model;

/// <summary>What happened to one pid of an add or move.</summary>
/// <param name="Pid">The process id.</param>
/// <param name="Added">True when it is now in the cgroup in every hierarchy.</param>
/// <param name="Error">Why not, when not (e.g. the process no longer exists).</param>
/// <param name="Vanished">True when the process did not exist or exited during the move.</param>
public sealed record ProcessOutcome(int Pid, bool Added, string? Error = null, bool Vanished = false);

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
