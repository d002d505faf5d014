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
        // Reading a cgroup is a few dozen small file reads that wait on the kernel, not on each other: read a batch
        // on every CPU, then write the objects in order from the pipeline thread (Write* is only allowed there).
        const int Batch = 256;
        var results = new (KataCgroup? Cgroup, CgroupException? Error)[Math.Min(Batch, found.Count)];
        for (int start = 0; start < found.Count; start += Batch)
        {
            int count = Math.Min(Batch, found.Count - start);
            try
            {
                Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = _stop.Token }, i =>
                {
                    try { results[i] = (Snapshots.ToOutput(manager.Read(found[start + i])), null); }
                    catch (CgroupException e) { results[i] = (null, e); }
                });
            }
            catch (OperationCanceledException) { return; }
            for (int i = 0; i < count; i++)
            {
                var (cgroup, error) = results[i];
                if (cgroup is not null) WriteObject(cgroup);
                else if (error is not null && error.ErrorId != ErrorIds.CgroupNotFound)   // CgroupNotFound: removed meanwhile
                    WriteEngineError(error, found[start + i].RequestedPath);
            }
        }
    }

    private readonly CancellationTokenSource _stop = new();

    /// <inheritdoc/>
    protected override void StopProcessing() => _stop.Cancel();
}
