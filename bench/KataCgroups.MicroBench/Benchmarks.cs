using BenchmarkDotNet.Attributes;
using KataCgroups.Devices;
using KataCgroups.Drivers;
using KataCgroups.Paths;
using KataCgroups.Resources;

namespace KataCgroups.MicroBench;

/// <summary>The workload's resources (bench/README.md) and the sandbox device list the engine builds for them.</summary>
internal static class Workload
{
    internal static LinuxResources Create() => new()
    {
        Memory = new LinuxMemory { Limit = 256L << 20 },
        Cpu = new LinuxCpu { Shares = 512, Quota = 50000, Period = 100000 },
        Pids = new LinuxPids { Limit = 128 },
    };

    internal static LinuxResources Update() => new()
    {
        Memory = new LinuxMemory { Limit = 512L << 20 },
        Pids = new LinuxPids { Limit = 256 },
    };

    /// <summary>deny-all, device-mapper, /dev/kvm, then runc's defaults: what PlanCreate hands the compiler.</summary>
    internal static List<DeviceRule> Devices() => HypervisorDevices.ForSandbox(
        Array.Empty<DeviceRule>(),
        new[]
        {
            new DeviceRule(true, 'b', HypervisorDevices.DeviceMapperMajor, DeviceRule.Wildcard, DeviceAccess.All),
            new DeviceRule(true, 'c', 10, 232, DeviceAccess.All),
        });

    internal static readonly HashSet<string> V1Controllers = new(StringComparer.Ordinal)
        { "cpuset", "devices", "memory", "cpu", "cpuacct", "pids", "blkio", "freezer", "name=systemd" };

    internal static readonly HashSet<string> V2Controllers = new(StringComparer.Ordinal)
        { "cpuset", "cpu", "io", "memory", "pids" };
}

/// <summary>Plan compilation: CgroupV1Plan / CgroupV2Plan of the create and the update.</summary>
[MemoryDiagnoser]
public class PlanBenchmarks
{
    private readonly LinuxResources _create = Workload.Create(), _update = Workload.Update();
    private readonly List<DeviceRule> _devices = Workload.Devices();
    private readonly V1PlanContext _v1New = new(Workload.V1Controllers, CgroupV1Plan.UnlimitedMemory, false, KataCgroups.Host.BlockIoWeightInterface.Bfq, DeviceRuleSet.DenyAll());
    private V1PlanContext _v1Existing = null!;
    private readonly V2PlanContext _v2 = new(Workload.V2Controllers, IoWeight: KataCgroups.Host.BlockIoWeightInterface.Bfq, HasSwap: true);

    [GlobalSetup]
    public void Setup() =>
        _v1Existing = new(Workload.V1Controllers, 256L << 20, false, KataCgroups.Host.BlockIoWeightInterface.Bfq, DeviceRuleSet.FromRules(_devices));

    [Benchmark(Description = "v1 create plan (with devices)")]
    public CgroupPlan V1Create() => CgroupV1Plan.Compile(_create, _devices, _v1New);

    [Benchmark(Description = "v1 update plan (memory, pids)")]
    public CgroupPlan V1Update() => CgroupV1Plan.Compile(_update, null, _v1Existing);

    [Benchmark(Description = "v2 create plan (with devices)")]
    public CgroupPlan V2Create() => CgroupV2Plan.Compile(_create, _devices, _v2);

    [Benchmark(Description = "v2 update plan (memory, pids)")]
    public CgroupPlan V2Update() => CgroupV2Plan.Compile(_update, null, _v2);
}

/// <summary>Path handling: the Kata rules and target resolution, cgroupfs and systemd form.</summary>
[MemoryDiagnoser]
public class PathBenchmarks
{
    [Benchmark(Description = "KataPath.Validate absolute")]
    public string ValidateAbsolute() => KataPath.Validate("/kcbench-0123456789/c1234");

    [Benchmark(Description = "KataPath.Validate relative")]
    public string ValidateRelative() => KataPath.Validate("pod1/sandbox1");

    [Benchmark(Description = "CgroupTarget.Resolve absolute")]
    public CgroupTarget ResolveAbsolute() => CgroupTarget.Resolve("/kcbench-0123456789/c1234");

    [Benchmark(Description = "CgroupTarget.Resolve systemd")]
    public CgroupTarget ResolveSystemd() => CgroupTarget.Resolve("kcbench.slice:kata:c1234");
}

/// <summary>Device rules: building the target state, reading devices.list back, and the transition to write.</summary>
[MemoryDiagnoser]
public class DeviceBenchmarks
{
    private readonly List<DeviceRule> _devices = Workload.Devices();
    private string _list = "";
    private DeviceRuleSet _target = null!, _denyAll = null!;

    [GlobalSetup]
    public void Setup()
    {
        _target = DeviceRuleSet.FromRules(_devices);
        _list = _target.ToListText();
        _denyAll = DeviceRuleSet.DenyAll();
    }

    [Benchmark(Description = "DeviceRuleSet.FromRules (sandbox list)")]
    public DeviceRuleSet FromRules() => DeviceRuleSet.FromRules(_devices);

    [Benchmark(Description = "DeviceRuleSet.ParseList (devices.list)")]
    public DeviceRuleSet ParseList() => DeviceRuleSet.ParseList(_list);

    [Benchmark(Description = "Transition deny-all → sandbox")]
    public List<DeviceRule> TransitionFromDenyAll() => DeviceRuleSet.DenyAll().Transition(_target);

    [Benchmark(Description = "Transition sandbox → same (update)")]
    public List<DeviceRule> TransitionSame() => DeviceRuleSet.FromRules(_devices).Transition(_target);

    [Benchmark(Description = "SameAs (verify after write)")]
    public bool SameAs() => DeviceRuleSet.ParseList(_list).SameAs(_target);
}

/// <summary>
/// The write primitive: CgroupFs.TryWrite (openat2 beneath the registered root, one write(2), close) of one value
/// into a file of a test root on an ordinary file system, so the cost is the engine's path handling plus three
/// syscalls. The root is KCBENCH_MICRO_ROOT (build.ps1 sets it under out/bench/micro) or the temp directory.
/// </summary>
[MemoryDiagnoser]
public class WriteBenchmarks
{
    private string _root = "", _file = "", _deep = "";
    private readonly CgroupFs _fs = new(new CgroupRoots());

    [GlobalSetup]
    public void Setup()
    {
        var parent = Environment.GetEnvironmentVariable("KCBENCH_MICRO_ROOT") is { Length: > 0 } r ? r : Path.GetTempPath();
        _root = Path.Combine(parent, "kcmicro-" + Environment.ProcessId);
        var dir = Path.Combine(_root, "kcbench", "kata_c1");
        Directory.CreateDirectory(dir);
        _file = Path.Combine(dir, "memory.limit_in_bytes");
        File.WriteAllText(_file, "");
        _deep = Path.Combine(dir, "pids.max");
        File.WriteAllText(_deep, "");
        if (!_fs.Roots.Register(_root, verify: false)) throw new InvalidOperationException($"cannot register {_root}");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _fs.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    [Benchmark(Description = "CgroupFs.TryWrite (number)")]
    public int WriteNumber() => _fs.TryWrite(_file, "268435456");

    [Benchmark(Description = "CgroupFs.TryWrite (device rule)")]
    public int WriteRule() => _fs.TryWrite(_deep, "c 10:232 rwm");
}
