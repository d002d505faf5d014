# How the differential suite compares the two cgroups' files (docs/differential.md, "What is compared"). Every
# file in both cgroups' directories, in every hierarchy, is read back and must be equal, except:
#   Skip     files not compared at all. Only files whose content is not configuration belong here: usage,
#            statistics, counters and event state, which depend on what ran on the machine and when, not on what
#            either engine wrote.
#   AsSet    files compared as a set of lines, because the kernel keeps their lines in the order they were written
#            and the order has no meaning.
# Patterns are matched against the file name (-like).
@{
    AsSet = @(
        @{ Pattern = 'devices.list'; Why = 'v1 device exceptions are listed in the order they were added; any one of them that matches grants access, so the order decides nothing (Documentation/admin-guide/cgroup-v1/devices.rst; security/device_cgroup.c match_exception). runc writes its allows sorted by major, minor and type (cgroups/devices/devices_emulator.go Transition), the module in its own order' }
    )

    Skip = @(
        @{ Pattern = 'cgroup.procs'; Why = 'membership, not configuration (the v1 device probe passes through the devices leaf)' }
        @{ Pattern = 'tasks'; Why = 'v1 membership by thread, as cgroup.procs' }
        @{ Pattern = 'cgroup.threads'; Why = 'v2 membership by thread, as cgroup.procs' }
        @{ Pattern = 'cgroup.event_control'; Why = 'v1 event registration (write-only: eventfd notifications)' }
        @{ Pattern = 'memory.pressure_level'; Why = 'v1 memory pressure notification registration, not a setting' }
        @{ Pattern = '*.stat'; Why = 'statistics (cpu.stat, memory.stat, io.stat, cpuacct.stat, cgroup.stat)' }
        @{ Pattern = '*.stat.local'; Why = 'statistics of the cgroup alone (cpu.stat.local, cgroup.stat.local)' }
        @{ Pattern = '*.numa_stat'; Why = 'per-NUMA-node statistics (memory.numa_stat, hugetlb.<size>.numa_stat)' }
        @{ Pattern = 'memory.kmem.slabinfo'; Why = 'slab statistics' }
        @{ Pattern = '*.usage*'; Why = 'usage counters (cpuacct.usage*, memory.*usage_in_bytes, hugetlb.*.usage_in_bytes)' }
        @{ Pattern = '*.max_usage*'; Why = 'high-water marks of usage' }
        @{ Pattern = '*.peak'; Why = 'v2 high-water marks (memory.peak, memory.swap.peak, pids.peak)' }
        @{ Pattern = '*.failcnt'; Why = 'counts of limit hits' }
        @{ Pattern = '*.current'; Why = 'usage now (pids.current, memory.current, memory.swap.current, rdma.current, misc.current)' }
        @{ Pattern = '*.events'; Why = 'event counters (memory.events, pids.events, hugetlb.<size>.events, cgroup.events)' }
        @{ Pattern = '*.events.local'; Why = 'event counters of the cgroup alone' }
        @{ Pattern = 'cpu.pressure'; Why = 'PSI averages and totals (cgroup.pressure, the on/off switch, is compared)' }
        @{ Pattern = 'memory.pressure'; Why = 'PSI averages and totals' }
        @{ Pattern = 'io.pressure'; Why = 'PSI averages and totals' }
        @{ Pattern = 'irq.pressure'; Why = 'PSI averages and totals' }
        @{ Pattern = 'cpuset.memory_pressure'; Why = 'a running average of reclaim pressure (cgroup-v1/cpusets.rst 1.5)' }
        @{ Pattern = 'blkio.throttle.io_service*'; Why = 'block I/O statistics of the throttle layer' }
        @{ Pattern = 'blkio.throttle.io_serviced*'; Why = 'block I/O statistics of the throttle layer' }
        @{ Pattern = 'blkio.io_*'; Why = 'CFQ block I/O statistics' }
        @{ Pattern = 'blkio.sectors*'; Why = 'CFQ block I/O statistics' }
        @{ Pattern = 'blkio.time*'; Why = 'CFQ block I/O statistics' }
        @{ Pattern = 'blkio.bfq.io_*'; Why = 'BFQ block I/O statistics' }
        @{ Pattern = 'blkio.bfq.sectors*'; Why = 'BFQ block I/O statistics' }
        @{ Pattern = 'blkio.bfq.time*'; Why = 'BFQ block I/O statistics' }
        @{ Pattern = 'blkio.bfq.avg_queue_size'; Why = 'BFQ debug statistics (CONFIG_BFQ_CGROUP_DEBUG)' }
        @{ Pattern = 'blkio.bfq.*_time'; Why = 'BFQ debug statistics (dequeue, empty, group_wait, idle times)' }
        @{ Pattern = 'blkio.bfq.dequeue'; Why = 'BFQ debug statistics' }
    )

    # The systemd run (docs/differential.md, "The systemd driver") also compares the unit properties systemd reports
    # for both scopes (systemctl show), all of them except these, matched against the property name (-like).
    AsSetProperty = @(
        @{ Pattern = 'DeviceAllow'; Why = 'systemd applies the whole list at once, all allows (src/core/cgroup.c cgroup_apply_devices): its order decides nothing' }
    )

    SkipProperty = @(
        @{ Pattern = 'Id'; Why = 'the unit''s name: each side has its own' }
        @{ Pattern = 'Names'; Why = 'the unit''s name' }
        @{ Pattern = 'Description'; Why = 'each engine describes its units its own way (runc: "libcontainer container <name>")' }
        @{ Pattern = 'Slice'; Why = 'each side has its own slice' }
        @{ Pattern = 'ControlGroup'; Why = 'the scope''s path, below its own slice' }
        @{ Pattern = 'ControlGroupId'; Why = 'the cgroup''s inode number' }
        @{ Pattern = 'Requires'; Why = 'the dependency on its own slice' }
        @{ Pattern = 'After'; Why = 'the ordering after its own slice' }
        @{ Pattern = 'FragmentPath'; Why = 'the transient unit file, named after the unit' }
        @{ Pattern = 'DropInPaths'; Why = 'the transient drop-ins, named after the unit; the values they hold are compared as properties' }
        @{ Pattern = 'InvocationID'; Why = 'random per start' }
        @{ Pattern = 'NeedDaemonReload'; Why = 'unit state, not a setting: whether the unit''s files changed since systemd loaded it. runc starts the scope, then sets its resources with SetUnitProperties (systemd/v1.go Apply, then Set), whose runtime drop-ins make it yes; the module passes them to StartTransientUnit' }
        @{ Pattern = '*Timestamp'; Why = 'when a state changed' }
        @{ Pattern = '*TimestampMonotonic'; Why = 'when a state changed' }
        @{ Pattern = 'MemoryCurrent'; Why = 'usage now' }
        @{ Pattern = 'MemoryAvailable'; Why = 'the limit minus usage now' }
        @{ Pattern = 'CPUUsageNSec'; Why = 'usage' }
        @{ Pattern = 'TasksCurrent'; Why = 'usage now' }
        @{ Pattern = 'IP*Bytes'; Why = 'IP accounting counters' }
        @{ Pattern = 'IP*Packets'; Why = 'IP accounting counters' }
        @{ Pattern = 'IO*Bytes'; Why = 'I/O accounting counters' }
        @{ Pattern = 'IO*Operations'; Why = 'I/O accounting counters' }
    )
}
