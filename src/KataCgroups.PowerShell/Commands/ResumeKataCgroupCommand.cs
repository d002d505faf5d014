using System.Management.Automation;
using KataCgroups.Model;

namespace KataCgroups.PowerShell.Commands;

/// <summary>Thaws a frozen Kata cgroup: v1 freezer.state THAWED, v2 cgroup.freeze 0, systemd ThawUnit (or cgroupfs).</summary>
[Cmdlet(VerbsLifecycle.Resume, "KataCgroup", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, DefaultParameterSetName = PathSet)]
[OutputType(typeof(KataCgroup))]
public sealed class ResumeKataCgroupCommand : FreezerCommandBase
{
    private protected override FreezerState State => FreezerState.Thawed;
}
