using KataCgroups.Interop;
using KataCgroups.Model;
using KataCgroups.Paths;

namespace KataCgroups.Events;

/// <summary>
/// A registered watch on one cgroup's memory events (a driver's <c>WatchEvents</c>). It is armed when it is
/// made: its baseline is read and its notification registered before the driver returns it, so whatever happens
/// afterwards is reported and a caller can start the workload right after opening it without a race. Waiting is
/// done by <see cref="CgroupEventWaiter"/> on <see cref="Handles"/>; disposing releases every descriptor.
/// </summary>
public abstract class CgroupEventSource : IDisposable
{
    private protected CgroupEventSource(CgroupTarget target, DriverKind driver, string mechanism)
    {
        Target = target;
        Driver = driver;
        Mechanism = mechanism;
    }

    /// <summary>The cgroup.</summary>
    public CgroupTarget Target { get; }

    /// <summary>The driver that manages the cgroup (a systemd scope is watched through its cgroupfs directory).</summary>
    public DriverKind Driver { get; internal set; }

    /// <summary>What is being watched, for -Verbose (e.g. <c>inotify IN_MODIFY on …/memory.events</c>).</summary>
    public string Mechanism { get; }

    /// <summary>The events this kernel can report for the cgroup.</summary>
    public abstract IReadOnlySet<CgroupEventKind> Supported { get; }

    /// <summary>What the host cannot report, one sentence per missing kind, for a warning.</summary>
    public abstract string Unsupported(CgroupEventKind kind);

    /// <summary>The descriptors that become readable when something may have changed.</summary>
    internal abstract IReadOnlyList<SafeFdHandle> Handles { get; }

    /// <summary>
    /// Reads what happened since the last call (or since the source was opened): drains the notifications (they are
    /// non-blocking), re-reads the counters and returns the events, in the kernel's order.
    /// <paramref name="signalled"/> says a notification woke the waiter.
    /// </summary>
    public abstract IReadOnlyList<CgroupEvent> Collect(bool signalled);

    /// <summary>False once the cgroup's directory is gone (removed while waiting).</summary>
    public abstract bool Exists { get; }

    /// <summary>Releases the descriptors (and, on v1, the kernel's registration with them).</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the descriptors.</summary>
    protected abstract void Dispose(bool disposing);
}

/// <summary>
/// Waits on several event sources at once with poll(2), asynchronously (a dedicated thread blocks in poll, the
/// caller awaits), cancellable at once: cancellation signals a private eventfd that is part of every poll.
/// </summary>
public sealed class CgroupEventWaiter : IDisposable
{
    private readonly SafeFdHandle _cancel;

    /// <summary>Makes a waiter (one eventfd for cancellation).</summary>
    public CgroupEventWaiter()
    {
        _cancel = Notify.EventFd(out int errno) ?? throw new Errors.CgroupException(Errors.ErrorIds.CgroupEventsUnavailable,
            Errors.CgroupErrorKind.NotSupported, $"eventfd failed: {Errno.Describe(errno)}");
    }

    /// <summary>
    /// Waits until one of <paramref name="sources"/> is signalled or <paramref name="timeout"/> passed. Returns one
    /// flag per source (all false on a timeout). Throws <see cref="OperationCanceledException"/> when cancelled.
    /// </summary>
    public async Task<bool[]> WaitAsync(IReadOnlyList<CgroupEventSource> sources, TimeSpan timeout, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var handles = sources.SelectMany(s => s.Handles).Append(_cancel).ToList();
        int ms = timeout == Timeout.InfiniteTimeSpan ? -1 : (int)Math.Clamp(Math.Ceiling(timeout.TotalMilliseconds), 0, int.MaxValue);
        using var registration = cancellationToken.Register(static s => Notify.Signal((SafeFdHandle)s!), _cancel);
        var ready = await Task.Factory.StartNew(() => Notify.Poll(handles, ms), CancellationToken.None,
            TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
        if (ready[^1]) Notify.Drain(_cancel);
        cancellationToken.ThrowIfCancellationRequested();
        var bySource = new bool[sources.Count];
        int k = 0;
        for (int i = 0; i < sources.Count; i++)
            foreach (var _ in sources[i].Handles) bySource[i] |= ready[k++];
        return bySource;
    }

    /// <inheritdoc/>
    public void Dispose() => _cancel.Dispose();
}
