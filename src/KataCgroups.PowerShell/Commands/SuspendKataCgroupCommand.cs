using System.Management.Automation;
using KataCgroups.Model;

namespace KataCgroups.PowerShell.Commands;

/// <summary>
/// Freezes every process of a Kata cgroup (and its descendants) and returns once the kernel confirms: v1
/// freezer.state FROZEN (rewritten while FREEZING), v2 cgroup.freeze with "frozen 1" in cgroup.events, systemd
/// FreezeUnit (or the cgroupfs freezer where systemd cannot freeze).
/// </summary>
[Cmdlet(VerbsLifecycle.Suspend, "KataCgroup", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = PathSet)]
[OutputType(typeof(KataCgroup))]
public sealed class SuspendKataCgroupCommand : FreezerCommandBase
{
    private protected override FreezerState State => FreezerState.Frozen;
}
