namespace KataCgroups.PowerShell;

/// <summary>
/// One preflight check of Test-KataCgroupHost: flat, so it survives remoting and ConvertTo-Json.
/// </summary>
public sealed class KataCgroupHostCheck
{
    /// <summary>Stable check name, e.g. <c>CgroupMode</c>, <c>Controller:memory</c>, <c>BlockIoWeight</c>, <c>Device:/dev/kvm</c>.</summary>
    public string Check { get; set; } = "";
    /// <summary>Pass, Warn or Fail.</summary>
    public string Status { get; set; } = "";
    /// <summary>What the host has: a mount point, a file name, a device number, or <c>none</c>.</summary>
    public string Value { get; set; } = "";
    /// <summary>One line: what the value means for the module, or why it is missing.</summary>
    public string Reason { get; set; } = "";
    /// <summary>The host the check ran on (so results of several hosts can be told apart).</summary>
    public string ComputerName { get; set; } = "";

    /// <inheritdoc/>
    public override string ToString() => $"{Check}: {Status} ({Value})";
}
