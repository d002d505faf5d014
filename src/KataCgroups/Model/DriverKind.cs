namespace KataCgroups.Model;

/// <summary>Which driver manages a cgroup.</summary>
public enum DriverKind
{
    /// <summary>cgroupfs on v1 or hybrid hosts.</summary>
    CgroupfsV1,
    /// <summary>cgroupfs on the unified (v2) hierarchy.</summary>
    CgroupfsV2,
    /// <summary>systemd transient units over D-Bus.</summary>
    Systemd,
}

/// <summary>Which driver a caller asks for (<c>-Driver</c>).</summary>
public enum DriverSelection
{
    /// <summary>By the path: systemd form (<c>slice:prefix:name</c>) → systemd, else cgroupfs (the rule of Kata's Go manager).</summary>
    Auto = 0,
    /// <summary>cgroupfs only: a systemd-form path is an error.</summary>
    Cgroupfs = 1,
    /// <summary>systemd only: a path not in systemd form is an error (the systemd mode of Kata's Go manager).</summary>
    Systemd = 2,
}
