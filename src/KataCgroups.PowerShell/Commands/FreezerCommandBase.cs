using System.Management.Automation;
using KataCgroups.Errors;
using KataCgroups.Model;
using KataCgroups.PowerShell.Completion;
using KataCgroups.PowerShell.Internal;

namespace KataCgroups.PowerShell.Commands;

/// <summary>What Suspend-KataCgroup and Resume-KataCgroup share: resolve, ask with the real change, act, read back.</summary>
public abstract class FreezerCommandBase : KataCgroupCommandBase
{
    /// <summary>
    /// The cgroups, as given to New-KataCgroup (binds from a cgroup object's Path, and piped strings); wildcards match
    /// existing Kata cgroups, each asked for on its own.
    /// </summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = PathSet)]
    [SupportsWildcards]
    [AllowEmptyString]
    [ArgumentCompleter(typeof(CgroupPathCompleter))]
    public string[] Path { get; set; } = Array.Empty<string>();

    /// <summary>The cgroups, taken exactly as written: no character is a wildcard.</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = LiteralPathSet)]
    [Alias("LP")]
    [AllowEmptyString]
    public string[] LiteralPath { get; set; } = Array.Empty<string>();

    /// <summary>Emit the cgroup after the change (its FreezerState shows the kernel's answer).</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    private protected abstract FreezerState State { get; }

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        bool literal = ParameterSetName == LiteralPathSet;
        foreach (var (target, _) in Targets(literal ? LiteralPath : Path, literal)) ChangeOne(target);
    }

    private void ChangeOne(Paths.CgroupTarget target)
    {
        var verb = State == FreezerState.Frozen ? "freeze" : "thaw";
        try
        {
            Manager.EnsureExists(target);
            var how = Manager.DescribeFreezer(target, State);
            if (!ShouldProcess($"{char.ToUpperInvariant(verb[0])}{verb[1..]} cgroup {target.CgroupPath}: {how}",
                    $"{char.ToUpperInvariant(verb[0])}{verb[1..]} every process of cgroup {target.CgroupPath}? ({how})", MyInvocation.MyCommand.Name))
                return;
            var outcome = Manager.ChangeFreezer(target, State, Log);
            if (outcome.Skipped)
            {
                WriteSkipped($"{(State == FreezerState.Frozen ? "freezing" : "thawing")} cgroup {target.CgroupPath}", outcome.SkippedReason);
                return;
            }
            if (PassThru) WriteObject(Snapshots.ToOutput(outcome.Value!));
        }
        catch (CgroupException e)
        {
            WriteEngineError(e, target.RequestedPath);
        }
    }
}
