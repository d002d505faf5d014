using KataCgroups.Devices;

namespace KataCgroups.Tests.Devices;

/// <summary>The hypervisor's device rules (Kata's Go manager, virtcontainers/pkg/cgroups/manager.go hypervisorDevices()) with an injected stat.</summary>
public class HypervisorDevicesTests
{
    private const string DevRoot = "/fake/dev";

    private static readonly Dictionary<string, DeviceNode> Present = new()
    {
        ["/fake/dev/kvm"] = new DeviceNode('c', 10, 232),
        ["/fake/dev/vfio/vfio"] = new DeviceNode('c', 10, 196),
        ["/fake/dev/vhost-vsock"] = new DeviceNode('c', 10, 241),
        ["/fake/dev/vhost-net"] = new DeviceNode('c', 10, 238),
    };

    private static Func<string, (DeviceNode? Node, string? Error)> Stat(List<string> asked, params string[] missing) => path =>
    {
        asked.Add(path);
        if (missing.Contains(path) || !Present.TryGetValue(path, out var node))
            return (null, "ENOENT (No such file or directory)");
        return (node, null);
    };

    [Fact]
    public void Build_DeviceMapperFirstThenEveryPresentNode()
    {
        var asked = new List<string>();
        var warnings = new List<string>();
        var rules = HypervisorDevices.Build(DevRoot, Stat(asked), warnings.Add);
        Assert.Equal(new[] { "b 253:* rwm", "c 10:232 rwm", "c 10:238 rwm", "c 10:196 rwm", "c 10:241 rwm" },
            rules.Select(r => r.ToKernelString()));
        Assert.All(rules, r => Assert.True(r.Allow));
        Assert.Equal(new[] { "/fake/dev/kvm", "/fake/dev/vhost-net", "/fake/dev/vfio/vfio", "/fake/dev/vhost-vsock" }, asked);
        Assert.Empty(warnings);
    }

    [Fact]
    public void Build_MissingVhostNetIsSkippedWithAWarningNeverAnError()
    {
        var asked = new List<string>();
        var warnings = new List<string>();
        var rules = HypervisorDevices.Build(DevRoot, Stat(asked, "/fake/dev/vhost-net"), warnings.Add);
        Assert.Equal(new[] { "b 253:* rwm", "c 10:232 rwm", "c 10:196 rwm", "c 10:241 rwm" }, rules.Select(r => r.ToKernelString()));
        var warning = Assert.Single(warnings);
        Assert.Contains("/fake/dev/vhost-net", warning);
        Assert.Contains("ENOENT", warning);
        Assert.DoesNotContain("/fake/dev/kvm", warning);
    }

    [Fact]
    public void Build_NothingPresentStillGivesDeviceMapper()
    {
        var warnings = new List<string>();
        var rules = HypervisorDevices.Build(DevRoot, _ => (null, "ENOENT"), warnings.Add);
        Assert.Equal("b 253:* rwm", Assert.Single(rules).ToKernelString());
        Assert.NotEmpty(warnings);
        var text = string.Join("\n", warnings);
        Assert.All(HypervisorDevices.Nodes, node => Assert.Contains(DevRoot + "/" + node, text));
    }

    [Fact]
    public void Build_BlockDeviceNodesKeepTheirType()
    {
        var rules = HypervisorDevices.Build(DevRoot, p => p.EndsWith("/kvm") ? (new DeviceNode('b', 8, 1), null) : (null, "ENOENT"), _ => { });
        Assert.Equal(new[] { "b 253:* rwm", "b 8:1 rwm" }, rules.Select(r => r.ToKernelString()));
    }

    [Fact]
    public void ForSandbox_KeepsTheCallersRulesFirst()
    {
        var caller = new[] { DeviceRule.Parse("deny a"), DeviceRule.Parse("c 1:9 r"), DeviceRule.Parse("deny c 5:1 rwm") };
        var hypervisor = HypervisorDevices.Build(DevRoot, Stat(new List<string>()), _ => { });
        var all = HypervisorDevices.ForSandbox(caller, hypervisor);

        Assert.Equal(caller, all.Take(caller.Length));
        Assert.Equal(hypervisor, all.Skip(caller.Length).Take(hypervisor.Count));
        Assert.Equal(HypervisorDevices.RuntimeDefaults, all.Skip(caller.Length + hypervisor.Count));
    }

    [Fact]
    public void ForSandbox_FinalStateAllowsCallerHypervisorAndDefaults()
    {
        var caller = new[] { DeviceRule.Parse("deny a"), DeviceRule.Parse("c 7:7 r") };
        var hypervisor = HypervisorDevices.Build(DevRoot, Stat(new List<string>(), "/fake/dev/vhost-net"), _ => { });
        var state = DeviceRuleSet.FromRules(HypervisorDevices.ForSandbox(caller, hypervisor));
        var list = state.ToListText().Split('\n');
        Assert.False(state.DefaultAllow);
        Assert.Contains("c 7:7 r", list);       // the caller's rule survives (Kata's Go manager dropped it)
        Assert.Contains("b 253:* rwm", list);
        Assert.Contains("c 10:232 rwm", list);
        Assert.Contains("c 1:3 rwm", list);     // /dev/null from the runtime defaults
        Assert.DoesNotContain("c 10:238 rwm", list);
    }

    [Fact]
    public void ForSandbox_WarnsWhenACallersDenyIsReopenedLater()
    {
        // /dev/null (c 1:3) is a runtime default allowed after the caller's rules: the deny does nothing.
        // A deny of r/w on a node nothing later allows stays effective and is not warned about.
        var caller = new[] { DeviceRule.Parse("deny a"), DeviceRule.Parse("deny c 1:3 rwm"), DeviceRule.Parse("deny c 99:1 rw") };
        var warnings = new List<string>();
        HypervisorDevices.ForSandbox(caller, HypervisorDevices.Build(DevRoot, Stat(new List<string>()), _ => { }), warnings.Add);
        var warning = Assert.Single(warnings);
        Assert.Contains("c 1:3 rwm", warning);
    }

    [Fact]
    public void Stat_RealDevNullIsCharOneThree()
    {
        var (node, error) = HypervisorDevices.Stat("/dev/null");
        Assert.Null(error);
        Assert.Equal(new DeviceNode('c', 1, 3), node);
    }

    [Fact]
    public void Stat_MissingNodeIsAnErrorText()
    {
        var (node, error) = HypervisorDevices.Stat("/dev/kata-cgroups-unit-test-no-such-node");
        Assert.Null(node);
        Assert.Contains("ENOENT", error);
    }

    [Fact]
    public void Stat_RegularFileIsNotADeviceNode()
    {
        var (node, error) = HypervisorDevices.Stat(typeof(HypervisorDevicesTests).Assembly.Location);
        Assert.Null(node);
        Assert.Equal("not a device node", error);
    }
}
