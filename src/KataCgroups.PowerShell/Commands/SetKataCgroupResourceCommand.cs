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
[Cmdlet(VerbsCommon.Set, "KataCgroupResource", SupportsShouldProcess = true, DefaultParameterSetName = PathSet)]
[OutputType(typeof(KataCgroup))]
public sealed class SetKataCgroupResourceCommand : ResourceCommandBase
{
    /// <summary>
    /// The cgroups, as given to New-KataCgroup (binds from a cgroup object's Path, or a runtime-spec linux.cgroupsPath);
    /// wildcards match existing Kata cgroups, each asked for and changed on its own. Piped objects bind here by
    /// property name; a piped string is taken as -Resources (JSON), which binds by value.
    /// </summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = PathSet)]
    [Alias("CgroupsPath")]
    [SupportsWildcards]
    [AllowEmptyString]
    [ArgumentCompleter(typeof(CgroupPathCompleter))]
    public string[] Path { get; set; } = Array.Empty<string>();

    /// <summary>The cgroups, taken exactly as written: no character is a wildcard.</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = LiteralPathSet)]
    [Alias("LP")]
    [AllowEmptyString]
    public string[] LiteralPath { get; set; } = Array.Empty<string>();

    /// <summary>Emit the cgroup after the change.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc/>
    protected override void BeginProcessing() => BeginResources(null);

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        bool literal = ParameterSetName == LiteralPathSet;
        var paths = literal ? LiteralPath : Path;
        LinuxResources resources;
        try { resources = ResourcesForRecord(); }
        catch (CgroupException e)
        {
            WriteEngineError(e, string.Join(", ", paths));
            return;
        }
        if (resources.IsEmpty)
            WriteWarning($"Set-KataCgroupResource: no resource values were given for '{string.Join("', '", paths)}'; nothing to change.");
        foreach (var (target, _) in Targets(paths, literal))
        {
            try { UpdateOne(target, resources); }
            catch (CgroupException e) { WriteEngineError(e, target.RequestedPath); }
        }
    }

    private void UpdateOne(Paths.CgroupTarget target, LinuxResources resources)
    {
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
}
