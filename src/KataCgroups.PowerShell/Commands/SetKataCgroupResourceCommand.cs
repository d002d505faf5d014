using System.Management.Automation;
using KataCgroups.Errors;
using KataCgroups.PowerShell.Internal;
using KataCgroups.Resources;

namespace KataCgroups.PowerShell.Commands;

/// <summary>
/// Changes the limits of an existing Kata cgroup. Only the values given are written; device rules, when
/// given, replace the current ones (the hypervisor devices are always kept).
/// </summary>
[Cmdlet(VerbsCommon.Set, "KataCgroupResource", SupportsShouldProcess = true)]
[OutputType(typeof(KataCgroup))]
public sealed class SetKataCgroupResourceCommand : ResourceCommandBase
{
    /// <summary>The cgroup, as given to New-KataCgroup (binds from a cgroup object's Path).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [AllowEmptyString]
    public string Path { get; set; } = "";

    /// <summary>Emit the cgroup after the change.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    private CgroupManager? _manager;
    private LinuxResources? _resources;

    /// <inheritdoc/>
    protected override void BeginProcessing()
    {
        _manager = Terminating(() => CgroupManager.Default);
        _resources = Terminating(() => BuildResources(null));
        if (_resources.IsEmpty)
            WriteWarning("Set-KataCgroupResource: no resource values were given; nothing to change.");
    }

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        var log = new CmdletLog(this);
        try
        {
            var target = _manager!.Resolve(Path);
            var plan = _manager.PlanUpdate(target, _resources!, log);
            var description = $"Update cgroup {target.CgroupPath}:{Environment.NewLine}{DescribePlan(_manager, target, plan)}";
            if (!ShouldProcess(description, $"Write {plan.Writes.Count} values to cgroup {target.CgroupPath}?", "Set-KataCgroupResource"))
                return;
            var outcome = _manager.Update(target, plan, log);
            if (outcome.Skipped)
            {
                WriteWarning($"Set-KataCgroupResource skipped updating cgroup {target.CgroupPath}: {outcome.SkippedReason}; nothing was changed.");
                return;
            }
            if (PassThru) WriteObject(Snapshots.ToOutput(outcome.Value!));
        }
        catch (CgroupException e)
        {
            WriteError(ErrorRecords.From(e, Path));
        }
    }
}
