using System.Management.Automation;
using KataCgroups.Errors;
using KataCgroups.PowerShell.Completion;
using KataCgroups.PowerShell.Internal;

namespace KataCgroups.PowerShell.Commands;

/// <summary>
/// Reads Kata cgroups back from the host — limits, processes, devices — with no state file. With <c>-Path</c>,
/// those cgroups; without, every Kata cgroup: cgroupfs leaves <c>kata_*</c> under <c>/vc</c> and the given roots, and
/// on systemd hosts the units this module started.
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
    [ArgumentCompleter(typeof(CgroupPathCompleter))]
    public string[] Path { get; set; } = Array.Empty<string>();

    /// <summary>
    /// Hierarchy-relative directories to search besides <c>/vc</c>, e.g. <c>/kubepods</c>; systemd units are listed
    /// when their directory is at or below one of them.
    /// </summary>
    [Parameter(ParameterSetName = ListSet)]
    [ArgumentCompleter(typeof(CgroupPathCompleter))]
    public string[]? Root { get; set; }

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        var manager = Manager;
        if (ParameterSetName == PathSet)
        {
            foreach (var p in Path)
            {
                try { WriteObject(Snapshots.ToOutput(manager.Read(Resolve(p)))); }
                catch (CgroupException e) { WriteEngineError(e, p); }
            }
            return;
        }

        // cgroupfs: /vc and the given roots; systemd units: under the given roots, or all of ours.
        var roots = Root is null ? null : Root.Prepend(KataCgroups.Paths.KataPath.DefaultBase).ToList();
        var found = Terminating(() => manager.Find(roots, Selection, Log));
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
