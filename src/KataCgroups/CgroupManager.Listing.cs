using KataCgroups.Drivers;
using KataCgroups.Drivers.V1;
using KataCgroups.Errors;
using KataCgroups.Model;
using KataCgroups.Paths;

namespace KataCgroups;

/// <summary>One cgroup of <see cref="CgroupManager.ReadAll"/>: its converted snapshot, or why it could not be read.</summary>
public readonly record struct ReadResult<T>(CgroupTarget Target, T? Value, CgroupException? Error);

public sealed partial class CgroupManager
{
    /// <summary>How far the readers of <see cref="ReadAll"/> may run ahead of the consumer.</summary>
    internal const int ReadAheadWindow = 512;

    /// <summary>Below this many cgroups <see cref="ReadAll"/> starts no reader thread.</summary>
    internal const int ReadersFrom = 16;

    /// <summary>
    /// On a v1 or hybrid host, the processes of every cgroup from one pass over /proc (CgroupV1Driver.IndexProcesses)
    /// when that is fewer reads than a cgroup.procs per cgroup and hierarchy: the host's task count is the fourth field
    /// of /proc/loadavg (proc(5): "currently runnable / existing kernel scheduling entities"). Null: read each cgroup's.
    /// </summary>
    private CgroupV1Driver.ProcessIndex? IndexForListing(IReadOnlyList<CgroupTarget> targets)
    {
        if (_fsDriver is not CgroupV1Driver v1 || targets.Count < ReadersFrom) return null;
        var loadavg = CgroupFs.TryReadSystemFile(Path.Combine(Host.Options.ProcRoot, "loadavg"))?.Split(' ');
        int slash = loadavg is { Length: > 3 } ? loadavg[3].IndexOf('/') : -1;
        if (slash < 0 || !long.TryParse(loadavg![3][(slash + 1)..], out long tasks)) return null;
        long procsReads = (long)targets.Count * (v1.Hierarchies.Count - 1);
        return procsReads > tasks ? v1.IndexProcesses() : null;
    }

    /// <summary>
    /// Reads many cgroups and hands them back in the order given, each converted by <paramref name="convert"/>:
    /// reader threads (one per CPU but one) take the next cgroup as soon as they are done with one, and the
    /// consuming thread, whenever the next result is not there yet, reads the next unclaimed cgroup itself instead
    /// of sleeping — reading a cgroup is a few dozen small file reads that wait on the kernel, not on each other, so
    /// no batch waits for its slowest read, consuming (a PowerShell pipeline writing objects) overlaps reading, and
    /// the consumer is not woken once per cgroup.
    /// The readers stay at most <see cref="ReadAheadWindow"/> cgroups ahead, and stop when the enumeration is
    /// disposed (a consumer that stops early) or <paramref name="cancel"/> fires. A cgroup that cannot be read is a
    /// result with its error (a removed one: <see cref="ErrorIds.CgroupNotFound"/>); anything else a reader throws
    /// is rethrown to the consumer.
    /// </summary>
    public IEnumerable<ReadResult<T>> ReadAll<T>(IReadOnlyList<CgroupTarget> targets, Func<CgroupSnapshot, T> convert,
        CancellationToken cancel = default)
    {
        int n = targets.Count;
        if (n == 0) yield break;
        var results = new ReadResult<T>[n];
        var ready = new bool[n];
        int next = -1;
        Exception? failure = null;
        var gate = new object();
        using var credits = new SemaphoreSlim(Math.Min(ReadAheadWindow, n));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        using var wake = stop.Token.Register(() => { lock (gate) Monitor.PulseAll(gate); });
        var index = IndexForListing(targets);
        CgroupSnapshot ReadOne(CgroupTarget t) =>
            index is not null && t.Systemd is null && _fsDriver is CgroupV1Driver v1 ? v1.Read(t, index) : Read(t);

        // Claims the next cgroup (within the window) and reads it; false when there is none to claim.
        bool ReadNext(bool wait)
        {
            if (wait) credits.Wait(stop.Token);
            else if (!credits.Wait(0)) return false;
            int i = Interlocked.Increment(ref next);
            if (i >= n)
            {
                credits.Release();
                return false;
            }
            ReadResult<T> r;
            try { r = new(targets[i], convert(ReadOne(targets[i])), null); }
            catch (CgroupException e) { r = new(targets[i], default, e); }
            results[i] = r;
            lock (gate)
            {
                Volatile.Write(ref ready[i], true);
                Monitor.PulseAll(gate);
            }
            return true;
        }

        void Reader()
        {
            try
            {
                while (ReadNext(wait: true)) { }
            }
            catch (OperationCanceledException) { }
            catch (Exception e)
            {
                lock (gate)
                {
                    failure ??= e;
                    Monitor.PulseAll(gate);
                }
            }
        }

        // A handful of cgroups is read faster than a thread starts: the consumer reads those alone.
        var readers = new Thread[n < ReadersFrom ? 0 : Math.Min(Math.Max(1, Environment.ProcessorCount - 1), n)];
        for (int w = 0; w < readers.Length; w++)
        {
            readers[w] = new Thread(Reader) { IsBackground = true, Name = "KataCgroups reader" };
            readers[w].Start();
        }
        try
        {
            for (int i = 0; i < n; i++)
            {
                // Not read yet: help (a cgroup read here is one a reader does not have to), then wait if it is still
                // being read by a reader.
                while (!Volatile.Read(ref ready[i]) && failure is null && !stop.IsCancellationRequested && ReadNext(wait: false)) { }
                if (!Volatile.Read(ref ready[i]))
                {
                    lock (gate)
                    {
                        while (!Volatile.Read(ref ready[i]) && failure is null && !stop.IsCancellationRequested)
                            Monitor.Wait(gate);
                    }
                }
                if (!Volatile.Read(ref ready[i]))
                {
                    if (failure is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
                    yield break;   // cancelled
                }
                var result = results[i];
                results[i] = default;   // the consumer owns it now
                credits.Release();
                yield return result;
            }
        }
        finally
        {
            stop.Cancel();
            foreach (var t in readers) t.Join();
        }
    }
}
