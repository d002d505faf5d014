namespace KataCgroups.Host;

/// <summary>
/// Rootless detection (opencontainers/cgroups fs/fs.go, runc userns): rootless when the
/// effective uid is not 0, or when running in a user namespace whose uid_map is not the identity map —
/// then even uid 0 cannot write cgroupfs it does not own.
/// </summary>
public static class Rootless
{
    /// <summary>The uid_map of the initial user namespace: uid 0 maps to 0 for all 2^32-1 ids.</summary>
    public static bool IsIdentityUidMap(string? uidMapText)
    {
        if (uidMapText is null) return true; // no /proc/self/uid_map: kernel without user namespaces
        var lines = uidMapText.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (lines.Length != 1) return false;
        var f = lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return f.Length == 3 && f[0] == "0" && f[1] == "0" && f[2] == "4294967295";
    }

    /// <summary>Returns null when privileged, else a sentence saying why the process is rootless.</summary>
    public static string? Reason(uint euid, string? uidMapText)
    {
        if (euid != 0) return $"running rootless (effective uid {euid})";
        if (!IsIdentityUidMap(uidMapText)) return "running rootless (uid 0 inside a user namespace)";
        return null;
    }
}
