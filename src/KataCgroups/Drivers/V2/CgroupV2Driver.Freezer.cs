using KataCgroups.Model;
using KataCgroups.Paths;

namespace KataCgroups.Drivers.V2;

public sealed partial class CgroupV2Driver
{
    /// <inheritdoc/>
    public string DescribeFreezer(CgroupTarget target, FreezerState state)
    {
        var dir = Dir(target);
        return state == FreezerState.Frozen
            ? $"write {Path.Combine(dir, "cgroup.freeze")} = 1, then wait for 'frozen 1' in cgroup.events"
            : $"write {Path.Combine(dir, "cgroup.freeze")} = 0";
    }
}
