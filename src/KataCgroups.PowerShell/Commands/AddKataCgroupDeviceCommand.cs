using System.Management.Automation;
using KataCgroups.Devices;

namespace KataCgroups.PowerShell.Commands;

/// <summary>
/// Allows one or more devices in a running sandbox's cgroup without recreating it (a hot-plugged VFIO group, a new
/// disk): v1 writes the rule to <c>devices.allow</c>, v2 replaces the device eBPF program with one built from the
/// recorded rule set plus the rule, systemd adds a <c>DeviceAllow</c> entry.
/// </summary>
[Cmdlet(VerbsCommon.Add, "KataCgroupDevice", SupportsShouldProcess = true, DefaultParameterSetName = ByDevicePathSet)]
[OutputType(typeof(KataCgroup))]
public sealed class AddKataCgroupDeviceCommand : DeviceCommandBase
{
    private protected override DeviceChangeKind Kind => DeviceChangeKind.Add;
}
