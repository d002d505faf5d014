using System.Management.Automation;
using KataCgroups.Errors;
using KataCgroups.PowerShell.Completion;
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
    /// <summary>The cgroup, as given to New-KataCgroup (binds from a cgroup object's Path, or a runtime-spec linux.cgroupsPath).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("CgroupsPath")]
    [AllowEmptyString]
    [ArgumentCompleter(typeof(CgroupPathCompleter))]
    public string Path { get; set; } = "";

    /// <summary>Emit the cgroup after the change.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc/>
    protected override void BeginProcessing() => BeginResources(null);

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        try
        {
            var resources = ResourcesForRecord();
            if (resources.IsEmpty)
                WriteWarning($"Set-KataCgroupResource: no resource values were given for '{Path}'; nothing to change.");
            var target = Resolve(Path);
            var plan = Manager.PlanUpdate(target, resources, Log, SkipUnsupported);
            var description = StepsShown ? $"Update cgroup {target.CgroupPath}:{Environment.NewLine}{PlanText(target, plan)}" : $"Update cgroup {target.CgroupPath}";
            if (!ShouldProcess(description, $"Write {plan.Writes.Count} values to cgroup {target.CgroupPath}?", "Set-KataCgroupResource"))
                return;
            var outcome = Manager.Update(target, plan, Log, readBack: PassThru);
            if (outcome.Skipped)
            {
                WriteSkipped($"updating cgroup {target.CgroupPath}", outcome.SkippedReason);
                return;
            }
            if (PassThru) WriteObject(Snapshots.ToOutput(outcome.Value!, plan));
        }
        catch (CgroupException e)
        {
            WriteEngineError(e, Path);
        }
    }
}
