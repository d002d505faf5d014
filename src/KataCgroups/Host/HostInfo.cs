namespace KataCgroups.Host;

/// <summary>How cgroups are mounted (opencontainers/cgroups utils.go).</summary>
public enum CgroupMode
{
    /// <summary>Only v1 hierarchies.</summary>
    Legacy,
    /// <summary>v1 controllers plus cgroup2 at <c>&lt;root&gt;/unified</c> for process tracking.</summary>
    Hybrid,
    /// <summary>cgroup2 at the root (all controllers on one tree).</summary>
    Unified,
}

/// <summary>Where the host probe looks. Every path is a test seam (STYLE rule 9): tests point them at fixtures.</summary>
public sealed record HostOptions
{
    /// <summary>Where cgroup file systems are mounted.</summary>
    public string CgroupRoot { get; init; } = "/sys/fs/cgroup";
    /// <summary>The proc file system.</summary>
    public string ProcRoot { get; init; } = "/proc";
    /// <summary>The runtime directory (systemd's boot marker is <c>&lt;RunRoot&gt;/systemd/system</c>).</summary>
    public string RunRoot { get; init; } = "/run";
    /// <summary>Where device nodes live (for the hypervisor devices).</summary>
    public string DevRoot { get; init; } = "/dev";
    /// <summary>The sysfs mount (block devices and their I/O schedulers, for the host checks).</summary>
    public string SysRoot { get; init; } = "/sys";
    /// <summary>mountinfo to scan; default <c>&lt;ProcRoot&gt;/self/mountinfo</c>.</summary>
    public string? MountInfoPath { get; init; }
    /// <summary>uid_map to read; default <c>&lt;ProcRoot&gt;/self/uid_map</c>.</summary>
    public string? UidMapPath { get; init; }
    /// <summary>Use this mode instead of the statfs probe (fake roots on ordinary file systems).</summary>
    public CgroupMode? ModeOverride { get; init; }
    /// <summary>Use this effective uid instead of geteuid().</summary>
    public uint? EuidOverride { get; init; }

    internal string MountInfoFile => MountInfoPath ?? Path.Combine(ProcRoot, "self", "mountinfo");
    internal string UidMapFile => UidMapPath ?? Path.Combine(ProcRoot, "self", "uid_map");
}

/// <summary>What the probe found: cgroup mode, hierarchies, privileges. Immutable; probe once per session.</summary>
public sealed class HostInfo
{
    internal HostInfo(HostOptions options, CgroupMode mode, IReadOnlyList<Hierarchy> hierarchies, uint euid, string? rootlessReason)
    {
        Options = options;
        Mode = mode;
        Hierarchies = hierarchies;
        Euid = euid;
        RootlessReason = rootlessReason;
        var byController = new Dictionary<string, Hierarchy>(StringComparer.Ordinal);
        foreach (var h in hierarchies)
        {
            if (h.IsUnified) { Unified ??= h; continue; }
            foreach (var c in h.Controllers) byController.TryAdd(c, h);
        }
        ByController = byController;
        // sd_booted(3): systemd is the init system iff /run/systemd/system/ exists.
        SystemdBooted = Directory.Exists(Path.Combine(options.RunRoot, "systemd", "system"));
    }

    /// <summary>The options the probe ran with.</summary>
    public HostOptions Options { get; }
    /// <summary>Legacy, hybrid or unified.</summary>
    public CgroupMode Mode { get; }
    /// <summary>The cgroup mounts used (first mount of each hierarchy).</summary>
    public IReadOnlyList<Hierarchy> Hierarchies { get; }
    /// <summary>v1 hierarchy by controller name (including <c>name=systemd</c>).</summary>
    public IReadOnlyDictionary<string, Hierarchy> ByController { get; }
    /// <summary>The cgroup2 mount: the root on unified hosts, <c>unified</c> on hybrid ones.</summary>
    public Hierarchy? Unified { get; }
    /// <summary>Effective uid.</summary>
    public uint Euid { get; }
    /// <summary>Why the process is rootless, or null when it may change cgroups.</summary>
    public string? RootlessReason { get; }
    /// <summary>True when systemd is the init system (sd_booted(3)); Get-KataCgroup then lists its units too.</summary>
    public bool SystemdBooted { get; }
    /// <summary>True when mutating operations are skipped.</summary>
    public bool IsRootless => RootlessReason is not null;
}
