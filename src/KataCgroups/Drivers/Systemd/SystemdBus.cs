using System.Collections.Concurrent;
using System.Collections.Immutable;
using KataCgroups.Errors;
using KataCgroups.Resources;
using Tmds.DBus.Protocol;

namespace KataCgroups.Drivers.Systemd;

/// <summary>
/// The systemd manager over D-Bus (org.freedesktop.systemd1(5)), with Tmds.DBus.Protocol. Connects to the
/// private socket <c>/run/systemd/private</c> when reachable (peer-to-peer, as root), else the system bus
/// (<c>DBUS_SYSTEM_BUS_ADDRESS</c> honoured) or an address the caller names; reconnects once when the
/// connection drops. JobRemoved is watched before any job is started and results are buffered, because the
/// signal can arrive before the method reply (opencontainers/cgroups systemd/common.go startUnit).
/// </summary>
internal sealed class SystemdBus : IDisposable
{
    internal const string Destination = "org.freedesktop.systemd1";
    internal const string ManagerPath = "/org/freedesktop/systemd1";
    internal const string ManagerInterface = "org.freedesktop.systemd1.Manager";
    internal const string PrivateSocket = "/run/systemd/private";

    private readonly string? _explicitAddress;
    private readonly ICgroupLog _log;
    private DBusConnection? _connection;
    private IDisposable? _jobWatch;
    private string _address = "";
    private readonly SystemdJobs _jobs = new();

    internal SystemdBus(string? explicitAddress, ICgroupLog log)
    {
        _explicitAddress = explicitAddress;
        _log = log;
    }

    /// <summary>The address in use.</summary>
    internal string Address => _address;

    /// <summary>True when talking peer-to-peer (the private socket): no bus daemon, no sender names.</summary>
    internal bool PeerToPeer { get; private set; }

    private IEnumerable<string> Candidates()
    {
        if (!string.IsNullOrEmpty(_explicitAddress)) { yield return _explicitAddress; yield break; }
        if (Environment.IsPrivilegedProcess && File.Exists(PrivateSocket)) yield return "unix:path=" + PrivateSocket;
        yield return Environment.GetEnvironmentVariable("DBUS_SYSTEM_BUS_ADDRESS") is { Length: > 0 } env
            ? env : "unix:path=/var/run/dbus/system_bus_socket";
    }

    /// <summary>
    /// How long each connection attempt may take to complete the handshake (SASL, Hello, the JobRemoved watch),
    /// attempt by attempt. systemd 252 can leave a new private-socket connection unserved for good when
    /// <c>BEGIN</c> and <c>Hello</c> reach it in one read while it is busy, and serves a fresh connection at once
    /// (docs/reliability.md, "systemd behaviours the D-Bus code is shaped by"). So a stalled handshake is dropped
    /// after a short wait and tried again, each time waiting longer, because a systemd that is merely slow
    /// (thousands of jobs queued) deserves the 25 s sd-bus gives a call.
    /// </summary>
    internal ImmutableArray<TimeSpan> ConnectAttemptTimeouts { get; init; } =
        ImmutableArray.Create(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(25));

    private async Task<DBusConnection> ConnectAsync()
    {
        if (_connection is not null) return _connection;
        Exception? last = null;
        foreach (var address in Candidates())
        {
            foreach (var timeout in ConnectAttemptTimeouts)
            {
                var c = new DBusConnection(address);
                _log.Debug($"D-Bus connect {address}");
                var handshake = HandshakeAsync(c);
                if (await Task.WhenAny(handshake, Task.Delay(timeout)).ConfigureAwait(false) != handshake)
                {
                    _log.Debug($"D-Bus {address}: no answer to the handshake within {timeout.TotalSeconds:0} s; connecting again");
                    // Whatever the abandoned attempt ends with is observed, and a watch it still made is dropped.
                    _ = handshake.ContinueWith(static t => { if (t.IsCompletedSuccessfully) t.Result.Dispose(); else _ = t.Exception; },
                        TaskScheduler.Default);
                    c.Dispose();
                    last = new TimeoutException($"{address} did not complete the D-Bus handshake within {timeout.TotalSeconds:0} s");
                    continue;
                }
                try
                {
                    _jobWatch = await handshake.ConfigureAwait(false);
                    PeerToPeer = c.UniqueName is null;
                    // Results of the previous connection nobody claimed mean nothing now (a restarted systemd
                    // numbers its jobs from 1 again).
                    _jobs.ForgetUnclaimed();
                    _connection = c;
                    _address = address;
                    return c;
                }
                catch (Exception e) when (e is DBusConnectionException or DBusErrorReplyException or IOException or System.Net.Sockets.SocketException or DBusConnectionClosedException)
                {
                    // systemd refuses its private socket to clients outside its PID namespace; try the next address.
                    _log.Debug($"D-Bus {address}: {e.Message}");
                    last = e;
                    c.Dispose();
                    break;
                }
            }
        }
        throw new CgroupException(ErrorIds.SystemdUnavailable, CgroupErrorKind.NotSupported,
            $"cannot reach systemd over D-Bus (tried {string.Join(", ", Candidates())}): {last?.Message}", _explicitAddress, inner: last);
    }

    /// <summary>Authenticates, watches JobRemoved and (on a bus) subscribes; returns the watch.</summary>
    private async Task<IDisposable> HandshakeAsync(DBusConnection c)
    {
        await c.ConnectAsync().ConfigureAwait(false);
        // The private socket speaks peer-to-peer: systemd answers Hello with an error, no unique name.
        bool peerToPeer = c.UniqueName is null;
        // Signals: on the bus, Subscribe() or systemd emits nothing; peer-to-peer they always come.
        var watch = await c.WatchSignalAsync(peerToPeer ? null : Destination, ManagerPath, ManagerInterface, "JobRemoved",
            static (Message m, object? _) =>
            {
                var r = m.GetBodyReader();
                r.ReadUInt32();
                var job = r.ReadObjectPathAsString();
                var unit = r.ReadString();
                var result = r.ReadString();
                return (job, unit, result);
            },
            (Notification<(string Job, string Unit, string Result)> n) =>
            {
                if (!n.HasValue) return;
                var v = n.Value;
                _jobs.Complete(v.Job, v.Result);
            }, ObserverFlags.None, false, null).ConfigureAwait(false);
        try
        {
            if (!peerToPeer) await CallAsync(c, "Subscribe", null, static w => { }).ConfigureAwait(false);
        }
        catch
        {
            watch.Dispose();
            throw;
        }
        return watch;
    }

    private void Drop()
    {
        _jobWatch?.Dispose();
        _jobWatch = null;
        _connection?.Dispose();
        _connection = null;
    }

    /// <summary>
    /// How long a manager call may go unanswered. systemd answers manager calls in milliseconds; no answer at all
    /// means a connection systemd no longer serves, though its socket stays open (docs/reliability.md, "systemd
    /// behaviours the D-Bus code is shaped by"). sd-bus gives up after 25 s; so do we.
    /// </summary>
    internal TimeSpan CallTimeout { get; init; } = TimeSpan.FromSeconds(25);

    /// <summary>
    /// Runs a manager call; on a dropped connection — closed, or silent past <see cref="CallTimeout"/> — reconnects
    /// once and repeats it. A call that is not <paramref name="idempotent"/> (StartTransientUnit: the first one may
    /// have worked) is not repeated after a silence; it fails, naming the timeout.
    /// </summary>
    private async Task<T> WithReconnect<T>(Func<DBusConnection, Task<T>> call, bool idempotent = true)
    {
        for (int attempt = 0; ; attempt++)
        {
            var c = await ConnectAsync().ConfigureAwait(false);
            var task = call(c);
            if (await Task.WhenAny(task, Task.Delay(CallTimeout)).ConfigureAwait(false) != task)
            {
                _ = task.ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);   // observe its end, whatever it is
                _log.Debug($"D-Bus call on {_address} unanswered for {CallTimeout.TotalSeconds:0} s; dropping the connection");
                Drop();
                if (attempt == 0 && idempotent) continue;
                throw new CgroupException(ErrorIds.SystemdCallFailed, CgroupErrorKind.ResourceBusy,
                    $"systemd did not answer within {CallTimeout.TotalSeconds:0} s on {_address}", _address);
            }
            try { return await task.ConfigureAwait(false); }
            catch (DBusConnectionClosedException e) when (attempt == 0)
            {
                _log.Debug($"D-Bus connection to {_address} dropped ({e.Message}); reconnecting once");
                Drop();
            }
        }
    }

    private delegate void BodyWriter(ref MessageWriter writer);

    private static Task CallAsync(DBusConnection c, string member, string? signature, Action<MessageWriterBox> body) =>
        CallAsync<object?>(c, member, signature, body, null);

    /// <summary>Builds a method call synchronously (MessageWriter is a ref struct) and sends it.</summary>
    private static Task<T> CallAsync<T>(DBusConnection c, string member, string? signature, Action<MessageWriterBox> body, MessageValueReader<T>? reader)
    {
        MessageBuffer buffer;
        var writer = c.GetMessageWriter();
        try
        {
            writer.WriteMethodCallHeader(Destination, ManagerPath, ManagerInterface, member, signature, MessageFlags.None);
            var box = new MessageWriterBox();
            body(box);
            box.Flush(ref writer);
            buffer = writer.CreateMessage();
        }
        finally { writer.Dispose(); }
        return reader is null
            ? c.CallMethodAsync(buffer).ContinueWith(t => { t.GetAwaiter().GetResult(); return default(T)!; }, TaskScheduler.Default)
            : c.CallMethodAsync(buffer, reader, null);
    }

    /// <summary>StartTransientUnit(name, "replace", properties, []) → job path.</summary>
    internal Task<string> StartTransientUnitAsync(string unit, IReadOnlyList<UnitProperty> properties) =>
        WithReconnect(c => CallAsync(c, "StartTransientUnit", "ssa(sv)a(sa(sv))", w =>
        {
            w.String(unit);
            w.String("replace");
            w.Properties(properties);
            w.EmptyAuxUnits();
        }, static (m, _) => m.GetBodyReader().ReadObjectPathAsString()), idempotent: false);

    /// <summary>SetUnitProperties(name, runtime, properties).</summary>
    internal Task SetUnitPropertiesAsync(string unit, IReadOnlyList<UnitProperty> properties) =>
        WithReconnect(async c =>
        {
            await CallAsync(c, "SetUnitProperties", "sba(sv)", w => { w.String(unit); w.Bool(true); w.Properties(properties); }).ConfigureAwait(false);
            return true;
        });

    /// <summary>StopUnit(name, "replace") → job path.</summary>
    internal Task<string> StopUnitAsync(string unit) =>
        WithReconnect(c => CallAsync(c, "StopUnit", "ss", w => { w.String(unit); w.String("replace"); },
            static (m, _) => m.GetBodyReader().ReadObjectPathAsString()));

    /// <summary>ResetFailedUnit(name).</summary>
    internal Task ResetFailedUnitAsync(string unit) =>
        WithReconnect(async c =>
        {
            await CallAsync(c, "ResetFailedUnit", "s", w => w.String(unit)).ConfigureAwait(false);
            return true;
        });

    /// <summary>AttachProcessesToUnit(name, "", pids) (systemd ≥ 238).</summary>
    internal Task AttachProcessesAsync(string unit, IReadOnlyList<int> pids) =>
        WithReconnect(async c =>
        {
            await CallAsync(c, "AttachProcessesToUnit", "ssau", w => { w.String(unit); w.String(""); w.UInt32Array(pids.Select(p => (uint)p).ToArray()); }).ConfigureAwait(false);
            return true;
        });

    /// <summary>Waits for the JobRemoved of <paramref name="job"/> and returns its result ("done", "failed"…).</summary>
    internal Task<string> WaitForJobAsync(string job, TimeSpan timeout) => _jobs.WaitAsync(job, timeout);

    /// <summary>Reads one property of a unit (org.freedesktop.DBus.Properties.Get on its object).</summary>
    internal Task<VariantValue> GetUnitPropertyAsync(string unitObjectPath, string iface, string property) =>
        WithReconnect(c =>
        {
            MessageBuffer buffer;
            var writer = c.GetMessageWriter();
            try
            {
                writer.WriteMethodCallHeader(Destination, unitObjectPath, "org.freedesktop.DBus.Properties", "Get", "ss", MessageFlags.None);
                writer.WriteString(iface);
                writer.WriteString(property);
                buffer = writer.CreateMessage();
            }
            finally { writer.Dispose(); }
            return c.CallMethodAsync(buffer, static (m, _) => m.GetBodyReader().ReadVariantValue(), null);
        });

    /// <summary>GetUnit(name) → object path.</summary>
    internal Task<string> GetUnitAsync(string unit) =>
        WithReconnect(c => CallAsync(c, "GetUnit", "s", w => w.String(unit), static (m, _) => m.GetBodyReader().ReadObjectPathAsString()));

    /// <summary>
    /// ListUnitsByPatterns([], patterns) → (name, description) of every loaded unit matching (systemd ≥ 230); the
    /// reply is a(ssssssouso): name, description, load, active, sub, following, path, job id, job type, job path.
    /// </summary>
    internal Task<List<(string Name, string Description)>> ListUnitsAsync(IReadOnlyList<string> patterns) =>
        WithReconnect(c => CallAsync(c, "ListUnitsByPatterns", "asas", w => { w.StringArray(System.Array.Empty<string>()); w.StringArray(patterns); },
            static (m, _) =>
            {
                var r = m.GetBodyReader();
                var units = new List<(string, string)>();
                var end = r.ReadArrayStart(DBusType.Struct);
                while (r.HasNext(end))
                {
                    r.AlignStruct();
                    var name = r.ReadString();
                    var description = r.ReadString();
                    r.ReadString(); r.ReadString(); r.ReadString(); r.ReadString();
                    r.ReadObjectPathAsString();
                    r.ReadUInt32();
                    r.ReadString();
                    r.ReadObjectPathAsString();
                    units.Add((name, description));
                }
                return units;
            }));

    /// <summary>Connects now (throws SystemdUnavailable when no systemd answers).</summary>
    internal Task EnsureConnectedAsync() => ConnectAsync();

    /// <summary>Closes the connection (a later call reconnects).</summary>
    internal void Disconnect() => Drop();

    public void Dispose() => Drop();

    // [freezer]
    /// <summary>
    /// FreezeUnit(name) / ThawUnit(name) (systemd ≥ 246). systemd replies once the unit's cgroup is frozen or thawed,
    /// not when it starts to (src/core/dbus-unit.c bus_unit_method_freezer_generic keeps the call pending).
    /// </summary>
    internal Task FreezeUnitAsync(string unit, bool freeze) =>
        WithReconnect(async c =>
        {
            await CallAsync(c, freeze ? "FreezeUnit" : "ThawUnit", "s", w => w.String(unit)).ConfigureAwait(false);
            return true;
        });
}

/// <summary>
/// Collects a method body outside the ref-struct writer (so lambdas can describe it), then writes it in one go.
/// </summary>
internal sealed class MessageWriterBox
{
    private readonly List<object> _items = new();
    private sealed record AuxUnits;
    private sealed record UIntArray(uint[] Values);
    private sealed record StringList(IReadOnlyList<string> Values);

    internal void String(string s) => _items.Add(s);
    internal void Bool(bool b) => _items.Add(b);
    internal void Properties(IReadOnlyList<UnitProperty> p) => _items.Add(p);
    internal void EmptyAuxUnits() => _items.Add(new AuxUnits());
    internal void UInt32Array(uint[] values) => _items.Add(new UIntArray(values));
    internal void StringArray(IReadOnlyList<string> values) => _items.Add(new StringList(values));

    internal void Flush(ref MessageWriter w)
    {
        foreach (var item in _items)
        {
            switch (item)
            {
                case string s: w.WriteString(s); break;
                case bool b: w.WriteBool(b); break;
                case UIntArray a: w.WriteArray(a.Values); break;
                case StringList l: w.WriteArray(l.Values.ToArray()); break;
                case AuxUnits:
                    var aux = w.WriteArrayStart(DBusType.Struct);
                    w.WriteArrayEnd(aux);
                    break;
                case IReadOnlyList<UnitProperty> props:
                    var start = w.WriteArrayStart(DBusType.Struct);
                    foreach (var p in props)
                    {
                        w.WriteStructureStart();
                        w.WriteString(p.Name);
                        w.WriteVariant(ToVariant(p.Value));
                    }
                    w.WriteArrayEnd(start);
                    break;
            }
        }
    }

    private static VariantValue ToVariant(object v) => v switch
    {
        bool b => VariantValue.Bool(b),
        ulong u => VariantValue.UInt64(u),
        string s => VariantValue.String(s),
        byte[] bytes => VariantValue.Array(bytes),
        uint[] values => VariantValue.Array(values),
        (string, string)[] pairs => new Tmds.DBus.Protocol.Array<Struct<string, string>>(pairs.Select(p => Struct.Create(p.Item1, p.Item2))).AsVariantValue(),
        _ => throw new ArgumentException($"unsupported unit property value {v.GetType().Name}"),
    };
}

/// <summary>
/// The results of systemd jobs (JobRemoved), matched to whoever waits for them. One completion per job path, made by
/// whichever side comes first — the signal (it can arrive before the reply that names the job) or the waiter — and
/// completed by the signal. One map, not a buffer for early results beside a table of waiters: with two maps checked
/// one after the other, a signal that finds no waiter yet and a waiter that looks in the buffer before the signal has
/// written it both miss the result, and the waiter times out (docs/reliability.md, "systemd behaviours the D-Bus code
/// is shaped by").
/// </summary>
internal sealed class SystemdJobs
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<string>> _jobs = new(StringComparer.Ordinal);
    // Results nobody waits for (peer-to-peer, systemd signals every job, other clients' too), oldest first, so that
    // they can be dropped; a job of ours is always among the newest.
    private readonly ConcurrentQueue<string> _unclaimed = new();

    /// <summary>How many unclaimed results are kept.</summary>
    internal const int MaxUnclaimed = 1024;

    private static TaskCompletionSource<string> New(string _) => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>A job ended with <paramref name="result"/> (from its JobRemoved signal).</summary>
    internal void Complete(string job, string result)
    {
        if (!_jobs.GetOrAdd(job, New).TrySetResult(result)) return;
        _unclaimed.Enqueue(job);
        while (_unclaimed.Count > MaxUnclaimed && _unclaimed.TryDequeue(out var old))
            if (_jobs.TryGetValue(old, out var t) && t.Task.IsCompleted) _jobs.TryRemove(old, out _);
    }

    /// <summary>The job's result, whether it ended before this call or ends within <paramref name="timeout"/>.</summary>
    internal async Task<string> WaitAsync(string job, TimeSpan timeout)
    {
        var tcs = _jobs.GetOrAdd(job, New);   // the signal's, if it came first; else the one it will complete
        try
        {
            if (await Task.WhenAny(tcs.Task, Task.Delay(timeout)).ConfigureAwait(false) != tcs.Task)
                throw new CgroupException(ErrorIds.SystemdJobFailed, CgroupErrorKind.ResourceBusy,
                    $"systemd job {job} did not finish within {timeout.TotalSeconds:0} s", job);
            return await tcs.Task.ConfigureAwait(false);
        }
        finally
        {
            _jobs.TryRemove(job, out _);
        }
    }

    /// <summary>Drops results nobody claimed (a new connection: a restarted systemd numbers its jobs from 1 again).</summary>
    internal void ForgetUnclaimed()
    {
        foreach (var (path, t) in _jobs)
            if (t.Task.IsCompleted) _jobs.TryRemove(path, out _);
    }

    /// <summary>Jobs known now (tests).</summary>
    internal int Count => _jobs.Count;
}
