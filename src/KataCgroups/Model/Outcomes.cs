namespace KataCgroups.Model;

/// <summary>What happened to one pid of an add or move.</summary>
/// <param name="Pid">The process id.</param>
/// <param name="Added">True when it is now in the cgroup in every hierarchy.</param>
/// <param name="Error">Why not, when not (e.g. the process no longer exists).</param>
/// <param name="Vanished">True when the process did not exist or exited during the move.</param>
public sealed record ProcessOutcome(int Pid, bool Added, string? Error = null, bool Vanished = false);

/// <summary>Options of a removal.</summary>
/// <param name="Kill">Kill the processes instead of moving them to the parent.</param>
public sealed record RemoveOptions(bool Kill = false);

/// <summary>What a removal did.</summary>
/// <param name="MovedProcesses">Distinct pids moved to the parent.</param>
/// <param name="KilledProcesses">Distinct pids killed.</param>
/// <param name="RemovedDirectories">Directories removed.</param>
public sealed record RemoveOutcome(int MovedProcesses, int KilledProcesses, int RemovedDirectories);
