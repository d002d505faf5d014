using System.Management.Automation;
using KataCgroups.Errors;
using KataCgroups.PowerShell.Completion;
using KataCgroups.PowerShell.Internal;

namespace KataCgroups.PowerShell.Commands;

/// <summary>
/// Reads Kata cgroups back from the host — limits, processes, devices — with no state file. With <c>-Path</c>,
/// those cgroups (wildcards expanded over the Kata cgroups that exist, as Get-ChildItem does) or with
/// <c>-LiteralPath</c> exactly those; without, every Kata cgroup on the host (CgroupManager.Find says what one is),
/// or those at or below <c>-Root</c>.
/// </summary>
[Cmdlet(VerbsCommon.Get, "KataCgroup", DefaultParameterSetName = ListSet)]
[OutputType(typeof(KataCgroup))]
public sealed class GetKataCgroupCommand : KataCgroupCommandBase
{
    private const string ListSet = "List";
    private const string CgroupPathSet = "CgroupPath";

    /// <summary>
    /// The cgroups, as given to New-KataCgroup; wildcards (<c>*</c>, <c>?</c>, <c>[a-z]</c>) match existing Kata
    /// cgroups. Strings bind from the pipeline, and a cgroup object's Path by property name.
    /// </summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = PathSet)]
    [SupportsWildcards]
    [AllowEmptyString]
    [ArgumentCompleter(typeof(CgroupPathCompleter))]
    public string[] Path { get; set; } = Array.Empty<string>();

    /// <summary>The cgroups, taken exactly as written: no character is a wildcard.</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = LiteralPathSet)]
    [Alias("LP")]
    [AllowEmptyString]
    public string[] LiteralPath { get; set; } = Array.Empty<string>();

    /// <summary>
    /// Hierarchy-relative cgroup directories taken as they are, without the Kata rules (no <c>kata_</c> prefix, no
    /// <c>/vc</c>), as the <c>CgroupPath</c> property shows them: a cgroup Kata names otherwise, such as a sandbox's
    /// overhead cgroup <c>/kata_overhead/&lt;id&gt;</c>. Not bound from the pipeline (a cgroup object binds -Path).
    /// </summary>
    [Parameter(Mandatory = true, ParameterSetName = CgroupPathSet)]
    [ArgumentCompleter(typeof(CgroupPathCompleter))]
    public string[] CgroupPath { get; set; } = Array.Empty<string>();

    /// <summary>
    /// Only the Kata cgroups at or below these hierarchy-relative directories, e.g. <c>/kubepods</c> (default: the
    /// whole host); systemd units are listed when their directory is at or below one of them.
    /// </summary>
    [Parameter(ParameterSetName = ListSet)]
    [ArgumentCompleter(typeof(CgroupPathCompleter))]
    public string[]? Root { get; set; }

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        var manager = Manager;
        if (ParameterSetName == CgroupPathSet)
        {
            foreach (var p in CgroupPath)
            {
                try { WriteObject(Snapshots.ToOutput(manager.Read(KataCgroups.Paths.CgroupTarget.FromLiteral(p)))); }
                catch (CgroupException e) { WriteEngineError(e, p); }
            }
            return;
        }
        if (ParameterSetName != ListSet)
        {
            foreach (var (target, wildcard) in Targets(ParameterSetName == PathSet ? Path : LiteralPath, ParameterSetName == LiteralPathSet))
            {
                try { WriteObject(Snapshots.ToOutput(manager.Read(target))); }
                // A cgroup a wildcard matched that is gone by now is not an error, as in a listing.
                catch (CgroupException e) when (!(wildcard && e.ErrorId == ErrorIds.CgroupNotFound)) { WriteEngineError(e, target.RequestedPath); }
                catch (CgroupException) { }
            }
            return;
        }

        var found = Terminating(() => manager.Find(Root, Selection, Log));
        // Read on every CPU ahead of this thread, which writes the objects in order as they come (Write* is only
        // allowed on the pipeline thread): CgroupManager.ReadAll, which ends the enumeration when _stop fires.
        foreach (var r in manager.ReadAll(found, s => Snapshots.ToOutput(s), _stop.Token))
        {
            if (r.Value is not null) WriteObject(r.Value);
            else if (r.Error is not null && r.Error.ErrorId != ErrorIds.CgroupNotFound)   // CgroupNotFound: removed meanwhile
                WriteEngineError(r.Error, r.Target.RequestedPath);
        }
    }

    private readonly CancellationTokenSource _stop = new();

    /// <inheritdoc/>
    protected override void StopProcessing() => _stop.Cancel();
}
