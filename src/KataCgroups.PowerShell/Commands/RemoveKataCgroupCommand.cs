using System.Management.Automation;
using KataCgroups.Errors;
using KataCgroups.Model;
using KataCgroups.PowerShell.Completion;
using KataCgroups.PowerShell.Internal;

namespace KataCgroups.PowerShell.Commands;

/// <summary>
/// Removes a Kata cgroup: its processes are moved to the parent cgroup first (or killed with <c>-Kill</c>),
/// then every directory — descendants first — is removed in every hierarchy.
/// </summary>
[Cmdlet(VerbsCommon.Remove, "KataCgroup", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(void))]
public sealed class RemoveKataCgroupCommand : KataCgroupCommandBase
{
    /// <summary>The cgroup, as given to New-KataCgroup (binds from a cgroup object's Path).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [AllowEmptyString]
    [ArgumentCompleter(typeof(CgroupPathCompleter))]
    public string Path { get; set; } = "";

    /// <summary>Kill the processes (SIGKILL, with the cgroup frozen) instead of moving them to the parent.</summary>
    [Parameter]
    public SwitchParameter Kill { get; set; }

    private int _count;

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        try
        {
            var target = Resolve(Path);
            string description = $"Remove cgroup {target.CgroupPath}", question = description + "?";
            if (ShouldProcessTextShown)
            {
                // -WhatIf/-Confirm/-Verbose: say exactly what would happen (a missing cgroup fails here, before the
                // question; otherwise Manager.Remove says so).
                Manager.EnsureExists(target);
                var pids = Manager.DriverFor(target).GetProcesses(target);
                var what = Kill ? $"kill {pids.Count} process(es)" : $"move {pids.Count} process(es) to the parent cgroup";
                var dirs = Manager.GetPaths(target).Select(p => p.Directory).Distinct().Where(Directory.Exists);
                description += $": {what}, then remove{Environment.NewLine}  {string.Join(Environment.NewLine + "  ", dirs)}";
                question = $"Remove cgroup {target.CgroupPath} and {what}?";
            }
            if (!ShouldProcess(description, question, "Remove-KataCgroup")) return;
            // Many cgroups piped in (Get-KataCgroup | Remove-KataCgroup): one bar counting them; the total is
            // unknown while the pipeline runs. Completed in EndProcessing.
            _count++;
            Log.Progress("Removing Kata cgroups", $"cgroup {_count}: {target.CgroupPath}", -1, completed: false);
            var outcome = Manager.Remove(target, new RemoveOptions(Kill.IsPresent), Log);
            if (outcome.Skipped)
            {
                WriteSkipped($"removing cgroup {target.CgroupPath}", outcome.SkippedReason);
                return;
            }
            var r = outcome.Value!;
            WriteVerbose($"removed cgroup {target.CgroupPath}: {r.RemovedDirectories} directories, {r.MovedProcesses} process(es) moved, {r.KilledProcesses} killed");
        }
        catch (CgroupException e)
        {
            WriteEngineError(e, Path);
        }
    }
}
