namespace KataCgroups.PowerShell;

/// <summary>
/// What Remove-KataCgroup removed (with <c>-PassThru</c> or <c>-RemoveEmptyParent</c>): the cgroup, and the empty
/// parents it removed after it. Flat, so it survives remoting.
/// </summary>
public sealed class KataCgroupRemoval
{
    /// <summary>The path as given to New-KataCgroup (a -Path value that names only this cgroup).</summary>
    public string Path { get; set; } = "";
    /// <summary>Hierarchy-relative path of the removed cgroup.</summary>
    public string CgroupPath { get; set; } = "";
    /// <summary>Directories of the cgroup removed (one per hierarchy, plus any descendants).</summary>
    public int RemovedDirectories { get; set; }
    /// <summary>Processes moved to the parent cgroup.</summary>
    public int MovedProcesses { get; set; }
    /// <summary>Processes killed (<c>-Kill</c>).</summary>
    public int KilledProcesses { get; set; }
    /// <summary>Empty parent directories removed after it (<c>-RemoveEmptyParent</c>), bottom-up per hierarchy.</summary>
    public string[] RemovedParents { get; set; } = Array.Empty<string>();

    /// <inheritdoc/>
    public override string ToString() => CgroupPath;
}
