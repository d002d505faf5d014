namespace KataCgroups.Tests.Properties;

/// <summary>
/// How long the property campaign runs: the CI size by default, ten times that with KATACGROUPS_LONG=1
/// (`build.ps1 Test -Long`) for local soak runs.
/// </summary>
internal static class Campaign
{
    internal static readonly bool Long = Environment.GetEnvironmentVariable("KATACGROUPS_LONG") == "1";

    /// <summary>Iterations for a property: <paramref name="ci"/> in CI, ten times as many in a long run.</summary>
    internal static long Iter(long ci) => Long ? ci * 10 : ci;
}
