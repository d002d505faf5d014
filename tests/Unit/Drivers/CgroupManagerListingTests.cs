using KataCgroups.Errors;
using KataCgroups.Host;
using KataCgroups.Tests.Support;

namespace KataCgroups.Tests.Drivers;

/// <summary>CgroupManager.ReadAll on a fake root: order, errors, early stop, cancellation, a reader's failure.</summary>
public sealed class CgroupManagerListingTests : IDisposable
{
    private readonly FakeCgroupRoot _fake = FakeCgroupRoot.Create();

    public void Dispose() => _fake.Dispose();

    private CgroupManager Manager() => CgroupManager.ForHost(_fake.Options(CgroupMode.Hybrid, 0));

    // More cgroups than the read-ahead window, so readers wait for the consumer and the window refills.
    private List<KataCgroups.Paths.CgroupTarget> MakeCgroups(CgroupManager manager, int count)
    {
        for (int i = 0; i < count; i++)
            _fake.MakeCgroupEverywhere($"/vc/kata_c{i:D4}");
        var found = manager.Find().ToList();
        Assert.Equal(count, found.Count);
        return found;
    }

    [Fact]
    public void ReadAll_ReturnsEveryCgroupInTheOrderGiven()
    {
        var manager = Manager();
        var found = MakeCgroups(manager, CgroupManager.ReadAheadWindow + 300);
        var read = manager.ReadAll(found, s => s.Target.CgroupPath).ToList();
        Assert.Equal(found.Select(t => t.CgroupPath), read.Select(r => r.Value));
        Assert.Equal(found.Select(t => t.CgroupPath), read.Select(r => r.Target.CgroupPath));
        Assert.All(read, r => Assert.Null(r.Error));
    }

    [Fact]
    public void ReadAll_ACgroupRemovedMeanwhileIsAResultWithItsError()
    {
        var manager = Manager();
        var found = MakeCgroups(manager, 40);
        foreach (var m in _fake.Mounts) Directory.Delete(_fake.Dir(m, "/vc/kata_c0007"), recursive: true);
        var read = manager.ReadAll(found, s => s.Target.CgroupPath).ToList();
        Assert.Equal(40, read.Count);
        Assert.Equal(ErrorIds.CgroupNotFound, read[7].Error?.ErrorId);
        Assert.Null(read[7].Value);
        Assert.Equal(39, read.Count(r => r.Value is not null));
    }

    [Fact]
    public void ReadAll_StoppingEarlyEndsTheReadersBeforeItReturns()
    {
        var manager = Manager();
        var found = MakeCgroups(manager, CgroupManager.ReadAheadWindow * 2);
        int converted = 0;
        var first = manager.ReadAll(found, s => { Interlocked.Increment(ref converted); return s; }).Take(3).ToList();
        Assert.Equal(3, first.Count);
        // Disposing the enumeration joined the readers: nothing converts afterwards, and they never ran further
        // ahead than the window allows.
        int after = Volatile.Read(ref converted);
        Thread.Sleep(50);
        Assert.Equal(after, Volatile.Read(ref converted));
        Assert.InRange(after, 3, 3 + CgroupManager.ReadAheadWindow + Environment.ProcessorCount);
    }

    [Fact]
    public void ReadAll_CancelledEndsTheEnumeration()
    {
        var manager = Manager();
        var found = MakeCgroups(manager, 200);
        using var cancel = new CancellationTokenSource();
        int seen = 0;
        foreach (var r in manager.ReadAll(found, s => s, cancel.Token))
        {
            if (++seen == 5) cancel.Cancel();
        }
        Assert.InRange(seen, 5, 199);
    }

    [Fact]
    public void ReadAll_AReadersUnexpectedFailureReachesTheConsumer()
    {
        var manager = Manager();
        var found = MakeCgroups(manager, 50);
        var e = Assert.Throws<InvalidOperationException>(() =>
            manager.ReadAll(found, s => s.Target.CgroupPath == "/vc/kata_c0020" ? throw new InvalidOperationException("boom") : s).ToList());
        Assert.Equal("boom", e.Message);
    }

    [Fact]
    public void ReadAll_AFewCgroupsAreReadByTheConsumerAlone()
    {
        var manager = Manager();
        var found = MakeCgroups(manager, CgroupManager.ReadersFrom - 1);
        int consumer = Environment.CurrentManagedThreadId;
        var threads = new HashSet<int>();
        var read = manager.ReadAll(found, s => { lock (threads) threads.Add(Environment.CurrentManagedThreadId); return s.Target.CgroupPath; }).ToList();
        Assert.Equal(found.Select(t => t.CgroupPath), read.Select(r => r.Value));
        Assert.Equal(new[] { consumer }, threads);
    }

    [Fact]
    public void ReadAll_NothingToRead()
    {
        Assert.Empty(Manager().ReadAll(Array.Empty<KataCgroups.Paths.CgroupTarget>(), s => s));
    }
}
