using KataCgroups.Errors;
using KataCgroups.Drivers;
using KataCgroups.Model;
using KataCgroups.Paths;

namespace KataCgroups;

public sealed partial class CgroupManager
{
    /// <summary>What freezing or thawing <paramref name="target"/> does on this host (for ShouldProcess).</summary>
    public string DescribeFreezer(CgroupTarget target, FreezerState state) => DriverFor(target).DescribeFreezer(target, state);

    /// <summary>
    /// Freezes or thaws an existing cgroup, waits until the kernel confirms, and reads it back. Rootless: skipped
    /// (nothing is written).
    /// </summary>
    public Outcome<CgroupSnapshot> ChangeFreezer(CgroupTarget target, FreezerState state, ICgroupLog log)
    {
        var driver = DriverFor(target);
        if (Host.RootlessReason is { } why) return new(null, why);
        if (!driver.Exists(target)) throw CgroupErrors.NotFound(target.CgroupPath, target.RequestedPath);
        WarnIfUnfinished(driver, target, log, state == FreezerState.Frozen ? "freezing" : "thawing");
        driver.SetFreezer(target, state, log);
        return new(driver.Read(target), null);
    }
}
