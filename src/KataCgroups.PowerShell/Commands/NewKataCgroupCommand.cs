using System.Management.Automation;
using KataCgroups.Errors;
using KataCgroups.PowerShell.Completion;
using KataCgroups.PowerShell.Internal;
using KataCgroups.Resources;
using OciConfigFile = KataCgroups.Resources.OciConfig;

namespace KataCgroups.PowerShell.Commands;

/// <summary>
/// Creates a Kata cgroup: applies the Kata path rules, adds the hypervisor devices to the caller's device
/// rules, writes the limits, and emits the cgroup as read back from the host. All or nothing: if a write
/// fails, every directory this call created is removed again.
/// </summary>
[Cmdlet(VerbsCommon.New, "KataCgroup", SupportsShouldProcess = true)]
[OutputType(typeof(KataCgroup))]
public sealed class NewKataCgroupCommand : ResourceCommandBase
{
    /// <summary>
    /// Cgroup path: absolute (<c>/kubepods/pod1/sandbox1</c>), relative (under <c>/vc</c>) or systemd form. Wildcard
    /// characters (<c>*</c>, <c>?</c>, <c>[</c>) are an error, as a create names one cgroup; a backtick before one
    /// takes it literally.
    /// </summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("CgroupsPath")]
    [AllowEmptyString]
    [ArgumentCompleter(typeof(CgroupPathCompleter))]
    public string? Path { get; set; }

    /// <summary>
    /// Processes to put in the new cgroup (the VMM). For a systemd path they become the scope's PIDs; without
    /// any, an idle holder process keeps the scope alive, since systemd refuses an empty scope.
    /// </summary>
    [Parameter]
    [Alias("Pid", "Id")]
    public int[]? ProcessId { get; set; }

    /// <summary>A runtime-spec config.json: its <c>linux.resources</c>, and its <c>linux.cgroupsPath</c> when -Path is omitted.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? OciConfig { get; set; }

    /// <summary>
    /// Complete an unfinished cgroup at the path (a create or removal that was killed half-way: Get-KataCgroup shows
    /// State Unfinished) instead of failing with CgroupUnfinished: the missing directories are made, every requested
    /// value is written again, and the cgroup is marked complete last. A complete cgroup is still CgroupAlreadyExists.
    /// </summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    private string? _configPath;

    /// <inheritdoc/>
    protected override void BeginProcessing()
    {
        OciConfigFile.Parsed? config = null;
        if (OciConfig is not null)
        {
            var file = SessionState.Path.GetUnresolvedProviderPathFromPSPath(OciConfig);
            config = Terminating(() => OciConfigFile.LoadFile(file));
            _configPath = config.CgroupsPath;
        }
        BeginResources(config?.Resources);
    }

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        var path = Path ?? _configPath;
        if (path is null)
        {
            ThrowTerminatingError(ErrorRecords.Invalid(ErrorIds.NoCgroupPath,
                "no cgroup path: give -Path, or an -OciConfig whose linux.cgroupsPath is set", null));
            return;
        }
        if (path.Length == 0)
            WriteWarning("the cgroup path is empty: using Kata's default /kata_vc");

        try
        {
            var target = Manager.ResolveNew(path, Selection);   // a wildcard is an error: a create names one cgroup
            var plan = Manager.PlanCreate(target, ResourcesForRecord(), Log, SkipUnsupported);
            var what = target.Systemd is { } unit ? $"systemd scope {unit.UnitName} ({target.CgroupPath})" : $"cgroup {target.CgroupPath}";
            var description = StepsShown ? $"Create {what} ({Manager.DriverKindFor(target)}) and write:{Environment.NewLine}{PlanText(target, plan)}" : $"Create {what} ({Manager.DriverKindFor(target)})";
            if (!ShouldProcess(description, $"Create cgroup {target.CgroupPath} with {plan.Writes.Count} writes?", "New-KataCgroup"))
                return;
            var outcome = Manager.Create(target, plan, Log, ProcessId, completeUnfinished: Force.IsPresent);
            if (outcome.Skipped)
            {
                WriteSkipped($"creating cgroup {target.CgroupPath}", outcome.SkippedReason);
                return;
            }
            WriteObject(Snapshots.ToOutput(outcome.Value!, plan));
        }
        catch (CgroupException e)
        {
            WriteEngineError(e, path);
        }
    }
}
