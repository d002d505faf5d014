namespace KataCgroups.PowerShell;

/// <summary>
/// One sample of a Kata cgroup's usage (Get-KataCgroupStat): flat, with the unit in every property name, so it
/// survives remoting and ConvertTo-Json unchanged. Counters are cumulative since the cgroup was created; the rate
/// properties (<see cref="CpuPercent"/>, <c>Io*PerSecond</c>) are filled from the second sample of a
/// <c>-Count</c>/<c>-Watch</c> run on. Null means "not offered by this host" (a controller not mounted, a kernel
/// without the file); limits use -1 for unlimited.
/// </summary>
public sealed class KataCgroupStat
{
    /// <summary>The path as given to New-KataCgroup; binds <c>-Path</c> of the other cmdlets.</summary>
    public string Path { get; set; } = "";
    /// <summary>Hierarchy-relative path, e.g. <c>/kubepods/pod1/kata_sandbox1</c>.</summary>
    public string CgroupPath { get; set; } = "";
    /// <summary>Driver: CgroupfsV1, CgroupfsV2 or Systemd.</summary>
    public string Driver { get; set; } = "";
    /// <summary>Host cgroup mode: Legacy, Hybrid or Unified.</summary>
    public string Mode { get; set; } = "";
    /// <summary>When the sample was taken (local time).</summary>
    public DateTime Timestamp { get; set; }
    /// <summary>1 for the first sample of this cgroup in this command, then 2, 3, …</summary>
    public int Sample { get; set; }
    /// <summary>Seconds since this cgroup's previous sample (monotonic clock); null on the first.</summary>
    public double? IntervalSeconds { get; set; }

    /// <summary>Memory in use, bytes, page cache included (v1 memory.usage_in_bytes, v2 memory.current).</summary>
    public long? MemoryUsageBytes { get; set; }
    /// <summary>Memory limit, bytes (-1 unlimited).</summary>
    public long? MemoryLimitBytes { get; set; }
    /// <summary>Peak memory usage, bytes (v1 max_usage_in_bytes, v2 memory.peak on Linux 5.19+).</summary>
    public long? MemoryPeakBytes { get; set; }
    /// <summary>Anonymous memory, bytes (v2 anon, v1 total_rss).</summary>
    public long? MemoryAnonBytes { get; set; }
    /// <summary>Page cache, bytes (v2 file, v1 total_cache).</summary>
    public long? MemoryFileBytes { get; set; }
    /// <summary>Swap in use, bytes, swap alone.</summary>
    public long? SwapUsageBytes { get; set; }
    /// <summary>v1: times usage hit the limit (memory.failcnt).</summary>
    public long? MemoryFailCount { get; set; }
    /// <summary>v2 memory.events low.</summary>
    public long? MemoryLowEvents { get; set; }
    /// <summary>v2 memory.events high: times throttled above memory.high.</summary>
    public long? MemoryHighEvents { get; set; }
    /// <summary>v2 memory.events max: times usage was about to pass memory.max.</summary>
    public long? MemoryMaxEvents { get; set; }
    /// <summary>v2 memory.events oom: times the OOM killer was invoked.</summary>
    public long? MemoryOomEvents { get; set; }
    /// <summary>Processes killed by the OOM killer (v2 memory.events oom_kill, v1 memory.oom_control oom_kill).</summary>
    public long? OomKillCount { get; set; }

    /// <summary>CPU time used, µs.</summary>
    public long? CpuUsageUsec { get; set; }
    /// <summary>User CPU time, µs.</summary>
    public long? CpuUserUsec { get; set; }
    /// <summary>System CPU time, µs.</summary>
    public long? CpuSystemUsec { get; set; }
    /// <summary>CFS periods elapsed while a quota was set (cpu.stat nr_periods).</summary>
    public long? CpuPeriods { get; set; }
    /// <summary>Periods in which the quota throttled the cgroup (nr_throttled).</summary>
    public long? CpuThrottledPeriods { get; set; }
    /// <summary>Time throttled, µs.</summary>
    public long? CpuThrottledUsec { get; set; }
    /// <summary>CPU used since the previous sample, percent of one CPU (200 = two CPUs busy).</summary>
    public double? CpuPercent { get; set; }

    /// <summary>Tasks now (pids.current).</summary>
    public long? PidsCurrent { get; set; }
    /// <summary>Task limit (-1 unlimited).</summary>
    public long? PidsLimit { get; set; }

    /// <summary>Bytes read, all devices.</summary>
    public long? IoReadBytes { get; set; }
    /// <summary>Bytes written, all devices.</summary>
    public long? IoWriteBytes { get; set; }
    /// <summary>Read requests, all devices.</summary>
    public long? IoReadOps { get; set; }
    /// <summary>Write requests, all devices.</summary>
    public long? IoWriteOps { get; set; }
    /// <summary>Bytes read per second since the previous sample.</summary>
    public double? IoReadBytesPerSecond { get; set; }
    /// <summary>Bytes written per second since the previous sample.</summary>
    public double? IoWriteBytesPerSecond { get; set; }
    /// <summary>Read requests per second since the previous sample.</summary>
    public double? IoReadOpsPerSecond { get; set; }
    /// <summary>Write requests per second since the previous sample.</summary>
    public double? IoWriteOpsPerSecond { get; set; }
    /// <summary>Which files the IO numbers come from: io.stat (v2), blkio.bfq, blkio (CFQ) or blkio.throttle (v1).</summary>
    public string? IoSource { get; set; }
    /// <summary>IO per device.</summary>
    public KataCgroupIoStat[] IoDevices { get; set; } = Array.Empty<KataCgroupIoStat>();

    /// <summary>Huge page usage per page size.</summary>
    public KataCgroupHugetlbStat[] Hugetlb { get; set; } = Array.Empty<KataCgroupHugetlbStat>();

    /// <summary>cpu.pressure some avg10, percent.</summary>
    public double? CpuPressureSomeAvg10 { get; set; }
    /// <summary>cpu.pressure some avg60, percent.</summary>
    public double? CpuPressureSomeAvg60 { get; set; }
    /// <summary>cpu.pressure some avg300, percent.</summary>
    public double? CpuPressureSomeAvg300 { get; set; }
    /// <summary>cpu.pressure some total, µs.</summary>
    public long? CpuPressureSomeTotalUsec { get; set; }
    /// <summary>cpu.pressure full avg10, percent (null before Linux 5.13).</summary>
    public double? CpuPressureFullAvg10 { get; set; }
    /// <summary>cpu.pressure full avg60, percent.</summary>
    public double? CpuPressureFullAvg60 { get; set; }
    /// <summary>cpu.pressure full avg300, percent.</summary>
    public double? CpuPressureFullAvg300 { get; set; }
    /// <summary>cpu.pressure full total, µs.</summary>
    public long? CpuPressureFullTotalUsec { get; set; }
    /// <summary>memory.pressure some avg10, percent.</summary>
    public double? MemoryPressureSomeAvg10 { get; set; }
    /// <summary>memory.pressure some avg60, percent.</summary>
    public double? MemoryPressureSomeAvg60 { get; set; }
    /// <summary>memory.pressure some avg300, percent.</summary>
    public double? MemoryPressureSomeAvg300 { get; set; }
    /// <summary>memory.pressure some total, µs.</summary>
    public long? MemoryPressureSomeTotalUsec { get; set; }
    /// <summary>memory.pressure full avg10, percent.</summary>
    public double? MemoryPressureFullAvg10 { get; set; }
    /// <summary>memory.pressure full avg60, percent.</summary>
    public double? MemoryPressureFullAvg60 { get; set; }
    /// <summary>memory.pressure full avg300, percent.</summary>
    public double? MemoryPressureFullAvg300 { get; set; }
    /// <summary>memory.pressure full total, µs.</summary>
    public long? MemoryPressureFullTotalUsec { get; set; }
    /// <summary>io.pressure some avg10, percent.</summary>
    public double? IoPressureSomeAvg10 { get; set; }
    /// <summary>io.pressure some avg60, percent.</summary>
    public double? IoPressureSomeAvg60 { get; set; }
    /// <summary>io.pressure some avg300, percent.</summary>
    public double? IoPressureSomeAvg300 { get; set; }
    /// <summary>io.pressure some total, µs.</summary>
    public long? IoPressureSomeTotalUsec { get; set; }
    /// <summary>io.pressure full avg10, percent.</summary>
    public double? IoPressureFullAvg10 { get; set; }
    /// <summary>io.pressure full avg60, percent.</summary>
    public double? IoPressureFullAvg60 { get; set; }
    /// <summary>io.pressure full avg300, percent.</summary>
    public double? IoPressureFullAvg300 { get; set; }
    /// <summary>io.pressure full total, µs.</summary>
    public long? IoPressureFullTotalUsec { get; set; }

    /// <inheritdoc/>
    public override string ToString() => CgroupPath;
}

/// <summary>Block IO of one device (a row of <see cref="KataCgroupStat.IoDevices"/>).</summary>
public sealed class KataCgroupIoStat
{
    /// <summary>"major:minor".</summary>
    public string Device { get; set; } = "";
    /// <summary>Major number.</summary>
    public long Major { get; set; }
    /// <summary>Minor number.</summary>
    public long Minor { get; set; }
    /// <summary>Bytes read.</summary>
    public long ReadBytes { get; set; }
    /// <summary>Bytes written.</summary>
    public long WriteBytes { get; set; }
    /// <summary>Read requests.</summary>
    public long ReadOps { get; set; }
    /// <summary>Write requests.</summary>
    public long WriteOps { get; set; }
    /// <summary>Bytes discarded (v2 only).</summary>
    public long? DiscardBytes { get; set; }
    /// <summary>Discard requests (v2 only).</summary>
    public long? DiscardOps { get; set; }

    /// <inheritdoc/>
    public override string ToString() => $"{Device} rbytes={ReadBytes} wbytes={WriteBytes} rios={ReadOps} wios={WriteOps}";
}

/// <summary>Huge page usage of one page size (a row of <see cref="KataCgroupStat.Hugetlb"/>).</summary>
public sealed class KataCgroupHugetlbStat
{
    /// <summary>Page size as the kernel names it: 2MB, 1GB.</summary>
    public string PageSize { get; set; } = "";
    /// <summary>Bytes in use.</summary>
    public long? UsageBytes { get; set; }
    /// <summary>Peak bytes (v1 only).</summary>
    public long? MaxUsageBytes { get; set; }
    /// <summary>Limit, bytes (-1 unlimited).</summary>
    public long? LimitBytes { get; set; }
    /// <summary>Allocations the limit refused.</summary>
    public long? FailCount { get; set; }

    /// <inheritdoc/>
    public override string ToString() => $"{PageSize} usage={UsageBytes} limit={LimitBytes}";
}
