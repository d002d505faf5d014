using System.Management.Automation;
using KataCgroups.Errors;
using KataCgroups.PowerShell.Completion;
using KataCgroups.PowerShell.Internal;

namespace KataCgroups.PowerShell.Commands;

/// <summary>
/// Shows where Kata cgroups live: one row per controller with its directory, and whether it exists. A path without
/// wildcards is shown whether or not the cgroup exists (where it would be made); wildcards match existing Kata cgroups.
/// Read-only.
/// </summary>
[Cmdlet(VerbsCommon.Get, "KataCgroupPath", DefaultParameterSetName = PathSet)]
[OutputType(typeof(KataCgroupPath))]
public sealed class GetKataCgroupPathCommand : KataCgroupCommandBase
{
    /// <summary>The cgroups, as given to New-KataCgroup; wildcards match existing Kata cgroups (strings bind from the pipeline).</summary>
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

    /// <summary>Only these controllers (names as the host's hierarchies have them; a name the host lacks is ControllerNotFound).</summary>
    [Parameter]
    [ArgumentCompleter(typeof(HostValueCompleter))]
    public string[]? Controller { get; set; }

    /// <inheritdoc/>
    protected override void BeginProcessing()
    {
        // A misspelt controller would otherwise match nothing and look like a cgroup with no directories.
        if (Controller is not null) Terminating(() => { Manager.CheckControllerNames(Controller); return true; });
    }

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        bool literal = ParameterSetName == LiteralPathSet;
        foreach (var (target, _) in Targets(literal ? LiteralPath : Path, literal))
        {
            try
            {
                var existing = Manager.ExistingPaths(target).Select(p => p.Directory).ToHashSet(StringComparer.Ordinal);
                foreach (var p in Manager.GetPaths(target))
                {
                    if (Controller is not null && !Controller.Contains(p.Controller, StringComparer.OrdinalIgnoreCase)) continue;
                    WriteObject(new KataCgroupPath
                    {
                        Controller = p.Controller,
                        Directory = p.Directory,
                        CgroupPath = target.CgroupPath,
                        Exists = existing.Contains(p.Directory),
                    });
                }
            }
            catch (CgroupException e)
            {
                WriteEngineError(e, target.RequestedPath);
            }
        }
    }
}
