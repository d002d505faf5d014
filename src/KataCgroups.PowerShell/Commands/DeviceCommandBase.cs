using System.Management.Automation;
using KataCgroups.Devices;
using KataCgroups.Errors;
using KataCgroups.Model;
using KataCgroups.Paths;
using KataCgroups.PowerShell.Completion;
using KataCgroups.PowerShell.Internal;

namespace KataCgroups.PowerShell.Commands;

/// <summary>
/// What Add-KataCgroupDevice and Remove-KataCgroupDevice share: the cgroup, the device (a node's path, or
/// type/major/minor), the access, and the plan → ShouldProcess → apply loop, one device at a time.
/// </summary>
public abstract class DeviceCommandBase : KataCgroupCommandBase
{
    /// <summary>Parameter set: devices named by their node's path.</summary>
    protected const string ByDevicePathSet = "ByDevicePath";
    /// <summary>Parameter set: a device named by type, major and minor.</summary>
    protected const string ByNumberSet = "ByNumber";
    /// <summary>Parameter set: devices named by their node's path, cgroups by -LiteralPath.</summary>
    protected const string LiteralByDevicePathSet = "LiteralPathByDevicePath";
    /// <summary>Parameter set: a device named by type, major and minor, cgroups by -LiteralPath.</summary>
    protected const string LiteralByNumberSet = "LiteralPathByNumber";

    /// <summary>
    /// The cgroups, as given to New-KataCgroup (binds from a cgroup object's Path, a runtime-spec linux.cgroupsPath, and
    /// piped strings); wildcards match existing Kata cgroups, each changed on its own.
    /// </summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = ByDevicePathSet)]
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = ByNumberSet)]
    [Alias("CgroupsPath")]
    [SupportsWildcards]
    [AllowEmptyString]
    [ArgumentCompleter(typeof(CgroupPathCompleter))]
    public string[] Path { get; set; } = Array.Empty<string>();

    /// <summary>The cgroups, taken exactly as written: no character is a wildcard.</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = LiteralByDevicePathSet)]
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = LiteralByNumberSet)]
    [Alias("LP")]
    [AllowEmptyString]
    public string[] LiteralPath { get; set; } = Array.Empty<string>();

    /// <summary>Device nodes (e.g. <c>/dev/vfio/12</c>); each is stat'ed for its type and major:minor.</summary>
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = ByDevicePathSet)]
    [Parameter(Mandatory = true, ParameterSetName = LiteralByDevicePathSet)]
    [ValidateNotNullOrEmpty]
    public string[] DevicePath { get; set; } = Array.Empty<string>();

    /// <summary><c>c</c> (character) or <c>b</c> (block).</summary>
    [Parameter(Mandatory = true, ParameterSetName = ByNumberSet)]
    [Parameter(Mandatory = true, ParameterSetName = LiteralByNumberSet)]
    [ValidateSet("c", "b")]
    public string Type { get; set; } = "c";

    /// <summary>The device's major number.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ByNumberSet)]
    [Parameter(Mandatory = true, ParameterSetName = LiteralByNumberSet)]
    [ValidateRange(0L, 4294967295L)]
    public long Major { get; set; }

    /// <summary>The device's minor number, or <c>*</c> for every minor of the major.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ByNumberSet)]
    [Parameter(Mandatory = true, ParameterSetName = LiteralByNumberSet)]
    [ValidatePattern(@"^(\d+|\*)$")]
    public string Minor { get; set; } = "";

    /// <summary>Access: any of <c>r</c> (read), <c>w</c> (write), <c>m</c> (mknod); default <c>rwm</c>.</summary>
    [Parameter]
    [ValidatePattern("^[rwm]{1,3}$")]
    [ArgumentCompleter(typeof(HostValueCompleter))]
    public string Access { get; set; } = "rwm";

    /// <summary>Emit the cgroup after the change.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>Allow or revoke.</summary>
    private protected abstract DeviceChangeKind Kind { get; }

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        var rules = new List<(DeviceRule Rule, string Shown)>();
        bool literal = ParameterSetName is LiteralByDevicePathSet or LiteralByNumberSet;
        var paths = literal ? LiteralPath : Path;
        try
        {
            if (ParameterSetName is ByNumberSet or LiteralByNumberSet)
            {
                var rule = DeviceRuleEdit.FromParts(Type[0], Major, Minor, Access);
                rules.Add((rule, rule.ToKernelString()));
            }
            else
            {
                foreach (var dev in DevicePath)
                {
                    try
                    {
                        var rule = CgroupManager.RuleForNode(dev, Access);
                        rules.Add((rule, $"{rule.ToKernelString()} ({dev})"));
                    }
                    catch (CgroupException e) { WriteEngineError(e, dev); }
                }
            }
        }
        catch (CgroupException e)
        {
            WriteEngineError(e, string.Join(", ", paths));
            return;
        }
        foreach (var (target, _) in Targets(paths, literal)) ChangeOne(target, rules);
    }

    /// <summary>Each rule on one cgroup: plan, ask, apply.</summary>
    private void ChangeOne(CgroupTarget target, List<(DeviceRule Rule, string Shown)> rules)
    {
        bool add = Kind == DeviceChangeKind.Add;
        CgroupSnapshot? last = null;
        foreach (var (rule, shown) in rules)
        {
            try
            {
                var planned = Manager.PlanDeviceChange(target, rule, Kind);
                if (planned.Skipped)
                {
                    WriteSkipped($"{(add ? "allowing" : "revoking")} device '{shown}' for cgroup {target.CgroupPath}", planned.SkippedReason);
                    return;
                }
                var change = planned.Value!;
                var nl = Environment.NewLine;
                // The steps only for -WhatIf/-Confirm: under -Verbose the engine says each write as it makes it.
                var description = $"{(add ? "Allow" : "Revoke")} device '{shown}' for cgroup {target.CgroupPath}"
                    + (StepsShown
                        ? $":{nl}" + string.Join(nl, change.Steps.Select(s => "  " + s)) + $"{nl}  resulting rules: {change.DescribeResult()}"
                          + string.Concat(change.Warnings.Select(w => $"{nl}  (warning) {w}"))
                        : "");
                if (!ShouldProcess(description,
                        $"{(add ? "Allow" : "Revoke")} device '{shown}' for cgroup {target.CgroupPath}? Resulting rules: {change.DescribeResult()}",
                        MyInvocation.MyCommand.Name))
                    continue;
                var outcome = Manager.ApplyDeviceChange(target, change, Log);
                if (outcome.Skipped)
                {
                    WriteSkipped($"{(add ? "allowing" : "revoking")} device '{shown}' for cgroup {target.CgroupPath}", outcome.SkippedReason);
                    return;
                }
                last = outcome.Value;
            }
            catch (CgroupException e)
            {
                WriteEngineError(e, target.RequestedPath);
            }
        }
        if (PassThru && last is not null) WriteObject(Snapshots.ToOutput(last));
    }
}
