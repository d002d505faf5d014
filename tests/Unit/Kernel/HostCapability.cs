using KataCgroups.Host;
using KataCgroups.Preflight;

namespace KataCgroups.Tests.Kernel;

/// <summary>
/// What a kernel test needs from the host, asked of the module's own preflight (Preflight/HostChecks) the way the
/// Pester suite's Skip-KcUnlessCapability asks it: where a capability is missing the test is skipped with the
/// check's name, value and reason ("host lacks DeviceControl (none: …)"), never passed without asserting.
/// </summary>
internal static class HostCapability
{
    /// <summary>Every check of <paramref name="host"/>, by name.</summary>
    public static IReadOnlyDictionary<string, HostCheck> Of(HostInfo host) =>
        HostChecks.Run(host).ToDictionary(c => c.Name, StringComparer.Ordinal);

    /// <summary>True when the named check passed; throws on a name that is not a check, so a typo cannot skip a test.</summary>
    public static bool Has(IReadOnlyDictionary<string, HostCheck> checks, string name) =>
        Get(checks, name).Status == HostCheckStatus.Pass;

    /// <summary>Skips the running test, naming each missing capability, unless every named check passed.</summary>
    public static void Require(IReadOnlyDictionary<string, HostCheck> checks, params string[] names)
    {
        var missing = names.Select(n => Get(checks, n)).Where(c => c.Status != HostCheckStatus.Pass)
            .Select(c => $"{c.Name} ({c.Value}: {c.Reason})").ToList();
        Skip.If(missing.Count > 0, "host lacks " + string.Join("; ", missing));
    }

    private static HostCheck Get(IReadOnlyDictionary<string, HostCheck> checks, string name) =>
        checks.TryGetValue(name, out var c) ? c
            : throw new ArgumentException($"no host check named '{name}' (there are: {string.Join(", ", checks.Keys)})", nameof(name));
}
