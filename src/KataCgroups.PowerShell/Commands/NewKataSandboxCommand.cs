using System.Management.Automation;
using KataCgroups.Errors;
using KataCgroups.PowerShell.Completion;
using KataCgroups.PowerShell.Internal;
using KataCgroups.Sandboxes;

namespace KataCgroups.PowerShell.Commands;

/// <summary>
/// Creates a Kata sandbox's host cgroups in one of Kata's two layouts (kata-containers docs/design/host-cgroups.md):
/// the sandbox cgroup <c>&lt;pod&gt;/kata_&lt;id&gt;</c> with the limits and the hypervisor devices, and, unless
/// <c>-SandboxCgroupOnly</c>, the overhead cgroup <c>/kata_overhead/&lt;id&gt;</c> with no limits. All or nothing.
/// </summary>
[Cmdlet(VerbsCommon.New, "KataSandbox", SupportsShouldProcess = true)]
[OutputType(typeof(KataSandbox))]
public sealed class NewKataSandboxCommand : ResourceCommandBase
{
    /// <summary>The pod cgroup (absolute, or relative under <c>/vc</c>); it is made when missing.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(CgroupPathCompleter))]
    public string PodPath { get; set; } = "";

    /// <summary>The sandbox id: the sandbox cgroup is <c>&lt;pod&gt;/kata_&lt;id&gt;</c>, the overhead cgroup <c>/kata_overhead/&lt;id&gt;</c>.</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    public string SandboxId { get; set; } = "";

    /// <summary>
    /// Kata's <c>sandbox_cgroup_only=true</c>: the VMM with all its threads goes into the sandbox cgroup and no overhead
    /// cgroup is made. Without it (Kata's default): only the vCPU threads go into the sandbox cgroup, the rest of the VMM
    /// into the unconstrained overhead cgroup.
    /// </summary>
    [Parameter]
    public SwitchParameter SandboxCgroupOnly { get; set; }

    /// <summary>The parent of the overhead cgroup, hierarchy-relative and taken literally (default Kata's <c>/kata_overhead</c>).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string OverheadRoot { get; set; } = SandboxAddress.DefaultOverheadRoot;

    /// <inheritdoc/>
    protected override void BeginProcessing() => BeginResources(null);

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        var address = new SandboxAddress(PodPath, SandboxId, OverheadRoot);
        try
        {
            var sandbox = address.Sandbox;
            var overhead = SandboxCgroupOnly ? null : address.Overhead;
            var plan = Manager.PlanCreate(sandbox, ResourcesForRecord(), Log, SkipUnsupported);
            var what = overhead is null
                ? $"Create sandbox cgroup {sandbox.CgroupPath} (SandboxCgroupOnly layout)"
                : $"Create sandbox cgroup {sandbox.CgroupPath} and overhead cgroup {overhead.CgroupPath} (no limits, no device rules)";
            var description = StepsShown ? $"{what}; the sandbox cgroup gets:{Environment.NewLine}{PlanText(sandbox, plan)}" : what;
            if (!ShouldProcess(description, what + "?", "New-KataSandbox")) return;
            var outcome = Manager.CreateSandbox(address, SandboxCgroupOnly.IsPresent, plan, Log);
            if (outcome.Skipped)
            {
                WriteSkipped($"creating sandbox {SandboxId}", outcome.SkippedReason);
                return;
            }
            WriteObject(SandboxOutput.ToOutput(outcome.Value!));
        }
        catch (CgroupException e)
        {
            WriteEngineError(e, SandboxId);
        }
    }
}
