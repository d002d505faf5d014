namespace KataCgroups.Devices;

/// <summary>
/// The state of a v1 devices cgroup as the kernel keeps it (security/device_cgroup.c): a default behaviour
/// plus exceptions keyed by type/major/minor. Used to compute the minimal transition between the current
/// <c>devices.list</c> and the requested rules, as runc's devices emulator does
/// (opencontainers/cgroups devices/v1.go), so a running VM never sees a moment of deny-all on an update.
/// </summary>
public sealed class DeviceRuleSet
{
    private readonly SortedDictionary<(char Type, long Major, long Minor), DeviceAccess> _exceptions = new();

    /// <summary>True when everything not listed is allowed (kernel "blacklist" behaviour).</summary>
    public bool DefaultAllow { get; private set; }

    /// <summary>Exceptions to the default, in stable order.</summary>
    public IEnumerable<DeviceRule> Exceptions =>
        _exceptions.Select(e => new DeviceRule(!DefaultAllow, e.Key.Type, e.Key.Major, e.Key.Minor, e.Value));

    /// <summary>A new whitelist (deny by default), the state rules are applied from (runc buildEmulator).</summary>
    public static DeviceRuleSet DenyAll() => new() { DefaultAllow = false };

    /// <summary>Applies rules in order with kernel semantics.</summary>
    public static DeviceRuleSet FromRules(IEnumerable<DeviceRule> rules)
    {
        var set = DenyAll();
        foreach (var r in rules) set.Apply(r);
        return set;
    }

    /// <summary>
    /// Reads <c>devices.list</c>. In allow-by-default mode the kernel prints only <c>a *:* rwm</c> and hides the
    /// deny exceptions, which is why <see cref="Transition"/> always resets such a source.
    /// </summary>
    public static DeviceRuleSet ParseList(string devicesList)
    {
        var set = DenyAll();
        foreach (var raw in devicesList.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var rule = DeviceRule.Parse(raw);
            if (rule.Type == 'a') { set.DefaultAllow = true; set._exceptions.Clear(); break; }
            set.AddAccess(rule);
        }
        return set;
    }

    /// <summary>Kernel semantics of writing one rule to devices.allow / devices.deny.</summary>
    public void Apply(DeviceRule rule)
    {
        if (rule.Type == 'a')
        {
            DefaultAllow = rule.Allow;
            _exceptions.Clear();
        }
        else if (rule.Allow == DefaultAllow)
        {
            // dev_exception_rm: strips the access bits from an exactly matching exception.
            var key = (rule.Type, rule.Major, rule.Minor);
            if (_exceptions.TryGetValue(key, out var have))
            {
                var left = have & ~rule.Access;
                if (left == DeviceAccess.None) _exceptions.Remove(key);
                else _exceptions[key] = left;
            }
        }
        else
        {
            AddAccess(rule);
        }
    }

    private void AddAccess(DeviceRule rule)
    {
        var key = (rule.Type, rule.Major, rule.Minor);
        _exceptions[key] = _exceptions.TryGetValue(key, out var have) ? have | rule.Access : rule.Access;
    }

    /// <summary>
    /// The rules to write to move a cgroup from this state to <paramref name="target"/>: a disruptive
    /// <c>a</c> rule only when the default differs or this state is allow-by-default (whose exceptions are
    /// unknowable), then removals, then additions.
    /// </summary>
    public List<DeviceRule> Transition(DeviceRuleSet target)
    {
        var rules = new List<DeviceRule>();
        IReadOnlyDictionary<(char, long, long), DeviceAccess> old = _exceptions;
        if (DefaultAllow || DefaultAllow != target.DefaultAllow)
        {
            rules.Add(new DeviceRule(target.DefaultAllow, 'a', DeviceRule.Wildcard, DeviceRule.Wildcard, DeviceAccess.All));
            old = new Dictionary<(char, long, long), DeviceAccess>();
        }
        foreach (var (key, access) in old.OrderBy(k => k.Key))
        {
            target._exceptions.TryGetValue(key, out var want);
            var removed = access & ~want;
            if (removed != DeviceAccess.None)
                rules.Add(new DeviceRule(target.DefaultAllow, key.Item1, key.Item2, key.Item3, removed));
        }
        foreach (var (key, want) in target._exceptions)
        {
            old.TryGetValue(key, out var have);
            var added = want & ~have;
            if (added != DeviceAccess.None)
                rules.Add(new DeviceRule(!target.DefaultAllow, key.Type, key.Major, key.Minor, added));
        }
        return rules;
    }

    /// <summary>
    /// The access bits still allowed on <paramref name="type"/> <paramref name="major"/>:<paramref name="minor"/>
    /// (-1 wildcards): in deny-by-default mode what the exceptions covering the node grant, in allow-by-default
    /// mode everything their deny exceptions do not take away.
    /// </summary>
    public DeviceAccess AllowedAccess(char type, long major, long minor)
    {
        var covered = DeviceAccess.None;
        foreach (var e in _exceptions)
        {
            if ((e.Key.Type == type || e.Key.Type == 'a')
                && (e.Key.Major == DeviceRule.Wildcard || e.Key.Major == major)
                && (e.Key.Minor == DeviceRule.Wildcard || e.Key.Minor == minor))
                covered |= e.Value;
        }
        return DefaultAllow ? DeviceAccess.All & ~covered : covered;
    }

    /// <summary>Same default and same exceptions.</summary>
    public bool SameAs(DeviceRuleSet other) =>
        DefaultAllow == other.DefaultAllow && _exceptions.Count == other._exceptions.Count
        && _exceptions.All(e => other._exceptions.TryGetValue(e.Key, out var a) && a == e.Value);

    /// <summary>The state as <c>devices.list</c> would print it.</summary>
    public string ToListText() =>
        DefaultAllow ? "a *:* rwm" : string.Join('\n', Exceptions.Select(r => r.ToKernelString()));
}
