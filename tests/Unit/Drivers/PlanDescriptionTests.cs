using KataCgroups.Devices;
using KataCgroups.Host;
using KataCgroups.Resources;
using KataCgroups.Tests.Support;

namespace KataCgroups.Tests.Drivers;

/// <summary>
/// What the engine says about a change before and while making it: the plan as -WhatIf prints it (each write once,
/// with its absolute file, and only conversions that change a number), a device change that changes nothing, and the
/// missing hypervisor nodes as a host notice a session may say once.
/// </summary>
public sealed class PlanDescriptionTests : IDisposable
{
    private readonly FakeCgroupRoot _fake = FakeCgroupRoot.Create();

    public void Dispose() => _fake.Dispose();

    private sealed class NoticeLog : ICgroupLog
    {
        public List<string> Notices { get; } = new();
        public List<string> Warnings { get; } = new();
        public void Verbose(string message) { }
        public void Warning(string message) => Warnings.Add(message);
        public void Debug(string message) { }
        public void HostNotice(string message) => Notices.Add(message);
    }

    [Fact]
    public void V1_plan_lists_each_write_with_its_file_and_no_conversion_that_keeps_the_number()
    {
        var manager = CgroupManager.ForHost(_fake.Options(CgroupMode.Hybrid));
        var target = manager.Resolve("/kubepods/pod1/sandbox1");
        var resources = new LinuxResources { Cpu = new LinuxCpu { Shares = 1024 }, Memory = new LinuxMemory { Limit = 4096 } };
        var plan = manager.PlanCreate(target, resources, new RecordingLog());
        Assert.NotEmpty(plan.Conversions);   // the report still names each file (the Conversions property)

        var lines = manager.DescribePlan(target, plan);

        Assert.Contains(Path.Combine(_fake.Dir("memory", target.CgroupPath), "memory.limit_in_bytes") + " = 4096", lines);
        Assert.Contains(Path.Combine(_fake.Dir("cpu,cpuacct", target.CgroupPath), "cpu.shares") + " = 1024", lines);
        Assert.DoesNotContain(lines, l => l.StartsWith("(from)", StringComparison.Ordinal));
        Assert.Equal(plan.Writes.Count + plan.UnitProperties.Count + plan.Warnings.Count, lines.Count);
    }

    [Fact]
    public void V2_plan_keeps_the_conversions_that_change_a_number()
    {
        File.WriteAllText(_fake.MountInfoPath, $"35 22 0:30 / {_fake.Root} rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n");
        File.WriteAllText(Path.Combine(_fake.Root, "cgroup.controllers"), "cpu pids\n");
        var manager = CgroupManager.ForHost(_fake.Options(CgroupMode.Unified));
        var target = manager.Resolve("/kubepods/pod1/sandbox1");
        var plan = manager.PlanCreate(target, new LinuxResources { Cpu = new LinuxCpu { Shares = 512 }, Pids = new LinuxPids { Limit = 64 } }, new RecordingLog());

        var lines = manager.DescribePlan(target, plan);

        var from = lines.Where(l => l.StartsWith("(from)", StringComparison.Ordinal)).ToList();
        Assert.Equal("(from) cpu.shares 512 → cpu.weight 59", Assert.Single(from));   // pids.limit 64 → pids.max 64 says nothing more
    }

    [Fact]
    public void Missing_hypervisor_nodes_are_a_host_notice_not_a_plain_warning()
    {
        var manager = CgroupManager.ForHost(_fake.Options());
        var log = new NoticeLog();
        manager.SandboxDevices(new LinuxResources(), log, _ => (null, "ENOENT (No such file or directory)"));
        Assert.Contains("/dev", Assert.Single(log.Notices).Replace(_fake.DevRoot, "/dev"));
        Assert.Contains("skipped (not on this host)", log.Notices[0]);
        Assert.Empty(log.Warnings);
        // A log that does not tell them apart gets a warning, as before.
        var plain = new RecordingLog();
        manager.SandboxDevices(new LinuxResources(), plain, _ => (null, "ENOENT (No such file or directory)"));
        Assert.Single(plain.Warnings);
    }

    [Theory]
    [InlineData("c 1:3 rwm", "c 1:3 rwm", DeviceChangeKind.Add, true)]     // already allowed
    [InlineData("c 1:3 rwm", "c 1:3 r", DeviceChangeKind.Add, true)]       // already allowed with more
    [InlineData("c 1:* rwm", "c 1:5 rwm", DeviceChangeKind.Remove, true)]  // not an exception of its own: the kernel keeps c 1:*
    [InlineData("c 1:3 rwm", "c 1:5 rwm", DeviceChangeKind.Add, false)]
    [InlineData("c 1:3 r", "c 1:3 rw", DeviceChangeKind.Add, false)]
    [InlineData("c 1:3 rwm", "c 1:3 rwm", DeviceChangeKind.Remove, false)]
    public void A_device_change_that_leaves_the_rules_as_they_are_writes_nothing(string have, string rule, DeviceChangeKind kind, bool unchanged)
    {
        var before = DeviceRuleSet.FromRules(new[] { DeviceRule.Parse(have) });
        var change = DeviceRuleEdit.ChangeOfListWrite("/sys/fs/cgroup/devices/x", before, DeviceRule.Parse(rule), kind).WithoutNoOp();
        Assert.Equal(unchanged, change.Unchanged);
        Assert.Equal(unchanged, change.Writes.Count == 0);
        Assert.All(change.Steps, s => Assert.Equal(unchanged, s.StartsWith("(nothing to write", StringComparison.Ordinal)));
    }

    [Fact]
    public void A_cgroup_that_allows_every_device_is_never_taken_as_unchanged()
    {
        // Its deny exceptions cannot be read back (devices.list says only a *:* rwm), so an allow may well change it.
        var before = DeviceRuleSet.FromRules(new[] { DeviceRule.Parse("a *:* rwm") });
        var change = DeviceRuleEdit.ChangeOfListWrite("/sys/fs/cgroup/devices/x", before, DeviceRule.Parse("c 1:3 rwm"), DeviceChangeKind.Add).WithoutNoOp();
        Assert.False(change.Unchanged);
        Assert.Single(change.Writes);
    }
}
