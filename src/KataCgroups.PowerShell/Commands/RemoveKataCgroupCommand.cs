using System.Management.Automation;
using KataCgroups.Errors;
using KataCgroups.Model;
using KataCgroups.Paths;
using KataCgroups.PowerShell.Completion;
using KataCgroups.PowerShell.Internal;

namespace KataCgroups.PowerShell.Commands;

/// <summary>
/// Removes Kata cgroups: each one's processes are moved to the parent cgroup first (or killed with <c>-Kill</c>),
/// then every directory — descendants first — is removed in every hierarchy; with <c>-RemoveEmptyParent</c>, then
/// the parents New-KataCgroup made that are left empty. Wildcards in <c>-Path</c> match existing Kata cgroups, and
/// each match is asked for (ShouldProcess) and removed on its own.
/// </summary>
[Cmdlet(VerbsCommon.Remove, "KataCgroup", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = PathSet)]
[OutputType(typeof(KataCgroupRemoval))]
public sealed class RemoveKataCgroupCommand : KataCgroupCommandBase
{
    /// <summary>
    /// The cgroups, as given to New-KataCgroup (binds from a cgroup object's Path, and piped strings); wildcards match
    /// existing Kata cgroups.
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

    /// <summary>Kill the processes (SIGKILL, with the cgroup frozen) instead of moving them to the parent.</summary>
    [Parameter]
    public SwitchParameter Kill { get; set; }

    /// <summary>
    /// Then remove, in every hierarchy and bottom-up, each parent directory that New-KataCgroup made and that is left
    /// with no process and no other child cgroup; stops at the first one that is not so, and never removes a
    /// hierarchy's root or a directory New-KataCgroup did not make. Each directory is asked for (ShouldProcess), and
    /// the ones removed are on the output object (RemovedParents) and in -Verbose.
    /// </summary>
    [Parameter]
    public SwitchParameter RemoveEmptyParent { get; set; }

    /// <summary>Emit what was removed (a KataCgroupRemoval per cgroup); -RemoveEmptyParent always does.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    private int _count;

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        bool literal = ParameterSetName == LiteralPathSet;
        foreach (var (target, _) in Targets(literal ? LiteralPath : Path, literal))
        {
            try { RemoveOne(target); }
            catch (CgroupException e) { WriteEngineError(e, target.RequestedPath); }
        }
    }

    private void RemoveOne(CgroupTarget target)
    {
        string description = $"Remove cgroup {target.CgroupPath}", question = description + "?";
        if (ShouldProcessTextShown)
        {
            // -WhatIf/-Confirm/-Verbose: say exactly what would happen (a missing cgroup fails here, before the
            // question; otherwise Manager.Remove says so).
            Manager.EnsureExists(target);
            var pids = Manager.GetProcesses(target);
            var what = Kill ? $"kill {pids.Count} process(es)" : $"move {pids.Count} process(es) to the parent cgroup";
            var dirs = Manager.ExistingPaths(target).Select(p => p.Directory).Distinct();
            description += $": {what}, then remove{Environment.NewLine}  {string.Join(Environment.NewLine + "  ", dirs)}";
            question = $"Remove cgroup {target.CgroupPath} and {what}?";
        }
        if (!ShouldProcess(description, question, "Remove-KataCgroup"))
        {
            // -WhatIf: the parents that would be left empty, one line each, as they would be asked for.
            if (RemoveEmptyParent && WhatIfMode)
                foreach (var dir in Manager.EmptyParents(target)) ShouldProcess(dir, "Remove empty parent cgroup directory");
            return;
        }
        // Many cgroups piped in (Get-KataCgroup | Remove-KataCgroup): one bar counting them; the total is
        // unknown while the pipeline runs. Completed in EndProcessing.
        _count++;
        Log.Progress("Removing Kata cgroups", $"cgroup {_count}: {target.CgroupPath}", -1, completed: false);
        var options = new RemoveOptions(Kill.IsPresent, RemoveEmptyParent.IsPresent,
            dir => ShouldProcess(dir, "Remove empty parent cgroup directory"));
        var outcome = Manager.Remove(target, options, Log);
        if (outcome.Skipped)
        {
            WriteSkipped($"removing cgroup {target.CgroupPath}", outcome.SkippedReason);
            return;
        }
        var r = outcome.Value!;
        var parents = r.RemovedParents ?? Array.Empty<string>();
        WriteVerbose($"removed cgroup {target.CgroupPath}: {r.RemovedDirectories} directories, {r.MovedProcesses} process(es) moved, {r.KilledProcesses} killed"
            + (RemoveEmptyParent ? $", {parents.Count} empty parent(s){(parents.Count > 0 ? ": " + string.Join(", ", parents) : "")}" : ""));
        if (PassThru || RemoveEmptyParent)
        {
            WriteObject(new KataCgroupRemoval
            {
                Path = CgroupWildcard.EscapeLiteral(target.RequestedPath),
                CgroupPath = target.CgroupPath,
                RemovedDirectories = r.RemovedDirectories,
                MovedProcesses = r.MovedProcesses,
                KilledProcesses = r.KilledProcesses,
                RemovedParents = parents.ToArray(),
            });
        }
    }
}
