namespace KataCgroups.Model;

/// <summary>
/// The signs of an unfinished cgroup and how they are said, shared by the snapshot a read returns and the check a
/// mutation makes first (Drivers/CgroupCompleteness.cs), so Get-KataCgroup and the errors and warnings use one wording.
/// The marks themselves are set and cleared in Drivers/CreateMark.cs.
/// </summary>
internal static class UnfinishedCgroup
{
    /// <summary>The create mark's attribute (Drivers/CreateMark.cs, CreateMark).</summary>
    internal const string CreateMarkName = "trusted.katacgroups.creating";

    /// <summary>The attribute of a Remove-KataCgroup -Kill under way (Drivers/CreateMark.cs, KillMark).</summary>
    internal const string KillMarkName = "trusted.katacgroups.killing";

    /// <summary>Why a cgroup with these signs is unfinished, in words (null when none is set).</summary>
    internal static string? Describe(bool marked, IReadOnlyList<string> missingIn, bool killInterrupted)
    {
        var parts = new List<string>(2);
        if (killInterrupted)
            parts.Add($"a Remove-KataCgroup -Kill did not finish ({KillMarkName} is set): it is left frozen with its processes in it; Remove-KataCgroup finishes the removal");
        if (marked && missingIn.Count > 0) parts.Add($"a create did not finish ({CreateMarkName} is set) and its directory is missing in: {string.Join(", ", missingIn)}");
        else if (marked) parts.Add($"a create did not finish ({CreateMarkName} is set): its limits, device rules or processes may be incomplete");
        else if (missingIn.Count > 0) parts.Add($"its directory is missing in: {string.Join(", ", missingIn)} (a create or a removal did not finish)");
        return parts.Count == 0 ? null : string.Join("; ", parts);
    }
}
