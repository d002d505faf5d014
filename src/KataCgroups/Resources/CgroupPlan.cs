using KataCgroups.Devices;

namespace KataCgroups.Resources;

/// <summary>
/// One planned write: <paramref name="Value"/> into <paramref name="File"/> of the cgroup's directory in the
/// hierarchy of <paramref name="Controller"/> (<c>memory</c>, <c>cpu</c>… or <c>unified</c>).
/// </summary>
public sealed record CgroupWrite(string Controller, string File, string Value)
{
    /// <inheritdoc/>
    public override string ToString() => $"{File} = {Value}";
}

/// <summary>How an OCI value became a file value on this host (empty on v1 where nothing is converted).</summary>
/// <param name="Source">The OCI value, e.g. <c>cpu.shares 512</c>.</param>
/// <param name="Target">What was written, e.g. <c>cpu.weight 59</c>.</param>
public sealed record ValueConversion(string Source, string Target)
{
    /// <summary>
    /// True when the number changed on the way (<c>cpu.shares 512 → cpu.weight 59</c>), not just its file
    /// (<c>pids.limit 64 → pids.max 64</c>); -1 and <c>max</c> are the same unlimited value.
    /// </summary>
    public bool ChangesValue => Canonical(Value(Source)) != Canonical(Value(Target));

    private static string Value(string s) => s.IndexOf(' ', StringComparison.Ordinal) is var i and >= 0 ? s[(i + 1)..] : s;
    private static string Canonical(string v) => v == "-1" ? "max" : v;

    /// <inheritdoc/>
    public override string ToString() => $"{Source} → {Target}";
}

/// <summary>
/// Resources compiled for one cgroup on one host: the ordered writes the driver executes and <c>-WhatIf</c>
/// prints (STYLE rule 6), warnings about values that were skipped or ignored, and the device state the
/// driver verifies afterwards.
/// </summary>
public sealed class CgroupPlan
{
    /// <summary>Creates a plan.</summary>
    public CgroupPlan(IReadOnlyList<CgroupWrite> writes, IReadOnlyList<string> warnings,
        IReadOnlyList<ValueConversion>? conversions = null, DeviceRuleSet? deviceTarget = null,
        IReadOnlyList<UnitProperty>? unitProperties = null, IReadOnlyList<Errors.CgroupException>? unsupported = null)
    {
        Unsupported = unsupported ?? Array.Empty<Errors.CgroupException>();
        UnitProperties = unitProperties ?? Array.Empty<UnitProperty>();
        Writes = writes;
        Warnings = warnings;
        Conversions = conversions ?? Array.Empty<ValueConversion>();
        DeviceTarget = deviceTarget;
    }

    /// <summary>The writes, in the order the driver performs them.</summary>
    public IReadOnlyList<CgroupWrite> Writes { get; }
    /// <summary>Values skipped or ignored, each a full sentence.</summary>
    public IReadOnlyList<string> Warnings { get; }
    /// <summary>
    /// Requested values this host cannot apply (a controller not mounted, a weight or swap file the kernel does not
    /// have), each as the error it is; none of them is among <see cref="Writes"/>. The manager fails the command
    /// on the first unless the caller opted in to skipping them, as runc and Kata's manager fail such a request.
    /// </summary>
    public IReadOnlyList<Errors.CgroupException> Unsupported { get; }
    /// <summary>OCI value → file value, where they differ.</summary>
    public IReadOnlyList<ValueConversion> Conversions { get; }
    /// <summary>systemd unit properties (systemd driver), sent before the cgroupfs writes of what systemd cannot express.</summary>
    public IReadOnlyList<UnitProperty> UnitProperties { get; }

    /// <summary>
    /// True on the copy the manager hands a driver for a create (<see cref="ForCreate"/>): the driver must make every
    /// leaf itself, or fail with CgroupAlreadyExists (it was there, or another creator raced it). A copy, never a
    /// change to this plan: plans are shared (<see cref="Empty"/>, a caller creating several cgroups from one plan).
    /// </summary>
    public bool MustBeNew { get; private init; }

    /// <summary>This plan for a create (<see cref="MustBeNew"/>).</summary>
    internal CgroupPlan ForCreate() =>
        new(Writes, Warnings, Conversions, DeviceTarget, UnitProperties, Unsupported) { MustBeNew = true };

    /// <summary>The device state the cgroup must be in after the writes (v1), or null when devices are untouched.</summary>
    public DeviceRuleSet? DeviceTarget { get; }

    /// <summary>An empty plan.</summary>
    public static CgroupPlan Empty { get; } = new(Array.Empty<CgroupWrite>(), Array.Empty<string>());

    /// <summary>One line per write, <c>memory.limit_in_bytes = 268435456</c>.</summary>
    public IEnumerable<string> Describe() => UnitProperties.Select(p => "systemd " + p).Concat(Writes.Select(w => w.ToString()));
}
