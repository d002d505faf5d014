namespace KataCgroups.PowerShell;

/// <summary>
/// The memory events Wait-KataCgroupEvent can wait for (<c>-Event</c>). Defined in the cmdlet assembly, like
/// <see cref="KataCgroupDriver"/>, so the cmdlets' public surface needs nothing from the engine.
/// </summary>
public enum KataCgroupEventType
{
    /// <summary>The cgroup ran out of memory (v2 <c>oom</c>; v1 the memory.oom_control notification).</summary>
    Oom = 0,
    /// <summary>A process was OOM-killed (v2 <c>oom_kill</c>; v1 <c>oom_kill</c> of memory.oom_control).</summary>
    OomKill = 1,
    /// <summary>Usage went over memory.high and was throttled (v2 only).</summary>
    High = 2,
    /// <summary>Usage hit the hard limit (v2 <c>max</c>; v1 growth of memory.failcnt).</summary>
    Max = 3,
}

/// <summary>
/// One memory event of a cgroup (Wait-KataCgroupEvent): flat, so it survives remoting. <see cref="Path"/> binds
/// <c>-Path</c> of the other cmdlets by property name.
/// </summary>
public sealed class KataCgroupEvent
{
    /// <summary>The path as given (resolving it again names this cgroup).</summary>
    public string Path { get; set; } = "";
    /// <summary>Hierarchy-relative cgroup path, e.g. <c>/kubepods/pod1/kata_sandbox1</c>.</summary>
    public string CgroupPath { get; set; } = "";
    /// <summary>Oom, OomKill, High or Max.</summary>
    public string Event { get; set; } = "";
    /// <summary>How many times it happened since the previous observation (a counter delta).</summary>
    public long Count { get; set; }
    /// <summary>The kernel's counter after the event (null when the kernel keeps none: v1 OOM notifications).</summary>
    public long? Total { get; set; }
    /// <summary>When it was observed (local time).</summary>
    public DateTimeOffset Timestamp { get; set; }
    /// <summary>Driver: CgroupfsV1, CgroupfsV2 or Systemd.</summary>
    public string Driver { get; set; } = "";
    /// <summary>The file the event was read from (memory.events, memory.oom_control, memory.failcnt).</summary>
    public string File { get; set; } = "";

    /// <inheritdoc/>
    public override string ToString() => $"{CgroupPath} {Event} x{Count}";
}
