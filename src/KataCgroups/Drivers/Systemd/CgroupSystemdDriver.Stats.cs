using KataCgroups.Paths;
using KataCgroups.Stats;

namespace KataCgroups.Drivers.Systemd;

public sealed partial class CgroupSystemdDriver
{
    /// <summary>
    /// A scope's statistics come from its cgroupfs files, like <see cref="Read"/>: systemd's own counters
    /// (MemoryCurrent, CPUUsageNSec) are the same kernel numbers, fewer of them, behind a D-Bus round trip
    /// (runc's systemd managers also read stats through fs/fs2).
    /// </summary>
    public CgroupStats Stats(CgroupTarget target) => _fsDriver.Stats(target) with { Driver = Kind };
}
