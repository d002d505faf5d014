using System.Globalization;
using KataCgroups.Errors;
using KataCgroups.Resources;

namespace KataCgroups.Devices;

/// <summary>
/// The rule arithmetic of a hot update, with the v1 device cgroup's own semantics (security/device_cgroup.c
/// devcgroup_update_access; Documentation/admin-guide/cgroup-v1/devices.rst): in a deny-by-default cgroup an allow adds
/// (or widens) the exception with exactly that type/major/minor, and a deny strips access bits only from the exception
/// with exactly that type/major/minor (dev_exception_rm): a deny of <c>c 1:5</c> leaves <c>c 1:* rwm</c> alone, and a
/// deny of <c>c 1:*</c> leaves <c>c 1:5 rwm</c> alone. v2 and systemd are given the same semantics, so a Remove undoes
/// exactly what the matching Add did, on every driver.
/// </summary>
public static class DeviceRuleEdit
{
    /// <summary>
    /// A rule from the cmdlet's parts: type <c>c</c>/<c>b</c>, a major number, a minor number or <c>*</c>, access letters.
    /// </summary>
    public static DeviceRule FromParts(char type, long major, string minor, string? access)
    {
        string input = $"{type} {major.ToString(CultureInfo.InvariantCulture)}:{minor} {access}";
        if (type is not ('c' or 'b'))
            throw Invalid(input, $"type '{type}' must be c (character) or b (block)");
        if (major < 0 || major > uint.MaxValue)
            throw Invalid(input, $"major {major} is out of range (0-{uint.MaxValue})");
        long min;
        if (minor.Trim() == "*") min = DeviceRule.Wildcard;
        else if (!long.TryParse(minor.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out min) || min > uint.MaxValue)
            throw Invalid(input, $"minor '{minor}' must be a number (0-{uint.MaxValue}) or '*'");
        var a = DeviceRule.ParseAccess(access, input);
        if (a == DeviceAccess.None) throw Invalid(input, "access must name at least one of r, w, m");
        return new DeviceRule(true, type, major, min, a);
    }

    /// <summary>A device node's rule (stat'ed by the caller) with the given access.</summary>
    public static DeviceRule FromNode(DeviceNode node, string? access, string path)
    {
        var a = DeviceRule.ParseAccess(access, path);
        if (a == DeviceAccess.None) throw Invalid(path, "access must name at least one of r, w, m");
        return new DeviceRule(true, node.Type, node.Major, node.Minor, a);
    }

    /// <summary>The rule as the kernel is told it: allow for Add, deny for Remove.</summary>
    public static DeviceRule KernelRule(DeviceRule rule, DeviceChangeKind kind) => rule with { Allow = kind == DeviceChangeKind.Add };

    /// <summary>An independent copy of a state.</summary>
    public static DeviceRuleSet Copy(DeviceRuleSet state)
    {
        var rules = new List<DeviceRule> { new(state.DefaultAllow, 'a', DeviceRule.Wildcard, DeviceRule.Wildcard, DeviceAccess.All) };
        rules.AddRange(state.Exceptions);
        return DeviceRuleSet.FromRules(rules);
    }

    /// <summary>The state after writing the rule (allow for Add, deny for Remove) with kernel semantics.</summary>
    public static DeviceRuleSet Apply(DeviceRuleSet before, DeviceRule rule, DeviceChangeKind kind)
    {
        var after = Copy(before);
        after.Apply(KernelRule(rule, kind));
        return after;
    }

    /// <summary>
    /// What a Remove leaves behind: the access bits of the revoked rule that the resulting state still allows on the
    /// same numbers, and the exceptions granting them (wildcard rules the kernel does not touch). Empty when the device
    /// is fully revoked. For a wildcard rule the check is made on the wildcard itself.
    /// </summary>
    public static (DeviceAccess Remaining, IReadOnlyList<DeviceRule> By) StillAllowed(DeviceRuleSet after, DeviceRule rule)
    {
        var remaining = after.AllowedAccess(rule.Type, rule.Major, rule.Minor) & rule.Access;
        if (after.DefaultAllow) return (remaining, Array.Empty<DeviceRule>());
        var by = after.Exceptions.Where(e =>
                (e.Type == rule.Type || e.Type == 'a')
                && (e.Major == DeviceRule.Wildcard || e.Major == rule.Major)
                && (e.Minor == DeviceRule.Wildcard || e.Minor == rule.Minor)
                && (e.Access & remaining) != DeviceAccess.None)
            .ToList();
        return (remaining, by);
    }

    /// <summary>
    /// The sentences a Remove is worth: none when the device is revoked; a warning when read or write stays allowed
    /// through another rule; a note (verbose) when only mknod does (runc's default <c>c *:* m</c>, <c>b *:* m</c>).
    /// </summary>
    public static (string? Warning, string? Note) DescribeRemoval(DeviceRuleSet before, DeviceRuleSet after, DeviceRule rule)
    {
        string? warning = null, note = null;
        if (before.SameAs(after))
            warning = $"'{rule.ToKernelString()}' is not an exception of its own in the cgroup's device rules, so revoking it changes nothing: "
                + "the device cgroup removes only an exception with exactly the same type, major and minor (Documentation/admin-guide/cgroup-v1/devices.rst)";
        var (remaining, by) = StillAllowed(after, rule);
        if (remaining == DeviceAccess.None) return (warning, note);
        var grants = by.Count == 0 ? "the cgroup's default (allow all)" : string.Join(", ", by.Select(r => $"'{r.ToKernelString()}'"));
        var text = $"after revoking '{rule.ToKernelString()}', '{DeviceRule.AccessString(remaining)}' stays allowed on {rule.Type} {Num(rule.Major)}:{Num(rule.Minor)} through {grants}";
        if ((remaining & (DeviceAccess.Read | DeviceAccess.Write)) != DeviceAccess.None) warning = warning is null ? text : $"{warning}; {text}";
        else note = text;
        return (warning, note);
    }

    /// <summary>
    /// The warnings and verbose notes of a planned change on <paramref name="where"/>: for a Remove what
    /// <see cref="DescribeRemoval"/> says; for an Add a note when the rule was already there.
    /// </summary>
    public static (List<string> Warnings, List<string> Notes) Describe(DeviceRuleSet before, DeviceRuleSet after, DeviceRule rule, DeviceChangeKind kind, string where)
    {
        var warnings = new List<string>();
        var notes = new List<string>();
        if (kind == DeviceChangeKind.Remove)
        {
            var (warning, note) = DescribeRemoval(before, after, rule);
            if (warning is not null) warnings.Add(warning);
            if (note is not null) notes.Add(note);
        }
        else if (before.SameAs(after))
            notes.Add($"'{rule.ToKernelString()}' is already allowed in {where}: nothing changes");
        return (warnings, notes);
    }

    /// <summary>
    /// The change of one v1 <c>devices.allow</c> or <c>devices.deny</c> write in the cgroup directory
    /// <paramref name="dir"/>, whose devices.list reads <paramref name="before"/>: what the v1 driver does, and what
    /// the systemd driver does for rules DeviceAllow cannot name.
    /// </summary>
    public static DeviceChange ChangeOfListWrite(string dir, DeviceRuleSet before, DeviceRule rule, DeviceChangeKind kind)
    {
        var after = Apply(before, rule, kind);
        var file = KernelRule(rule, kind).Allow ? "devices.allow" : "devices.deny";
        var (warnings, notes) = Describe(before, after, rule, kind, dir);
        if (before.DefaultAllow)
            warnings.Insert(0, $"{dir} allows every device by default (devices.list 'a *:* rwm'); its deny exceptions cannot be read back, so the rule set shown may be incomplete");
        return new DeviceChange
        {
            Kind = kind, Rule = rule, Before = before, After = after,
            Writes = new[] { new CgroupWrite("devices", file, rule.ToKernelString()) },
            Steps = new[] { $"{Path.Combine(dir, file)} = {rule.ToKernelString()}" },
            Warnings = warnings, Notes = notes,
        };
    }

    private static string Num(long n) => n == DeviceRule.Wildcard ? "*" : n.ToString(CultureInfo.InvariantCulture);

    private static CgroupException Invalid(string input, string why) =>
        new(ErrorIds.InvalidDeviceRule, CgroupErrorKind.InvalidArgument, $"invalid device rule '{input}': {why}", input);
}
