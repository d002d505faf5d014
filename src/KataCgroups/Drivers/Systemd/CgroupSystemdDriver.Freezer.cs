using KataCgroups.Errors;
using KataCgroups.Model;
using KataCgroups.Paths;

namespace KataCgroups.Drivers.Systemd;

public sealed partial class CgroupSystemdDriver
{
    /// <summary>
    /// D-Bus errors that mean "this systemd cannot freeze units": NotSupported from systemd ≥ 246 when the freezer is
    /// not on the unified hierarchy (src/core/dbus-unit.c bus_unit_method_freezer_generic: unit_can_freeze() is false
    /// on v1/hybrid hosts), UnknownMethod from systemd &lt; 246, which has no FreezeUnit.
    /// </summary>
    private static bool CannotFreeze(CgroupException e) =>
        e.Target is "org.freedesktop.DBus.Error.NotSupported" or "org.freedesktop.DBus.Error.UnknownMethod";

    /// <inheritdoc/>
    /// <remarks>
    /// FreezeUnit/ThawUnit (systemd ≥ 246, org.freedesktop.systemd1(5)) so systemd's own FreezerState agrees with
    /// the kernel; systemd answers only once the freeze completed. Where systemd cannot freeze (cgroup v1 or hybrid,
    /// old systemd) the scope's v1 freezer directory — made by this driver at creation, see JoinUnmanagedHierarchies —
    /// is used through cgroupfs, with the FREEZING retry rule.
    /// </remarks>
    public void SetFreezer(CgroupTarget target, FreezerState state, ICgroupLog log)
    {
        var unit = Unit(target);
        if (!Exists(target)) throw CgroupErrors.NotFound(target.CgroupPath, target.RequestedPath);
        var method = state == FreezerState.Frozen ? "FreezeUnit" : "ThawUnit";
        try
        {
            log.Verbose($"D-Bus {method} {unit.UnitName}");
            Sync(WithTimeout(_bus.FreezeUnitAsync(unit.UnitName, state == FreezerState.Frozen), unit.UnitName, method), log);
        }
        catch (CgroupException e) when (CannotFreeze(e))
        {
            log.Verbose($"systemd cannot {(state == FreezerState.Frozen ? "freeze" : "thaw")} {unit.UnitName} ({e.Target}); using the cgroupfs freezer");
            JoinUnmanagedHierarchies(target, log);   // a scope made by another tool may lack its freezer directory
            _fsDriver.SetFreezer(target, state, log);
            return;
        }
        // systemd replied: confirm with the kernel (cgroup.events "frozen 1" on v2).
        var now = _fsDriver.Read(target).FreezerState;
        var want = state == FreezerState.Frozen ? "FROZEN" : "THAWED";
        if (now is not null && now != want)
            throw new CgroupException(ErrorIds.FreezeFailed, CgroupErrorKind.ResourceBusy,
                $"systemd answered {method} for {unit.UnitName}, but the cgroup's freezer state is {now}, not {want}", unit.UnitName);
    }

    /// <inheritdoc/>
    public string DescribeFreezer(CgroupTarget target, FreezerState state)
    {
        var unit = Unit(target);
        var method = state == FreezerState.Frozen ? "FreezeUnit" : "ThawUnit";
        return $"D-Bus {method} {unit.UnitName} (where systemd cannot freeze: {_fsDriver.DescribeFreezer(target, state)})";
    }

    /// <summary>A freeze that systemd never answers is an error after the job timeout, not a hang.</summary>
    private static async Task<bool> WithTimeout(Task call, string unit, string method)
    {
        var done = await Task.WhenAny(call, Task.Delay(JobTimeout)).ConfigureAwait(false);
        if (done != call)
            throw new CgroupException(ErrorIds.FreezeFailed, CgroupErrorKind.ResourceBusy,
                $"systemd did not answer {method} for {unit} within {JobTimeout.TotalSeconds:0} s", unit);
        await call.ConfigureAwait(false);
        return true;
    }
}
