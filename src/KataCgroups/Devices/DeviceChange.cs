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
