using KataCgroups.Paths;
using KataCgroups.Stats;

namespace KataCgroups;

public sealed partial class CgroupManager
{
    /// <summary>
    /// The cgroup's usage now. Read-only, so it works rootless too (cgroup statistics files are world-readable).
    /// </summary>
    public CgroupStats Stats(CgroupTarget target) => DriverFor(target).Stats(target);
}
