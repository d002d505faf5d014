using KataCgroups.Model;
using KataCgroups.Paths;

namespace KataCgroups.Drivers.V1;

public sealed partial class CgroupV1Driver
{
    /// <inheritdoc/>
    public string DescribeFreezer(CgroupTarget target, FreezerState state)
    {
        var file = _layout.TryGet("freezer", out var h)
            ? Path.Combine(h.DirectoryOf(target.CgroupPath), "freezer.state") : "freezer.state (the freezer controller is not mounted)";
        return state == FreezerState.Frozen
            ? $"write {file} = FROZEN, repeated until it reads FROZEN (not FREEZING)"
            : $"write {file} = THAWED";
    }
}
