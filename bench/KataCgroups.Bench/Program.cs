// Contender (a) of the lifecycle benchmark (bench/README.md): the engine called from C# the way the cmdlets
// call it, one process per run. Also prints the engine's plan, which the harness hands to the C floor and to the
// cgroup-tools script so that every contender writes exactly the files and values the engine writes.
//
//   KataCgroups.Bench plan --root /kcbench-x                       JSON: hierarchies, create/update writes, device rules
//   KataCgroups.Bench run  --root /kcbench-x --count N --pid P     the workload; prints "KCBENCH <json>"
//   KataCgroups.Bench run  --slice kcbench.slice --count N --pid P  the same against systemd (path slice:kata:c<i>)
using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using KataCgroups;
using KataCgroups.Drivers;
using KataCgroups.Model;
using KataCgroups.Resources;

var started = Stopwatch.GetTimestamp();
var opts = Options.Parse(args);
var log = NullCgroupLog.Instance;

try
{
    return opts.Command switch
    {
        "plan" => Plan(opts),
        "run" => Run(opts),
        _ => Usage(),
    };
}
catch (Exception e)
{
    Console.Error.WriteLine($"KataCgroups.Bench: {e.GetType().Name}: {e.Message}");
    return 1;
}

static int Usage()
{
    Console.Error.WriteLine("usage: KataCgroups.Bench plan --root /kcbench-x | run (--root /kcbench-x | --slice name.slice) --count N --pid P");
    return 2;
}

// The workload's resources (bench/README.md): create with these, then update memory and pids.
static LinuxResources CreateResources() => new()
{
    Memory = new LinuxMemory { Limit = 256L << 20 },
    Cpu = new LinuxCpu { Shares = 512, Quota = 50000, Period = 100000 },
    Pids = new LinuxPids { Limit = 128 },
};

static LinuxResources UpdateResources() => new()
{
    Memory = new LinuxMemory { Limit = 512L << 20 },
    Pids = new LinuxPids { Limit = 256 },
};

// The plan of one cgroup under the bench root, as data: the harness turns it into the floor's spec file and the
// cgroup-tools arguments. Read-only: compiling a plan creates nothing.
int Plan(Options o)
{
    var m = CgroupManager.Default;
    if (o.Slice is not null) return PlanSystemd(m, o.Slice);
    var target = m.Resolve(o.Root + "/c0");
    var paths = m.GetPaths(target);
    string suffix = target.CgroupPath;
    var create = m.PlanCreate(target, CreateResources(), log);
    // The update is planned against an existing cgroup on a real host; on v1 its writes do not depend on the current
    // values for this workload (memory goes up, no memsw), so compile it as the driver would without one.
    var update = m.DriverFor(target).Plan(target, UpdateResources(), null);
    Console.WriteLine(Json(w =>
    {
        w.WriteString("cgroupPath", target.CgroupPath);
        w.WriteString("mode", m.Host.Mode.ToString());
        w.WriteStartArray("hierarchies");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in paths)
        {
            if (!p.Directory.EndsWith(suffix, StringComparison.Ordinal)) throw new InvalidOperationException($"unexpected directory {p.Directory}");
            var mount = p.Directory[..^suffix.Length];
            w.WriteStartObject();
            w.WriteString("controller", p.Controller);
            w.WriteString("mount", mount);
            w.WriteBoolean("first", seen.Add(mount));
            w.WriteEndObject();
        }
        w.WriteEndArray();
        WriteWrites(w, "create", create.Writes);
        WriteWrites(w, "update", update.Writes);
        if (create.DeviceTarget is { } d) w.WriteString("devicesList", d.ToListText());
        else w.WriteNull("devicesList");
    }, indented: true));
    return 0;
}

// The systemd plan of slice:kata:c0: the unit properties the engine sends (systemd-run -p spelling) and the writes
// it makes through cgroupfs for what systemd cannot express; the systemd-run/systemctl contender sends the same.
int PlanSystemd(CgroupManager m, string slice)
{
    var target = m.Resolve($"{slice}:kata:c0");
    var create = m.PlanCreate(target, CreateResources(), log);
    var update = m.DriverFor(target).Plan(target, UpdateResources(), null);
    Console.WriteLine(Json(w =>
    {
        w.WriteString("cgroupPath", target.CgroupPath);
        w.WriteString("unit", target.Systemd!.UnitName);
        WriteProperties(w, "createProperties", create.UnitProperties);
        WriteWrites(w, "create", create.Writes);
        WriteProperties(w, "updateProperties", update.UnitProperties);
        WriteWrites(w, "update", update.Writes);
    }, indented: true));
    return 0;
}

// JSON written with Utf8JsonWriter, not reflection: the program also runs ahead-of-time compiled (contender EngineAot).
static string Json(Action<Utf8JsonWriter> body, bool indented = false)
{
    var buffer = new ArrayBufferWriter<byte>();
    using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = indented }))
    {
        w.WriteStartObject();
        body(w);
        w.WriteEndObject();
    }
    return Encoding.UTF8.GetString(buffer.WrittenSpan);
}

static void WriteWrites(Utf8JsonWriter w, string name, IReadOnlyList<CgroupWrite> writes)
{
    w.WriteStartArray(name);
    foreach (var x in writes)
    {
        w.WriteStartObject();
        w.WriteString("Controller", x.Controller);
        w.WriteString("File", x.File);
        w.WriteString("Value", x.Value);
        w.WriteEndObject();
    }
    w.WriteEndArray();
}

static void WriteProperties(Utf8JsonWriter w, string name, IReadOnlyList<UnitProperty> properties)
{
    w.WriteStartArray(name);
    foreach (var p in properties)
    {
        w.WriteStartObject();
        w.WriteString("Name", p.Name);
        w.WriteString("Value", p.ToString()[(p.Name.Length + 1)..]);
        w.WriteEndObject();
    }
    w.WriteEndArray();
}

// The lifecycle, N times: Resolve → PlanCreate → Create with the pid → PlanUpdate → Update → Remove, which moves the
// pid to the parent (the bench root; systemd: the slice) in every hierarchy before it removes the directories.
int Run(Options o)
{
    var m = CgroupManager.Default;
    string Path(string name) => o.Slice is { } s ? $"{s}:kata:{name}" : $"{o.Root}/{name}";
    var pids = new[] { o.Pid };
    var create = CreateResources();
    var update = UpdateResources();
    var remove = new RemoveOptions(Kill: false);

    // KCBENCH_CHECK: after the warm-up update, dump the files listed in KCBENCH_CHECK_LIST (the harness compares the
    // dumps of all contenders: same files, same values, same devices.list). Never in the timed loop.
    var checkOut = Environment.GetEnvironmentVariable("KCBENCH_CHECK");
    var checkList = Environment.GetEnvironmentVariable("KCBENCH_CHECK_LIST");

    // The engine as a runtime calls it: no read-back of the cgroup after create and update (readBack: false) —
    // the workload does not look at it, and the floor does not read either. The warm-up cycle reads back and checks.
    void Cycle(string path, bool check)
    {
        var t = m.Resolve(path);
        var created = m.Create(t, m.PlanCreate(t, create, log), log, pids, readBack: check);
        if (created.Skipped) throw new InvalidOperationException($"skipped: {created.SkippedReason}");
        if (check && !created.Value!.Pids.Contains(o.Pid)) throw new InvalidOperationException($"pid {o.Pid} is not in {t.CgroupPath}");
        var updated = m.Update(t, m.PlanUpdate(t, update, log), log, readBack: check);
        if (check && updated.Value!.MemoryLimit != 512L << 20) throw new InvalidOperationException($"memory limit of {t.CgroupPath} is {updated.Value.MemoryLimit}");
        if (checkOut is not null && checkList is not null && (path.EndsWith(":warm", StringComparison.Ordinal) || path.EndsWith("/warm", StringComparison.Ordinal)))
            File.WriteAllLines(checkOut, File.ReadAllLines(checkList).Where(f => f.Length > 0).Select(f => f + ": " + File.ReadAllText(f).TrimEnd('\n')));
        var removed = m.Remove(t, remove, log);
        if (removed.Value!.MovedProcesses != 1) throw new InvalidOperationException($"{t.CgroupPath}: moved {removed.Value.MovedProcesses} processes, expected 1");
    }

    // One untimed cycle first, like every contender: the loop measures the steady state, not the first JIT.
    Cycle(Path("warm"), check: true);
    // Besides the time: what the loop allocates and collects, and the process's CPU time split (every thread: the
    // runtime's background compiler included) — the reasons behind a ratio, reported, never asserted.
    long allocStart = GC.GetTotalAllocatedBytes(precise: true);
    int gcStart = GC.CollectionCount(0);
    var cpuStart = Process.GetCurrentProcess();
    TimeSpan userStart = cpuStart.UserProcessorTime, sysStart = cpuStart.PrivilegedProcessorTime;
    long loopStart = Stopwatch.GetTimestamp();
    for (int i = 0; i < o.Count; i++) Cycle(Path("c" + i.ToString(CultureInfo.InvariantCulture)), check: false);
    long loopEnd = Stopwatch.GetTimestamp();
    long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocStart;
    int gcs = GC.CollectionCount(0) - gcStart;
    var cpuEnd = Process.GetCurrentProcess();
    double userMs = (cpuEnd.UserProcessorTime - userStart).TotalMilliseconds, sysMs = (cpuEnd.PrivilegedProcessorTime - sysStart).TotalMilliseconds;
    double loopMs = Stopwatch.GetElapsedTime(loopStart, loopEnd).TotalMilliseconds;
    double setupMs = Stopwatch.GetElapsedTime(started, loopStart).TotalMilliseconds;
    Console.WriteLine("KCBENCH " + Json(w =>
    {
        w.WriteNumber("n", o.Count);
        w.WriteNumber("loopMs", Math.Round(loopMs, 3));
        w.WriteNumber("perCgroupMs", Math.Round(loopMs / o.Count, 4));
        w.WriteNumber("setupMs", Math.Round(setupMs, 3));
        w.WriteNumber("workingSetMb", Math.Round(Environment.WorkingSet / 1048576.0, 1));
        w.WriteNumber("bytesPerCgroup", allocated / Math.Max(1, o.Count));
        w.WriteNumber("gen0", gcs);
        w.WriteNumber("userMsPerCgroup", Math.Round(userMs / Math.Max(1, o.Count), 4));
        w.WriteNumber("sysMsPerCgroup", Math.Round(sysMs / Math.Max(1, o.Count), 4));
    }));
    return 0;
}

sealed record Options(string Command, string Root, string? Slice, int Count, int Pid)
{
    public static Options Parse(string[] a)
    {
        string cmd = a.Length > 0 ? a[0] : "", root = "/kcbench", slice = "";
        int count = 0, pid = 0;
        for (int i = 1; i + 1 < a.Length; i += 2)
        {
            switch (a[i])
            {
                case "--root": root = a[i + 1]; break;
                case "--slice": slice = a[i + 1]; break;
                case "--count": count = int.Parse(a[i + 1], CultureInfo.InvariantCulture); break;
                case "--pid": pid = int.Parse(a[i + 1], CultureInfo.InvariantCulture); break;
                default: throw new ArgumentException($"unknown option {a[i]}");
            }
        }
        return new Options(cmd, root, slice.Length > 0 ? slice : null, count, pid);
    }
}
