using System.Globalization;
using KataCgroups.Errors;
using KataCgroups.Events;
using KataCgroups.Interop;
using KataCgroups.Model;
using KataCgroups.Paths;
using KataCgroups.Resources;

namespace KataCgroups.Drivers.V1;

public sealed partial class CgroupV1Driver
{
    /// <inheritdoc/>
    public CgroupEventSource WatchEvents(CgroupTarget target, ICgroupLog log)
    {
        if (!_layout.TryGet("memory", out var h))
            throw new CgroupException(ErrorIds.ControllerNotMounted, CgroupErrorKind.NotSupported, "the memory controller is not mounted on this host", "memory");
        var dir = h.DirectoryOf(target.CgroupPath);
        if (!Directory.Exists(dir)) throw CgroupErrors.NotFound(target.CgroupPath, target.RequestedPath);
        var source = new OomControlSource(Fs, target, Kind, dir, log);
        log.Verbose($"watching {target.CgroupPath}: {source.Mechanism}");
        return source;
    }

    /// <summary>
    /// v1 (Documentation/admin-guide/cgroup-v1/memory.rst §9 "Memory thresholds" and §10 "OOM Control"): eventfds
    /// registered through <c>cgroup.event_control</c>. "&lt;eventfd&gt; &lt;fd of memory.oom_control&gt;" is signalled when the
    /// cgroup (or a descendant) runs out of memory, and when the cgroup is removed; <c>oom_kill</c> in memory.oom_control
    /// (Linux ≥ 4.13) tells a kill apart. "&lt;eventfd&gt; &lt;fd of memory.usage_in_bytes&gt; &lt;threshold&gt;" is signalled whenever
    /// usage crosses the threshold, v1's nearest thing to v2's "max" (memory.failcnt has no notification, and this
    /// 6.x kernel no longer counts it for v1 memory). The kernel checks thresholds only every 128 page charges per CPU
    /// (mm/memcontrol-v1.c THRESHOLDS_EVENTS_TARGET), so a threshold at the limit itself is missed when usage stops
    /// there between two checks: it sits <see cref="LimitMargin"/> below the limit as it is when the wait starts. With
    /// no limit there are no "max" events. v1 has no memory.high, hence no "high" events.
    /// </summary>
    private sealed class OomControlSource : CgroupEventSource
    {
        private readonly CgroupFs _fs;
        private readonly string _dir;
        private readonly string _oomControl;
        private readonly string _usage;
        private readonly SafeFdHandle _oomFd;
        private readonly SafeFdHandle? _limitFd;
        private readonly long _threshold;
        private readonly HashSet<CgroupEventKind> _supported = new() { CgroupEventKind.Oom };
        private MemoryEventCounters.OomControl _lastOom;
        private bool _above;

        /// <summary>How far below the limit the v1 "max" threshold sits: 1 MiB, or a quarter of a smaller limit.</summary>
        internal static long LimitMargin(long limit) => Math.Min(1L << 20, limit / 4);

        internal OomControlSource(CgroupFs fs, CgroupTarget target, DriverKind driver, string dir, ICgroupLog log)
            : base(target, driver, Describe(dir))
        {
            _fs = fs;
            _dir = dir;
            _oomControl = Path.Combine(dir, "memory.oom_control");
            _usage = Path.Combine(dir, "memory.usage_in_bytes");
            var limit = _fs.TryReadNumber(Path.Combine(dir, "memory.limit_in_bytes")) ?? CgroupV1Plan.UnlimitedMemory;
            _threshold = limit > 0 && limit < CgroupV1Plan.UnlimitedMemory ? limit - LimitMargin(limit) : 0;
            _oomFd = NewEventFd(dir);
            try
            {
                Register(_oomFd, _oomControl, null, log);
                if (_threshold > 0)
                {
                    _limitFd = NewEventFd(dir);
                    Register(_limitFd, _usage, _threshold, log);
                    _supported.Add(CgroupEventKind.Max);
                }
            }
            catch
            {
                _oomFd.Dispose();
                _limitFd?.Dispose();
                throw;
            }
            _lastOom = MemoryEventCounters.ParseOomControl(_fs.TryRead(_oomControl));
            _above = _fs.TryReadNumber(_usage) >= _threshold;
            if (_lastOom.OomKill is not null) _supported.Add(CgroupEventKind.OomKill);
        }

        private static string Describe(string dir) =>
            $"eventfds on {Path.Combine(dir, "memory.oom_control")} and a memory.usage_in_bytes threshold just below the limit (cgroup.event_control)";

        private static SafeFdHandle NewEventFd(string dir) =>
            Notify.EventFd(out int errno) ?? throw new CgroupException(ErrorIds.CgroupEventsUnavailable,
                CgroupErrorKind.NotSupported, $"eventfd failed: {Errno.Describe(errno)}", dir, errno);

        /// <summary>
        /// Writes "&lt;eventfd&gt; &lt;fd of file&gt;[ &lt;threshold&gt;]" to cgroup.event_control; the kernel keeps its own references,
        /// so the file is closed again at once.
        /// </summary>
        private void Register(SafeFdHandle eventFd, string file, long? threshold, ICgroupLog log)
        {
            int ofd = Libc.Open(file, Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
            if (ofd < 0)
            {
                int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
                throw new CgroupException(ErrorIds.CgroupEventsUnavailable, errno == Errno.ENOENT ? CgroupErrorKind.NotFound : CgroupErrorKind.ReadFailed,
                    $"cannot open {file}: {Errno.Describe(errno)}", file, errno);
            }
            try
            {
                bool added = false;
                eventFd.DangerousAddRef(ref added);
                try
                {
                    var value = threshold is { } t
                        ? string.Create(CultureInfo.InvariantCulture, $"{eventFd.Fd} {ofd} {t}")
                        : string.Create(CultureInfo.InvariantCulture, $"{eventFd.Fd} {ofd}");
                    var control = Path.Combine(_dir, "cgroup.event_control");
                    int werr = _fs.TryWrite(control, value, log);
                    if (werr != 0)
                        throw new CgroupException(ErrorIds.CgroupEventsUnavailable, CgroupErrorKind.WriteFailed,
                            $"cannot register a notification for {Path.GetFileName(file)}: writing '{value}' to {control} failed: {Errno.Describe(werr)}", control, werr);
                }
                finally { if (added) eventFd.DangerousRelease(); }
            }
            finally { Libc.Close(ofd); }
        }

        public override IReadOnlySet<CgroupEventKind> Supported => _supported;

        public override string Unsupported(CgroupEventKind kind) => kind switch
        {
            CgroupEventKind.High => "cgroup v1 has no memory.high, so there are no High events",
            CgroupEventKind.OomKill => "this kernel's memory.oom_control has no oom_kill counter (Linux < 4.13), so OOM kills cannot be told apart from OOM notifications",
            CgroupEventKind.Max => "the cgroup has no memory limit, so there is no limit to reach (no Max events)",
            _ => "",
        };

        internal override IReadOnlyList<SafeFdHandle> Handles => _limitFd is null ? new[] { _oomFd } : new[] { _oomFd, _limitFd };

        public override bool Exists => Directory.Exists(_dir);

        public override IReadOnlyList<CgroupEvent> Collect(bool signalled)
        {
            long notifications = Notify.Drain(_oomFd);
            long crossings = _limitFd is null ? 0 : Notify.Drain(_limitFd);
            var oom = MemoryEventCounters.ParseOomControl(_fs.TryRead(_oomControl));
            // The notification comes before the OOM killer picks a victim (mm/memcontrol-v1.c memcg1_oom_prepare): give
            // the kill a moment to be counted, so one wait reports the OOM and its kill together.
            if (notifications > 0 && oom.OomKill == _lastOom.OomKill && !oom.OomKillDisable)
            {
                for (int i = 0; i < 50 && oom.OomKill == _lastOom.OomKill && Directory.Exists(_dir); i++)
                {
                    Thread.Sleep(10);
                    oom = MemoryEventCounters.ParseOomControl(_fs.TryRead(_oomControl));
                }
            }
            // The OOM eventfd is also signalled when the cgroup is removed: no OOM then.
            if (!Directory.Exists(_dir)) return Array.Empty<CgroupEvent>();
            long hits = MemoryEventCounters.UpCrossings(_above, crossings);
            if (crossings > 0) _above = _fs.TryReadNumber(_usage) >= _threshold;
            var events = MemoryEventCounters.DiffV1(notifications, _lastOom, oom, hits, _oomControl, _usage, DateTimeOffset.Now);
            _lastOom = oom;
            return events;
        }

        protected override void Dispose(bool disposing)
        {
            _oomFd.Dispose();
            _limitFd?.Dispose();
        }
    }
}
