using System.Management.Automation;
using KataCgroups.Errors;
using KataCgroups.PowerShell.Internal;

namespace KataCgroups.PowerShell.Commands;

/// <summary>
/// Reads Kata cgroups back from the host — limits, processes, devices — with no state file. With <c>-Path</c>,
/// those cgroups; without, every Kata cgroup (leaf <c>kata_*</c>) under <c>/vc</c> and the given roots.
/// </summary>
[Cmdlet(VerbsCommon.Get, "KataCgroup", DefaultParameterSetName = ListSet)]
[OutputType(typeof(KataCgroup))]
public sealed class GetKataCgroupCommand : KataCgroupCommandBase
{
    private const string PathSet = "Path";
    private const string ListSet = "List";

    /// <summary>The cgroups, as given to New-KataCgroup.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = PathSet)]
    [AllowEmptyString]
    public string[] Path { get; set; } = Array.Empty<string>();

    /// <summary>Hierarchy-relative directories to search besides <c>/vc</c>, e.g. <c>/kubepods</c>.</summary>
    [Parameter(ParameterSetName = ListSet)]
    public string[]? Root { get; set; }

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        var manager = Manager;
        if (ParameterSetName == PathSet)
        {
            foreach (var p in Path)
            {
                try { WriteObject(Snapshots.ToOutput(manager.Read(manager.Resolve(p)))); }
                catch (CgroupException e) { WriteEngineError(e, p); }
            }
            return;
        }

        var roots = new List<string> { KataCgroups.Paths.KataPath.DefaultBase };
        if (Root is not null) roots.AddRange(Root);
        IReadOnlyList<KataCgroups.Paths.CgroupTarget> found;
        found = Terminating(() => manager.Find(roots));
        foreach (var target in found)
        {
            try { WriteObject(Snapshots.ToOutput(manager.Read(target))); }
            catch (CgroupException e) when (e.ErrorId == ErrorIds.CgroupNotFound) { /* removed meanwhile */ }
            catch (CgroupException e) { WriteEngineError(e, target.RequestedPath); }
        }
    }
}
