using KataCgroups.Errors;
using KataCgroups.Events;
using KataCgroups.Paths;

namespace KataCgroups;

public sealed partial class CgroupManager
{
    /// <summary>
    /// Starts watching a cgroup's memory events (see <see cref="Drivers.ICgroupDriver.WatchEvents"/>). Read-only, so it
    /// also works rootless where the files are readable (v1 cgroup.event_control is writable by everyone).
    /// </summary>
    public CgroupEventSource WatchEvents(CgroupTarget target, ICgroupLog log)
    {
        var driver = DriverFor(target);
        if (!driver.Exists(target)) throw CgroupErrors.NotFound(target.CgroupPath, target.RequestedPath);
        return driver.WatchEvents(target, log);
    }
}
