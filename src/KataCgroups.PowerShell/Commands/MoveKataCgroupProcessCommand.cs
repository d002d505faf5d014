using System.Management.Automation;
using KataCgroups.Errors;
using KataCgroups.Paths;
using KataCgroups.PowerShell.Completion;

namespace KataCgroups.PowerShell.Commands;

/// <summary>
/// Moves every process and thread of one Kata cgroup (and of its descendants) into another, in every hierarchy —
/// Kata's MoveTo. Passes repeat until the source is empty, so processes that fork during the move are taken too; a
/// process or thread that exits meanwhile is not an error. Emits what moved.
/// </summary>
[Cmdlet(VerbsCommon.Move, "KataCgroupProcess", SupportsShouldProcess = true, DefaultParameterSetName = DestinationSet)]
[OutputType(typeof(KataCgroupMove))]
public sealed class MoveKataCgroupProcessCommand : KataCgroupCommandBase
{
    private const string DestinationSet = "Destination";
    private const string ParentSet = "Parent";

    /// <summary>The source cgroup, as given to New-KataCgroup (binds from a cgroup object's Path).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [AllowEmptyString]
    [ArgumentCompleter(typeof(CgroupPathCompleter))]
    public string Path { get; set; } = "";

    /// <summary>The destination cgroup, as given to New-KataCgroup.</summary>
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = DestinationSet)]
    [AllowEmptyString]
    [ArgumentCompleter(typeof(CgroupPathCompleter))]
    public string Destination { get; set; } = "";

    /// <summary>Move into the source's parent cgroup (what Kata does before deleting a cgroup: MoveTo(Parent())).</summary>
    [Parameter(Mandatory = true, ParameterSetName = ParentSet)]
    public SwitchParameter ToParent { get; set; }

    /// <summary>Move into a destination that is unfinished (State Unfinished), with a warning, instead of failing with CgroupUnfinished.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        CgroupTarget from, to;
        try
        {
            from = Resolve(Path);
            to = ToParent ? CgroupTarget.FromLiteral(CgroupPathText.Dir(from.CgroupPath) is var p && p != "/" ? p
                    : throw new CgroupException(ErrorIds.InvalidCgroupPath, CgroupErrorKind.InvalidArgument,
                        $"cgroup {from.CgroupPath} is directly below the root: -ToParent would move its processes into the root cgroup; give -Destination", Path))
                : Resolve(Destination);
            if (ToParent && from.Systemd is not null)
                throw new CgroupException(ErrorIds.InvalidCgroupPath, CgroupErrorKind.InvalidArgument,
                    $"'{Path}' is a systemd scope: its parent is a slice, which systemd keeps free of processes; give -Destination", Path);
        }
        catch (CgroupException e)
        {
            WriteEngineError(e, Path);
            return;
        }
        if (!ShouldProcess($"Move every process and thread of cgroup {from.CgroupPath} into cgroup {to.CgroupPath}, in every hierarchy",
                $"Move every process and thread of cgroup {from.CgroupPath} into {to.CgroupPath}?", "Move-KataCgroupProcess"))
            return;
        try
        {
            var outcome = Manager.Move(from, to, Log, force: Force.IsPresent);
            if (outcome.Skipped)
            {
                WriteSkipped($"moving the processes of cgroup {from.CgroupPath}", outcome.SkippedReason);
                return;
            }
            var m = outcome.Value!;
            WriteVerbose($"moved {m.Processes.Count} process(es) and {m.Threads.Count} thread(s) from {from.CgroupPath} to {to.CgroupPath} in {m.Passes} pass(es); {m.Vanished.Count} exited meanwhile");
            WriteObject(new KataCgroupMove
            {
                From = from.CgroupPath,
                To = to.CgroupPath,
                Processes = m.Processes.ToArray(),
                Threads = m.Threads.ToArray(),
                Vanished = m.Vanished.ToArray(),
                Passes = m.Passes,
            });
        }
        catch (CgroupException e)
        {
            WriteEngineError(e, Path);
        }
    }
}
