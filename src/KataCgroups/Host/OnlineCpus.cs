namespace KataCgroups.Host;

/// <summary>
/// The host's online CPUs and memory nodes (Documentation/admin-guide/cputopology.rst <c>online</c>;
/// Documentation/ABI/stable/sysfs-devices-node <c>/sys/devices/system/node/online</c>), named in cpuset errors.
/// </summary>
public static class OnlineCpus
{
    /// <summary>
    /// The online list that bounds a cpuset file: memory nodes for <c>cpuset.mems</c>, CPUs otherwise; null when
    /// sysfs does not say.
    /// </summary>
    public static string? For(string cpusetFile)
    {
        var path = cpusetFile.EndsWith(".mems", StringComparison.Ordinal) ? "/sys/devices/system/node/online" : "/sys/devices/system/cpu/online";
        try { return File.ReadAllText(path).Trim(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }
}
