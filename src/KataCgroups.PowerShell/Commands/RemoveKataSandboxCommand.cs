using KataCgroups.Model;
using System.Management.Automation;
using KataCgroups.Errors;

namespace KataCgroups.PowerShell.Commands;

/// <summary>
/// Removes a Kata sandbox's host cgroups as Kata does when it deletes a sandbox: the sandbox cgroup, then the overhead
/// cgroup, each with its processes moved to its parent (or killed with <c>-Kill</c>). The pod cgroup and the overhead
/// root stay.
/// </summary>
[Cmdlet(VerbsCommon.Remove, "KataSandbox", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(void))]
public sealed class RemoveKataSandboxCommand : SandboxCommandBase
{
    /// <summary>Kill the processes (the VMM) instead of moving them to the parent cgroups.</summary>
    [Parameter]
    public SwitchParameter Kill { get; set; }

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        try
        {
            var address = Address;
            var what = $"Remove sandbox {SandboxId}: cgroup {address.Sandbox.CgroupPath} and overhead cgroup {address.Overhead.CgroupPath}" +
                (Kill ? ", killing their processes" : ", moving their processes to the parent cgroups");
            if (!ShouldProcess(what, what + "?", "Remove-KataSandbox")) return;
            var outcome = Manager.RemoveSandbox(address, new RemoveOptions(Kill.IsPresent), Log);
            if (outcome.Skipped)
            {
                WriteSkipped($"removing sandbox {SandboxId}", outcome.SkippedReason);
                return;
            }
            var r = outcome.Value!;
            WriteVerbose($"removed sandbox {SandboxId}: {r.RemovedDirectories} directories, {r.MovedProcesses} process(es) moved, {r.KilledProcesses} killed");
        }
        catch (CgroupException e)
        {
            WriteEngineError(e, SandboxId);
        }
    }
}
