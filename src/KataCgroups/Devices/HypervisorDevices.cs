namespace KataCgroups.Devices;

/// <summary>
/// The devices a VMM needs inside its device cgroup (Kata's Go manager, virtcontainers/pkg/cgroups/manager.go <c>hypervisorDevices()</c>), and the
/// final rule list of a Kata sandbox.
/// </summary>
public static class HypervisorDevices
{
    /// <summary>device-mapper's major: Kata's Go manager allows every dm device because they are hot-plugged into the VM.</summary>
    public const long DeviceMapperMajor = 253;

    /// <summary>
    /// Nodes stat'ed and allowed <c>rwm</c> when present: <c>/dev/kvm</c> (run VMs), <c>/dev/vhost-net</c>
    /// (virtqueues) from Kata's Go manager; <c>/dev/vfio/vfio</c> and <c>/dev/vhost-vsock</c> added by later Kata.
    /// Relative to the dev root so tests can point it elsewhere.
    /// </summary>
    public static readonly IReadOnlyList<string> Nodes = new[] { "kvm", "vhost-net", "vfio/vfio", "vhost-vsock" };

    /// <summary>
    /// Devices runc's specconv appends to every container (specconv <c>AllowedDevices</c>), which Kata's Go manager
    /// received through <c>CreateCgroupConfig</c>: mknod of any node, the standard character devices, ptys, tun.
    /// </summary>
    public static readonly IReadOnlyList<DeviceRule> RuntimeDefaults = new[]
    {
        new DeviceRule(true, 'c', DeviceRule.Wildcard, DeviceRule.Wildcard, DeviceAccess.Mknod),
        new DeviceRule(true, 'b', DeviceRule.Wildcard, DeviceRule.Wildcard, DeviceAccess.Mknod),
        new DeviceRule(true, 'c', 1, 3, DeviceAccess.All),   // /dev/null
        new DeviceRule(true, 'c', 1, 8, DeviceAccess.All),   // /dev/random
        new DeviceRule(true, 'c', 1, 7, DeviceAccess.All),   // /dev/full
        new DeviceRule(true, 'c', 5, 0, DeviceAccess.All),   // /dev/tty
        new DeviceRule(true, 'c', 1, 5, DeviceAccess.All),   // /dev/zero
        new DeviceRule(true, 'c', 1, 9, DeviceAccess.All),   // /dev/urandom
        new DeviceRule(true, 'c', 136, DeviceRule.Wildcard, DeviceAccess.All), // /dev/pts/*
        new DeviceRule(true, 'c', 5, 2, DeviceAccess.All),   // /dev/ptmx
        new DeviceRule(true, 'c', 10, 200, DeviceAccess.All), // /dev/net/tun
    };

    /// <summary>
    /// The hypervisor rules: <c>b 253:* rwm</c>, then each present node. A missing node is reported through
    /// <paramref name="warn"/> and skipped, never an error.
    /// </summary>
    public static List<DeviceRule> Build(string devRoot, Func<string, (DeviceNode? Node, string? Error)> stat, Action<string> warn)
    {
        var rules = new List<DeviceRule>
        {
            new(true, 'b', DeviceMapperMajor, DeviceRule.Wildcard, DeviceAccess.All),
        };
        var skipped = new List<string>();
        foreach (var node in Nodes)
        {
            var path = Path.Combine(devRoot, node);
            var (dev, error) = stat(path);
            if (dev is null)
            {
                skipped.Add($"{path} ({error})");
                continue;
            }
            rules.Add(new DeviceRule(true, dev.Value.Type, dev.Value.Major, dev.Value.Minor, DeviceAccess.All));
        }
        if (skipped.Count > 0)
            warn($"hypervisor device{(skipped.Count > 1 ? "s" : "")} skipped (not on this host): {string.Join(", ", skipped)}");
        return rules;
    }

    /// <summary>Real stat of a node.</summary>
    public static (DeviceNode? Node, string? Error) Stat(string path)
    {
        var n = DeviceNode.TryStat(path, out var error);
        return (n, error);
    }

    /// <summary>
    /// A sandbox's full device list: the caller's rules first (kept — Kata's Go manager dropped them, a bug), then the
    /// hypervisor rules, then the runtime defaults, applied in that order from deny-all (as runc's specconv
    /// appends its defaults after the spec's rules). A caller's deny that a later allow re-opens is reported
    /// through <paramref name="warn"/>, since it silently does nothing.
    /// </summary>
    public static List<DeviceRule> ForSandbox(IEnumerable<DeviceRule> callerRules, IEnumerable<DeviceRule> hypervisor, Action<string>? warn = null)
    {
        var caller = callerRules.ToList();
        var all = new List<DeviceRule>(caller);
        all.AddRange(hypervisor);
        all.AddRange(RuntimeDefaults);
        var denies = caller.FindAll(r => !r.Allow && r.Type != 'a');
        if (warn is not null && denies.Count > 0)   // the usual caller has no denies to check
        {
            var final = DeviceRuleSet.FromRequested(all);
            foreach (var deny in denies)
            {
                var still = final.AllowedAccess(deny.Type, deny.Major, deny.Minor) & deny.Access;
                if (still == deny.Access)
                    warn($"device rule 'deny {deny.ToKernelString()}' has no effect: the hypervisor or runtime default devices, allowed after the caller's rules, allow it again");
                else if (still != DeviceAccess.None)
                    warn($"device rule 'deny {deny.ToKernelString()}' is only partly effective: '{DeviceRule.AccessString(still)}' stays allowed by the hypervisor or runtime default devices");
            }
        }
        return all;
    }
}
