using System.Management.Automation;
using KataCgroups.PowerShell.Completion;
using KataCgroups.Sandboxes;

namespace KataCgroups.PowerShell.Commands;

/// <summary>
/// The identity every sandbox cmdlet but New takes: the pod cgroup, the sandbox id and the overhead root, bound by
/// property name from a KataSandbox (also a deserialized one), as the host keeps no record of a sandbox.
/// </summary>
public abstract class SandboxCommandBase : KataCgroupCommandBase
{
    /// <summary>The pod cgroup the sandbox is under (a cgroupfs path, as given to New-KataSandbox).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(CgroupPathCompleter))]
    public string PodPath { get; set; } = "";

    /// <summary>The sandbox id (its cgroup is <c>&lt;pod&gt;/kata_&lt;id&gt;</c>).</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    public string SandboxId { get; set; } = "";

    /// <summary>The parent of the overhead cgroups, as given to New-KataSandbox (default Kata's <c>/kata_overhead</c>).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string OverheadRoot { get; set; } = SandboxAddress.DefaultOverheadRoot;

    /// <summary>The sandbox these parameters name.</summary>
    private protected SandboxAddress Address => new(PodPath, SandboxId, OverheadRoot);
}
