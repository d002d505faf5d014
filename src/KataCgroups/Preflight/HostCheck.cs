namespace KataCgroups.Preflight;

/// <summary>How a host check came out.</summary>
public enum HostCheckStatus
{
    /// <summary>The host has it.</summary>
    Pass,
    /// <summary>The host lacks it or cannot tell; the module still works, without what the reason names.</summary>
    Warn,
    /// <summary>The host lacks something a Kata sandbox needs to be constrained.</summary>
    Fail,
}

/// <summary>One preflight check: what was looked at, what was found, and why that matters.</summary>
/// <param name="Name">Stable name, e.g. <c>CgroupMode</c>, <c>Controller:memory</c>, <c>BlockIoWeight</c>, <c>Device:/dev/kvm</c>.</param>
/// <param name="Status">Pass, Warn or Fail.</param>
/// <param name="Value">What the host has: a mount point, a file name, a device number, or <c>none</c>.</param>
/// <param name="Reason">One line: what the value means for the module, or why it is missing.</param>
public sealed record HostCheck(string Name, HostCheckStatus Status, string Value, string Reason);
