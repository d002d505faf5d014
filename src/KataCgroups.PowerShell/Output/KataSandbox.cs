namespace KataCgroups.PowerShell;

/// <summary>
/// A Kata sandbox's host cgroups (New-KataSandbox, Get-KataSandbox, Add-KataSandboxVmm -PassThru): flat, so it survives
/// remoting. <see cref="PodPath"/>, <see cref="SandboxId"/> and <see cref="OverheadRoot"/> bind the sandbox cmdlets'
/// parameters by property name; <see cref="Path"/> (<c>&lt;pod&gt;/&lt;id&gt;</c>) binds <c>-Path</c> of the cgroup cmdlets,
/// which then act on the sandbox cgroup.
/// </summary>
public sealed class KataSandbox
{
    /// <summary>The sandbox id.</summary>
    public string SandboxId { get; set; } = "";
    /// <summary>The pod cgroup path as given.</summary>
    public string PodPath { get; set; } = "";
    /// <summary>The sandbox cgroup's path as the cgroup cmdlets take it (<c>&lt;pod&gt;/&lt;id&gt;</c>).</summary>
    public string Path { get; set; } = "";
    /// <summary><c>SandboxCgroupOnly</c> (everything in the sandbox cgroup) or <c>Overhead</c> (Kata's legacy default: vCPU threads in the sandbox cgroup, the rest in the overhead cgroup).</summary>
    public string Layout { get; set; } = "";
    /// <summary>True in the SandboxCgroupOnly layout.</summary>
    public bool SandboxCgroupOnly { get; set; }
    /// <summary>The sandbox cgroup, hierarchy-relative (<c>&lt;pod&gt;/kata_&lt;id&gt;</c>).</summary>
    public string SandboxCgroupPath { get; set; } = "";
    /// <summary>The parent of overhead cgroups (Kata's <c>/kata_overhead</c>).</summary>
    public string OverheadRoot { get; set; } = "";
    /// <summary>The overhead cgroup, hierarchy-relative (<c>/kata_overhead/&lt;id&gt;</c>); empty in the SandboxCgroupOnly layout.</summary>
    public string OverheadCgroupPath { get; set; } = "";
    /// <summary>Driver of the sandbox cgroup.</summary>
    public string Driver { get; set; } = "";
    /// <summary>Host cgroup mode.</summary>
    public string Mode { get; set; } = "";
    /// <summary>Processes in the sandbox cgroup.</summary>
    public int[] SandboxPids { get; set; } = Array.Empty<int>();
    /// <summary>Threads in the sandbox cgroup whose process is not (the vCPU threads, legacy layout on v1).</summary>
    public int[] SandboxThreads { get; set; } = Array.Empty<int>();
    /// <summary>Processes in the overhead cgroup.</summary>
    public int[] OverheadPids { get; set; } = Array.Empty<int>();
    /// <summary>Threads in the overhead cgroup whose process is not.</summary>
    public int[] OverheadThreads { get; set; } = Array.Empty<int>();
    /// <summary>The VMM placed by Add-KataSandboxVmm (null when read with Get-KataSandbox).</summary>
    public int? VmmPid { get; set; }
    /// <summary>The vCPU threads Add-KataSandboxVmm put in the sandbox cgroup.</summary>
    public int[] VcpuThreadIds { get; set; } = Array.Empty<int>();
    /// <summary>How the vCPU threads were placed: <c>Thread</c> (alone) or <c>WholeProcess</c> (cgroup v2 domain cgroups).</summary>
    public string? VcpuPlacement { get; set; }

    /// <inheritdoc/>
    public override string ToString() => SandboxCgroupPath;
}

/// <summary>What Move-KataCgroupProcess moved.</summary>
public sealed class KataCgroupMove
{
    /// <summary>The source cgroup, hierarchy-relative.</summary>
    public string From { get; set; } = "";
    /// <summary>The destination cgroup, hierarchy-relative.</summary>
    public string To { get; set; } = "";
    /// <summary>Processes moved whole.</summary>
    public int[] Processes { get; set; } = Array.Empty<int>();
    /// <summary>Threads moved alone (their process was not wholly in the source).</summary>
    public int[] Threads { get; set; } = Array.Empty<int>();
    /// <summary>Processes or threads that exited during the move.</summary>
    public int[] Vanished { get; set; } = Array.Empty<int>();
    /// <summary>Passes made; more than one when processes forked during the move.</summary>
    public int Passes { get; set; }

    /// <inheritdoc/>
    public override string ToString() => $"{From} -> {To}";
}
