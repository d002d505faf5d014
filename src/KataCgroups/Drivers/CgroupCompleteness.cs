using KataCgroups.Model;

namespace KataCgroups.Drivers;

/// <summary>
/// Whether a cgroup is there and finished, asked before a mutation (<see cref="ICgroupDriver.Check"/>): cheaper than a
/// read — a stat per hierarchy and one attribute lookup.
/// </summary>
/// <param name="Exists">The directory exists in at least one hierarchy.</param>
/// <param name="Marked">The create mark is set (<see cref="CreateMark"/>).</param>
/// <param name="MissingIn">Hierarchies where the directory is missing.</param>
/// <param name="InProgress">The mark names a process that is still running: being created right now.</param>
/// <param name="KillInterrupted">A Remove-KataCgroup -Kill was cut short between its freeze and its thaw (<see cref="KillMark"/>).</param>
public sealed record CgroupCompleteness(bool Exists, bool Marked, IReadOnlyList<string> MissingIn, bool InProgress = false, bool KillInterrupted = false)
{
    /// <summary>There, but not finished.</summary>
    public bool Unfinished => Exists && (Marked || MissingIn.Count > 0 || KillInterrupted);

    /// <summary>Why it is unfinished, in words (null when it is not).</summary>
    public string? Reason => Unfinished ? UnfinishedCgroup.Describe(Marked, MissingIn, KillInterrupted) : null;
}
