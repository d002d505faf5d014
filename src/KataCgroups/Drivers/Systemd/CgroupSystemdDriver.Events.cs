using KataCgroups.Events;
using KataCgroups.Paths;

namespace KataCgroups.Drivers.Systemd;

public sealed partial class CgroupSystemdDriver
{
    /// <inheritdoc/>
    /// <remarks>
    /// systemd has no D-Bus signal for memory events of a unit (it reads memory.events itself only for OOMPolicy):
    /// a scope is watched through its cgroupfs directory, with the mechanism of the host's mode.
    /// </remarks>
    public CgroupEventSource WatchEvents(CgroupTarget target, ICgroupLog log)
    {
        Unit(target);
        var source = _fsDriver.WatchEvents(target, log);
        source.Driver = Kind;
        return source;
    }
}
