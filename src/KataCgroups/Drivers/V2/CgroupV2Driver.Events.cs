using KataCgroups.Errors;
using KataCgroups.Events;
using KataCgroups.Interop;
using KataCgroups.Model;
using KataCgroups.Paths;

namespace KataCgroups.Drivers.V2;

public sealed partial class CgroupV2Driver
{
    /// <inheritdoc/>
    public CgroupEventSource WatchEvents(CgroupTarget target, ICgroupLog log)
    {
        var dir = Dir(target);
        if (!Directory.Exists(dir)) throw CgroupErrors.NotFound(target.CgroupPath, target.RequestedPath);
        var source = new MemoryEventsSource(Fs, target, Kind, Path.Combine(dir, "memory.events"));
        log.Verbose($"watching {target.CgroupPath}: {source.Mechanism}");
        return source;
    }

    /// <summary>
    /// v2: <c>memory.events</c> is hierarchical (it counts the cgroup and its descendants) and "a value change in this
    /// file generates a file modified event" (cgroup-v2.rst), so an inotify IN_MODIFY watch on it wakes the waiter and
    /// the counters (high, max, oom, oom_kill) are compared with the previous reading.
    /// </summary>
    private sealed class MemoryEventsSource : CgroupEventSource
    {
        private static readonly IReadOnlySet<CgroupEventKind> All = Enum.GetValues<CgroupEventKind>().ToHashSet();
        private readonly CgroupFs _fs;
        private readonly string _file;
        private readonly SafeFdHandle _inotify;
        private Dictionary<string, long> _last;

        internal MemoryEventsSource(CgroupFs fs, CgroupTarget target, DriverKind driver, string file)
            : base(target, driver, $"inotify IN_MODIFY on {file}")
        {
            _fs = fs;
            _file = file;
            // Watch first, then read the baseline: a change in between is seen (as a notification with a diff of 0 or more).
            _inotify = Notify.Inotify(file, Notify.IN_MODIFY, out int errno) ?? throw (errno == Errno.ENOENT
                ? new CgroupException(ErrorIds.CgroupEventsUnavailable, CgroupErrorKind.NotSupported,
                    $"{file} does not exist: the memory controller is not enabled for cgroup {target.CgroupPath} (cgroup.subtree_control of its parent)", file, errno)
                : new CgroupException(ErrorIds.CgroupEventsUnavailable, CgroupErrorKind.ReadFailed, $"cannot watch {file}: {Errno.Describe(errno)}", file, errno));
            _last = MemoryEventCounters.ParseFlatKeyed(_fs.TryRead(file));
        }

        public override IReadOnlySet<CgroupEventKind> Supported => All;

        public override string Unsupported(CgroupEventKind kind) => "";

        internal override IReadOnlyList<SafeFdHandle> Handles => new[] { _inotify };

        public override bool Exists => File.Exists(_file);

        public override IReadOnlyList<CgroupEvent> Collect(bool signalled)
        {
            if (signalled) Notify.Drain(_inotify);
            var text = _fs.TryRead(_file);
            if (text is null) return Array.Empty<CgroupEvent>();
            var now = MemoryEventCounters.ParseFlatKeyed(text);
            var events = MemoryEventCounters.DiffV2(_last, now, _file, DateTimeOffset.Now);
            _last = now;
            return events;
        }

        protected override void Dispose(bool disposing) => _inotify.Dispose();
    }
}
