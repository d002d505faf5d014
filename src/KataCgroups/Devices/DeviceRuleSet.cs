using KataCgroups.Errors;

namespace KataCgroups.Devices;

/// <summary>
/// The state of a v1 devices cgroup as the kernel keeps it (security/device_cgroup.c): a default behaviour
/// plus exceptions keyed by type/major/minor. Used to compute the minimal transition between the current
/// <c>devices.list</c> and the requested rules, as runc's devices emulator does
/// (opencontainers/cgroups devices/v1.go), so a running VM never sees a moment of deny-all on an update.
/// </summary>
public sealed class DeviceRuleSet
{
    // The exceptions, sorted by (type, major, minor) with the -1 wildcard first: a handful of entries (runc's
    // defaults plus a sandbox's devices is ~15), so a sorted array beats a tree. No framework generic is
    // instantiated over them: every create builds, parses and compares sets, and each such instantiation is
    // code the runtime must compile and re-compile while a short run warms up (docs/performance.md).
    private Entry[] _items = new Entry[16];
    private int _count;

    private struct Entry
    {
        public char Type;
        public long Major, Minor;
        public DeviceAccess Access;
    }

    /// <summary>True when everything not listed is allowed (kernel "blacklist" behaviour).</summary>
    public bool DefaultAllow { get; private set; }

    /// <summary>Exceptions to the default, in stable order (type, major, minor; <c>*</c> first).</summary>
    public IReadOnlyList<DeviceRule> Exceptions
    {
        get
        {
            var rules = new DeviceRule[_count];
            for (int i = 0; i < _count; i++)
            {
                ref readonly var e = ref _items[i];
                rules[i] = new DeviceRule(!DefaultAllow, e.Type, e.Major, e.Minor, e.Access);
            }
            return rules;
        }
    }

    /// <summary>A new whitelist (deny by default), the state rules are applied from (runc buildEmulator).</summary>
    public static DeviceRuleSet DenyAll() => new() { DefaultAllow = false };

    /// <summary>
    /// An allow-by-default state with no exceptions: what <see cref="Transition"/> must treat as unknown (the kernel
    /// hides deny exceptions in that mode), so a transition from it always starts with the <c>a</c> rule.
    /// </summary>
    public static DeviceRuleSet AllowAll() => new() { DefaultAllow = true };

    /// <summary>Applies rules in order with kernel semantics (a rule the kernel would ignore does nothing here either).</summary>
    public static DeviceRuleSet FromRules(IEnumerable<DeviceRule> rules)
    {
        var set = DenyAll();
        foreach (var r in rules) set.Apply(r, refuseHoles: false);
        return set;
    }

    /// <summary>
    /// The state a requested rule list makes, refusing (<see cref="ErrorIds.InvalidDeviceRule"/>) a rule that would
    /// punch a hole in a wildcard rule before it: the kernel ignores such a rule, so applying the list would not
    /// do what it says. What runc's devices emulator does for every rule list it is given.
    /// </summary>
    public static DeviceRuleSet FromRequested(IEnumerable<DeviceRule> rules)
    {
        var set = DenyAll();
        foreach (var r in rules) set.Apply(r, refuseHoles: true);
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
            if (rule.Type == 'a') { set.DefaultAllow = true; set._count = 0; break; }
            set.AddAccess(rule);
        }
        return set;
    }

    /// <summary>Kernel semantics of writing one rule to devices.allow / devices.deny.</summary>
    public void Apply(DeviceRule rule) => Apply(rule, refuseHoles: false);

    private void Apply(DeviceRule rule, bool refuseHoles)
    {
        if (rule.Type == 'a')
        {
            DefaultAllow = rule.Allow;
            _count = 0;
        }
        else if (rule.Allow == DefaultAllow)
        {
            // dev_exception_rm strips access bits only from an exception with exactly this key: a wildcard exception
            // that covers the rule (c *:* against c 1:3) stays, and the rule silently does nothing in the kernel. runc
            // refuses such a rule in a requested list (devices/devices_emulator.go rmRule: "cannot punch hole in
            // existing wildcard rule"); FromRequested does too, so no requested rule is applied without its effect.
            const long W = DeviceRule.Wildcard;
            if (refuseHoles)
            {
                if (rule.Major != W) RefuseHole(rule, W, rule.Minor);
                if (rule.Minor != W) RefuseHole(rule, rule.Major, W);
                if (rule.Major != W || rule.Minor != W) RefuseHole(rule, W, W);
            }
            if (Find(rule.Type, rule.Major, rule.Minor, out int at))
            {
                var left = _items[at].Access & ~rule.Access;
                if (left == DeviceAccess.None) RemoveAt(at);
                else _items[at].Access = left;
            }
        }
        else
        {
            AddAccess(rule);
        }
    }

    private void AddAccess(DeviceRule rule)
    {
        if (Find(rule.Type, rule.Major, rule.Minor, out int at))
        {
            _items[at].Access |= rule.Access;
            return;
        }
        if (_count == _items.Length) Array.Resize(ref _items, _count * 2);
        Array.Copy(_items, at, _items, at + 1, _count - at);
        _items[at] = new Entry { Type = rule.Type, Major = rule.Major, Minor = rule.Minor, Access = rule.Access };
        _count++;
    }

    private void RemoveAt(int at)
    {
        _count--;
        Array.Copy(_items, at + 1, _items, at, _count - at);
    }

    /// <summary>Throws when the wildcard exception (<paramref name="major"/>, <paramref name="minor"/>) shares access with <paramref name="rule"/>.</summary>
    private void RefuseHole(DeviceRule rule, long major, long minor)
    {
        var wildcard = AccessOf(rule.Type, major, minor);
        if ((wildcard & rule.Access) == DeviceAccess.None) return;
        var existing = new DeviceRule(!DefaultAllow, rule.Type, major, minor, wildcard);
        throw new CgroupException(ErrorIds.InvalidDeviceRule, CgroupErrorKind.InvalidArgument,
            $"device rule '{rule}' cannot be applied: it would punch a hole in the wildcard rule '{existing}' set before it, " +
            "which the kernel ignores (security/device_cgroup.c keeps exceptions by exact key)", rule.ToString());
    }

    /// <summary>The access an exception grants (or denies) to exactly this key; None when there is none.</summary>
    private DeviceAccess AccessOf(char type, long major, long minor) =>
        Find(type, major, minor, out int at) ? _items[at].Access : DeviceAccess.None;

    /// <summary>Binary search by (type, major, minor); <paramref name="at"/> is the match or the insertion point.</summary>
    private bool Find(char type, long major, long minor, out int at)
    {
        int lo = 0, hi = _count - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            ref readonly var e = ref _items[mid];
            int c = e.Type != type ? e.Type.CompareTo(type) : e.Major != major ? e.Major.CompareTo(major) : e.Minor.CompareTo(minor);
            if (c == 0) { at = mid; return true; }
            if (c < 0) lo = mid + 1; else hi = mid - 1;
        }
        at = lo;
        return false;
    }

    /// <summary>
    /// The rules to write to move a cgroup from this state to <paramref name="target"/>: a disruptive
    /// <c>a</c> rule only when the default differs or this state is allow-by-default (whose exceptions are
    /// unknowable), then removals, then additions.
    /// </summary>
    public List<DeviceRule> Transition(DeviceRuleSet target)
    {
        var rules = new List<DeviceRule>();
        var old = this;
        if (DefaultAllow || DefaultAllow != target.DefaultAllow)
        {
            rules.Add(new DeviceRule(target.DefaultAllow, 'a', DeviceRule.Wildcard, DeviceRule.Wildcard, DeviceAccess.All));
            old = DenyAll();   // the reset leaves no exception behind
        }
        for (int i = 0; i < old._count; i++)
        {
            ref readonly var e = ref old._items[i];
            var removed = e.Access & ~target.AccessOf(e.Type, e.Major, e.Minor);
            if (removed != DeviceAccess.None)
                rules.Add(new DeviceRule(target.DefaultAllow, e.Type, e.Major, e.Minor, removed));
        }
        for (int i = 0; i < target._count; i++)
        {
            ref readonly var e = ref target._items[i];
            var added = e.Access & ~old.AccessOf(e.Type, e.Major, e.Minor);
            if (added != DeviceAccess.None)
                rules.Add(new DeviceRule(!target.DefaultAllow, e.Type, e.Major, e.Minor, added));
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
        for (int i = 0; i < _count; i++)
        {
            ref readonly var e = ref _items[i];
            if ((e.Type == type || e.Type == 'a')
                && (e.Major == DeviceRule.Wildcard || e.Major == major)
                && (e.Minor == DeviceRule.Wildcard || e.Minor == minor))
                covered |= e.Access;
        }
        return DefaultAllow ? DeviceAccess.All & ~covered : covered;
    }

    /// <summary>Same default and same exceptions.</summary>
    public bool SameAs(DeviceRuleSet other)
    {
        if (DefaultAllow != other.DefaultAllow || _count != other._count) return false;
        for (int i = 0; i < _count; i++)
        {
            ref readonly var a = ref _items[i];
            ref readonly var b = ref other._items[i];
            if (a.Type != b.Type || a.Major != b.Major || a.Minor != b.Minor || a.Access != b.Access) return false;
        }
        return true;
    }

    /// <summary>The state as <c>devices.list</c> would print it.</summary>
    public string ToListText() =>
        DefaultAllow ? "a *:* rwm" : string.Join('\n', Exceptions.Select(r => r.ToKernelString()));
}
