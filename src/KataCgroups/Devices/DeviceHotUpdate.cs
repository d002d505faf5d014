using System.Globalization;
using System.Text;
using KataCgroups.Errors;
using KataCgroups.Resources;

namespace KataCgroups.Devices;

/// <summary>Whether a hot update allows a device or revokes it.</summary>
public enum DeviceChangeKind
{
    /// <summary>Allow (<c>devices.allow</c>, program plus the rule, <c>DeviceAllow</c> entry added).</summary>
    Add,
    /// <summary>Revoke (<c>devices.deny</c>, program minus the rule, <c>DeviceAllow</c> entry dropped).</summary>
    Remove,
}

/// <summary>
/// One planned hot device update of a running sandbox (Add-/Remove-KataCgroupDevice): the rule, the device state
/// before and after, the steps the driver takes (what -WhatIf shows) and what it says about them.
/// </summary>
public sealed record DeviceChange
{
    /// <summary>Allow or revoke.</summary>
    public required DeviceChangeKind Kind { get; init; }
    /// <summary>The rule as the user gave it (always in its allow form; Remove writes it as a deny).</summary>
    public required DeviceRule Rule { get; init; }
    /// <summary>The device state now (v1: devices.list; v2: the rule set this module last applied; systemd v2: DeviceAllow).</summary>
    public required DeviceRuleSet Before { get; init; }
    /// <summary>The state after the update, with the kernel's rule semantics.</summary>
    public required DeviceRuleSet After { get; init; }
    /// <summary>Human lines, one per step: file writes, the program replacement, D-Bus properties.</summary>
    public required IReadOnlyList<string> Steps { get; init; }
    /// <summary>Things worth a warning (a revoked device another rule still allows).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = Array.Empty<string>();
    /// <summary>Things worth a verbose line (only mknod stays allowed; the rule was already there).</summary>
    public IReadOnlyList<string> Notes { get; init; } = Array.Empty<string>();
    /// <summary>cgroupfs writes (v1, and what systemd cannot express).</summary>
    public IReadOnlyList<Resources.CgroupWrite> Writes { get; init; } = Array.Empty<Resources.CgroupWrite>();
    /// <summary>systemd unit properties (systemd driver).</summary>
    public IReadOnlyList<Resources.UnitProperty> UnitProperties { get; init; } = Array.Empty<Resources.UnitProperty>();
    /// <summary>systemd: the unit's DeviceAllow entries before and after, as <c>path access</c> pairs.</summary>
    public IReadOnlyList<(string Path, string Access)>? DeviceAllowBefore { get; init; }
    /// <summary>systemd: the entries after the update.</summary>
    public IReadOnlyList<(string Path, string Access)>? DeviceAllowAfter { get; init; }

    /// <summary>
    /// True when the change leaves the cgroup as it is (<see cref="WithoutNoOp"/>): it has no steps, and applying it
    /// writes nothing.
    /// </summary>
    public bool Unchanged { get; init; }

    /// <summary>
    /// This change, or, when the state after it is the state before it, the same change with no step at all: an allow
    /// of a rule that is already there (or a revoke of one that is not an exception of its own) would only write what
    /// the kernel holds. Not when the cgroup allows every device by default, whose deny exceptions cannot be read back
    /// (devices.list shows only <c>a *:* rwm</c>), so "the same" cannot be known; nor when systemd's DeviceAllow
    /// entries would change.
    /// </summary>
    public DeviceChange WithoutNoOp()
    {
        bool sameEntries = DeviceAllowBefore is null || DeviceAllowAfter is null || DeviceAllowBefore.SequenceEqual(DeviceAllowAfter);
        if (Before.DefaultAllow || !Before.SameAs(After) || !sameEntries) return this;
        return this with
        {
            Unchanged = true,
            Steps = new[] { "(nothing to write: the rules already are the result)" },
            Writes = Array.Empty<Resources.CgroupWrite>(),
            UnitProperties = Array.Empty<Resources.UnitProperty>(),
        };
    }

    /// <summary>The resulting rule set as -WhatIf prints it.</summary>
    public string DescribeResult() =>
        DeviceAllowAfter is { } entries
            ? "DeviceAllow=" + (entries.Count == 0 ? "(none)" : string.Join(' ', entries.Select(e => $"{e.Path}:{e.Access}")))
            : After.DefaultAllow ? "a *:* rwm (allow all)" : string.Join(", ", After.Exceptions.Select(r => r.ToKernelString()));
}

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

/// <summary>
/// The rule set the v2 driver last applied, kept in an extended attribute of the cgroup directory. The device eBPF
/// program cannot be read back as rules (the kernel keeps only instructions), so a hot update needs the list the
/// program was built from. cgroupfs (kernfs) stores <c>trusted.*</c> attributes for CAP_SYS_ADMIN
/// (fs/kernfs/inode.c kernfs_xattr_set); they vanish with the directory. The payload is text:
/// <code>
/// KataCgroups devices 1
/// program 42
/// default deny
/// c 1:3 rwm
/// b 253:* rwm
/// </code>
/// <c>program</c> lines name the device programs attached when it was written, so a program replaced by another tool
/// (which would make the list stale) is noticed instead of silently overwritten.
/// </summary>
public static class DeviceStatePayload
{
    /// <summary>The attribute's name.</summary>
    public const string AttributeName = "trusted.katacgroups.devices";

    private const string Header = "KataCgroups devices 1";

    /// <summary>The payload for a state and the programs attached with it.</summary>
    public static string Format(DeviceRuleSet state, IReadOnlyList<uint> programIds)
    {
        var sb = new StringBuilder();
        sb.Append(Header).Append('\n');
        foreach (var id in programIds) sb.Append("program ").Append(id.ToString(CultureInfo.InvariantCulture)).Append('\n');
        sb.Append(state.DefaultAllow ? "default allow" : "default deny").Append('\n');
        foreach (var r in state.Exceptions) sb.Append(r.ToKernelString()).Append('\n');
        return sb.ToString();
    }

    /// <summary>Parses a payload; <see cref="ErrorIds.DeviceStateUnknown"/> when it is not one this module wrote.</summary>
    public static (DeviceRuleSet State, IReadOnlyList<uint> ProgramIds) Parse(string text, string where)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (lines.Length < 2 || lines[0] != Header)
            throw Unreadable(where, $"it does not start with '{Header}'");
        var ids = new List<uint>();
        int i = 1;
        for (; i < lines.Length && lines[i].StartsWith("program ", StringComparison.Ordinal); i++)
        {
            if (!uint.TryParse(lines[i].AsSpan(8), NumberStyles.None, CultureInfo.InvariantCulture, out var id))
                throw Unreadable(where, $"bad line '{lines[i]}'");
            ids.Add(id);
        }
        if (i >= lines.Length || lines[i] is not ("default allow" or "default deny"))
            throw Unreadable(where, "the 'default allow|deny' line is missing");
        bool allow = lines[i] == "default allow";
        var rules = new List<DeviceRule> { new(allow, 'a', DeviceRule.Wildcard, DeviceRule.Wildcard, DeviceAccess.All) };
        for (i++; i < lines.Length; i++)
        {
            DeviceRule r;
            try { r = DeviceRule.Parse(lines[i], allow: !allow); }
            catch (CgroupException) { throw Unreadable(where, $"bad rule '{lines[i]}'"); }
            if (r.Type == 'a' || r.Allow == allow) throw Unreadable(where, $"bad rule '{lines[i]}'");
            rules.Add(r);
        }
        return (DeviceRuleSet.FromRules(rules), ids);
    }

    private static CgroupException Unreadable(string where, string why) =>
        new(ErrorIds.DeviceStateUnknown, CgroupErrorKind.ReadFailed,
            $"the device rules stored in {AttributeName} of {where} cannot be read ({why}); re-apply the full rule set with Set-KataCgroupResource -Device", where);
}

/// <summary>
/// systemd's DeviceAllow entries for hot updates (systemd.resource-control(5) "DeviceAllow="). A non-empty DeviceAllow
/// list in SetUnitProperties adds to the unit's list (an entry for a path already listed is updated), an empty one
/// resets it; so Add sends one entry and Remove resets and sends the rest (opencontainers/cgroups systemd/devices.go).
/// </summary>
public static class SystemdDeviceAllow
{
    /// <summary>
    /// The entry path naming <paramref name="rule"/>: <c>/dev/char/M:m</c>, <c>char-&lt;name&gt;</c> for <c>M:*</c>
    /// (the /proc/devices name), <c>char-*</c> for <c>*:*</c>; null when DeviceAllow cannot name it.
    /// </summary>
    public static string? EntryPath(DeviceRule rule, Func<char, long, string?> deviceGroup)
    {
        string kind = rule.Type == 'b' ? "block" : "char";
        if (rule.Major == DeviceRule.Wildcard)
            return rule.Minor == DeviceRule.Wildcard ? $"{kind}-*" : null;
        if (rule.Minor == DeviceRule.Wildcard)
            return deviceGroup(rule.Type, rule.Major) is { } name ? $"{kind}-{name}" : null;
        return $"/dev/{kind}/{rule.Major.ToString(CultureInfo.InvariantCulture)}:{rule.Minor.ToString(CultureInfo.InvariantCulture)}";
    }

    /// <summary>The entries after adding <paramref name="access"/> on <paramref name="path"/> (merged with what is there).</summary>
    public static List<(string Path, string Access)> Add(IReadOnlyList<(string Path, string Access)> entries, string path, DeviceAccess access)
    {
        var have = entries.Where(e => e.Path == path).Aggregate(DeviceAccess.None, (a, e) => a | DeviceRule.ParseSystemdAccess(e.Access, e.Access));
        var list = entries.Where(e => e.Path != path).ToList();
        list.Add((path, DeviceRule.AccessString(have | access)));
        return list;
    }

    /// <summary>The entries after revoking <paramref name="access"/> on <paramref name="path"/> (an entry left with no access goes).</summary>
    public static List<(string Path, string Access)> Remove(IReadOnlyList<(string Path, string Access)> entries, string path, DeviceAccess access)
    {
        var list = new List<(string, string)>();
        bool placed = false;
        var have = entries.Where(e => e.Path == path).Aggregate(DeviceAccess.None, (a, e) => a | DeviceRule.ParseSystemdAccess(e.Access, e.Access));
        foreach (var e in entries)
        {
            if (e.Path != path) { list.Add(e); continue; }
            if (placed) continue;
            placed = true;
            var left = have & ~access;
            if (left != DeviceAccess.None) list.Add((path, DeviceRule.AccessString(left)));
        }
        return list;
    }
}
