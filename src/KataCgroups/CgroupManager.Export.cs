using KataCgroups.Devices;
using KataCgroups.Paths;
using KataCgroups.Resources;

namespace KataCgroups;

public sealed partial class CgroupManager
{
    /// <summary>
    /// A live cgroup as OCI resources (Export-KataCgroup): what its files hold, so that New-KataCgroup of the export
    /// on another path writes the same values. The device rules are the effective ones, the hypervisor devices and
    /// runc's defaults included: New-KataCgroup adds those after the caller's rules, and adding a rule that is there
    /// already changes nothing, so the rule set comes out the same. Only one of them that the live cgroup no longer
    /// allows (revoked with Remove-KataCgroupDevice) would come back; the export warns about each. Read-only.
    /// </summary>
    public ResourceExport Export(CgroupTarget target)
    {
        var export = DriverFor(target).Export(target);
        if (export.Resources.Devices is not { } devices) return export;
        var have = DeviceRuleSet.FromRequested(devices.Select(DeviceRule.FromOci));
        var warnings = export.Warnings.ToList();
        foreach (var rule in SandboxDevices(new LinuxResources(), NullCgroupLog.Instance))
        {
            if ((have.AllowedAccess(rule.Type, rule.Major, rule.Minor) & rule.Access) != rule.Access)
                warnings.Add($"cgroup {target.CgroupPath} does not allow '{rule.ToKernelString()}', which New-KataCgroup adds to every sandbox " +
                    "(a hypervisor device or one of runc's defaults): a cgroup made from this export allows it");
        }
        return export with { Warnings = warnings };
    }
}
