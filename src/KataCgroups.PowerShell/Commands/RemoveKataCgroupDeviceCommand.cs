using System.Management.Automation;
using KataCgroups.Devices;

namespace KataCgroups.PowerShell.Commands;

/// <summary>
/// Revokes exactly the rule Add-KataCgroupDevice allowed: v1 writes it to <c>devices.deny</c>, v2 replaces the device
/// eBPF program with one built from the recorded rule set minus the rule, systemd drops the <c>DeviceAllow</c> entry.
/// Like the kernel, only an exception with the same type, major and minor loses its access; a wildcard rule that also
/// covers the device is reported, not changed.
/// </summary>
[Cmdlet(VerbsCommon.Remove, "KataCgroupDevice", SupportsShouldProcess = true, DefaultParameterSetName = ByDevicePathSet, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(KataCgroup))]
public sealed class RemoveKataCgroupDeviceCommand : DeviceCommandBase
{
    private protected override DeviceChangeKind Kind => DeviceChangeKind.Remove;
}
