namespace KataCgroups.PowerShell;

/// <summary>
/// The <c>-Driver</c> choice. Defined here, not in the engine: types of cmdlet parameters are loaded when the module
/// is imported, before the engine's private load context can resolve anything (PowerShell-Docs
/// resolving-dependency-conflicts.md), so the cmdlets' public surface uses only this assembly and the BCL. The
/// values match the engine's DriverSelection one for one.
/// </summary>
public enum KataCgroupDriver
{
    /// <summary>By the path: <c>slice:prefix:name</c> → systemd, anything else → cgroupfs.</summary>
    Auto = 0,
    /// <summary>cgroupfs only; a systemd-form path is an error.</summary>
    Cgroupfs = 1,
    /// <summary>systemd only; a path not in systemd form is an error (Kata's systemd cgroup mode).</summary>
    Systemd = 2,
}
