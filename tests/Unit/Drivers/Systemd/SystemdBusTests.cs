using System.Collections.Immutable;
using System.Net.Sockets;
using KataCgroups.Drivers.Systemd;
using KataCgroups.Errors;
using KataCgroups.Tests.Support;

namespace KataCgroups.Tests.Drivers.Systemd;

/// <summary>
/// The connection handshake is bounded: a peer that accepts and then never answers (systemd 252 does this to a
/// private-socket connection whose BEGIN and Hello it reads in one go while busy) costs one short wait per
/// attempt, each attempt on a fresh connection, and ends in SystemdUnavailable, never in a hang.
/// </summary>
public sealed class SystemdBusTests
{
    [Fact]
    public async Task ASilentPeerIsTriedOncePerAttemptOnAFreshConnectionAndThenReportedUnreachable()
    {
        using var dir = new TempDir();
        var socketPath = dir["silent.sock"];
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(socketPath));
        listener.Listen(8);
        var accepted = new List<Socket>();
        var received = new List<string>();
        using var stop = new CancellationTokenSource();
        var server = Task.Run(async () =>
        {
            // Accept every connection and read what comes, answering nothing.
            while (!stop.IsCancellationRequested)
            {
                Socket s;
                try { s = await listener.AcceptAsync(stop.Token); }
                catch (OperationCanceledException) { return; }
                lock (accepted) accepted.Add(s);
                var buffer = new byte[256];
                _ = Task.Run(async () =>
                {
                    try
                    {
                        int n = await s.ReceiveAsync(buffer, SocketFlags.None);
                        lock (received) received.Add(System.Text.Encoding.ASCII.GetString(buffer, 0, n));
                    }
                    catch (SocketException) { }
                    catch (ObjectDisposedException) { }
                });
            }
        });

        var log = new RecordingLog();
        try
        {
            using var bus = new SystemdBus("unix:path=" + socketPath, log)
            {
                ConnectAttemptTimeouts = ImmutableArray.Create(TimeSpan.FromMilliseconds(150), TimeSpan.FromMilliseconds(300)),
            };
            var connect = bus.EnsureConnectedAsync();
            var finished = await Task.WhenAny(connect, Task.Delay(TimeSpan.FromSeconds(20)));
            Assert.Same(connect, finished);   // bounded: no hang
            var e = await Assert.ThrowsAsync<CgroupException>(() => connect);
            Assert.Equal(ErrorIds.SystemdUnavailable, e.ErrorId);
            Assert.Contains("did not complete the D-Bus handshake within", e.Message);
            Assert.Contains(socketPath, e.Message);
        }
        finally
        {
            stop.Cancel();
            await server;
            lock (accepted) foreach (var s in accepted) s.Dispose();
        }

        lock (accepted) Assert.Equal(2, accepted.Count);   // one fresh connection per attempt
        lock (received) { Assert.NotEmpty(received); Assert.All(received, r => Assert.StartsWith("\0", r)); }   // the client really began the handshake
        Assert.Equal(2, log.DebugMessages.Count(m => m.Contains("no answer to the handshake")));
    }
}

/// <summary>
/// JobRemoved results reach their waiter whichever comes first, the signal or the wait — including when both race
/// on two threads (the old two-map design lost such a result and waited 30 s).
/// </summary>
public sealed class SystemdJobsTests
{
    [Fact]
    public async Task AResultThatCameBeforeTheWaitIsReturnedAndForgotten()
    {
        var jobs = new SystemdJobs();
        jobs.Complete("/org/freedesktop/systemd1/job/7", "done");
        Assert.Equal("done", await jobs.WaitAsync("/org/freedesktop/systemd1/job/7", TimeSpan.FromSeconds(5)));
        Assert.Equal(0, jobs.Count);
    }

    [Fact]
    public async Task AWaitIsCompletedByTheLaterSignalAndTimesOutWithoutOne()
    {
        var jobs = new SystemdJobs();
        var wait = jobs.WaitAsync("/job/8", TimeSpan.FromSeconds(10));
        jobs.Complete("/job/8", "failed");
        Assert.Equal("failed", await wait);
        var e = await Assert.ThrowsAsync<CgroupException>(() => jobs.WaitAsync("/job/9", TimeSpan.FromMilliseconds(50)));
        Assert.Equal(ErrorIds.SystemdJobFailed, e.ErrorId);
        Assert.Equal(0, jobs.Count);
    }

    [Fact]
    public async Task SignalAndWaitRacingOnTwoThreadsNeverLoseAResult()
    {
        // Each job's signal and wait start together on two threads, so every interleaving gets its chance.
        var jobs = new SystemdJobs();
        const int N = 5000;
        using var go = new Barrier(2);
        var signals = Task.Factory.StartNew(() =>
        {
            for (int i = 0; i < N; i++)
            {
                go.SignalAndWait();
                jobs.Complete("/job/" + i, "done");
            }
        }, TaskCreationOptions.LongRunning);
        var waits = Task.Factory.StartNew(() =>
        {
            int got = 0;
            for (int i = 0; i < N; i++)
            {
                go.SignalAndWait();
                if (jobs.WaitAsync("/job/" + i, TimeSpan.FromSeconds(5)).GetAwaiter().GetResult() == "done") got++;
            }
            return got;
        }, TaskCreationOptions.LongRunning);
        await signals;
        Assert.Equal(N, await waits);
        Assert.Equal(0, jobs.Count);
    }

    [Fact]
    public void UnclaimedResultsAreBoundedAndDroppedOnANewConnection()
    {
        var jobs = new SystemdJobs();
        for (int i = 0; i < SystemdJobs.MaxUnclaimed * 3; i++) jobs.Complete("/other/" + i, "done");
        Assert.True(jobs.Count <= SystemdJobs.MaxUnclaimed);
        jobs.ForgetUnclaimed();
        Assert.Equal(0, jobs.Count);
    }
}
