using System.Management.Automation;
using KataCgroups.Errors;
using KataCgroups.PowerShell.Completion;

namespace KataCgroups.PowerShell.Commands;

/// <summary>
/// Writes a live Kata cgroup back out as runtime-spec <c>linux.resources</c> JSON, or with <c>-AsConfig</c> as a
/// config.json fragment with its <c>linux.cgroupsPath</c>, so that <c>New-KataCgroup -OciConfig</c> of the export
/// (on another path) makes a cgroup with the same files. Read-only.
/// </summary>
[Cmdlet(VerbsData.Export, "KataCgroup")]
[OutputType(typeof(string))]
public sealed class ExportKataCgroupCommand : KataCgroupCommandBase
{
    /// <summary>The cgroup, as given to New-KataCgroup (binds from a cgroup object's Path).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("CgroupsPath")]
    [AllowEmptyString]
    [ArgumentCompleter(typeof(CgroupPathCompleter))]
    public string Path { get; set; } = "";

    /// <summary>
    /// Emit a config.json fragment (<c>ociVersion</c>, <c>linux.cgroupsPath</c>, <c>linux.resources</c>) instead of the
    /// bare <c>linux.resources</c> object.
    /// </summary>
    [Parameter]
    public SwitchParameter AsConfig { get; set; }

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        try
        {
            var target = Resolve(Path);
            var export = Manager.Export(target);
            foreach (var w in export.Warnings) WriteWarning(w);
            WriteObject(AsConfig ? export.ToConfigJson(target.RequestedPath) : export.ToJson());
        }
        catch (CgroupException e)
        {
            WriteEngineError(e, Path);
        }
    }
}
