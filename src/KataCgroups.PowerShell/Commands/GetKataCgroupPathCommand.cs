using System.Management.Automation;
using KataCgroups.Errors;
using KataCgroups.PowerShell.Completion;
using KataCgroups.PowerShell.Internal;

namespace KataCgroups.PowerShell.Commands;

/// <summary>Shows where a Kata cgroup lives: one row per controller with its directory. Read-only.</summary>
[Cmdlet(VerbsCommon.Get, "KataCgroupPath")]
[OutputType(typeof(KataCgroupPath))]
public sealed class GetKataCgroupPathCommand : KataCgroupCommandBase
{
    /// <summary>The cgroup, as given to New-KataCgroup.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [AllowEmptyString]
    [ArgumentCompleter(typeof(CgroupPathCompleter))]
    public string Path { get; set; } = "";

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
        try
        {
            var target = Resolve(Path);
            foreach (var p in Manager.GetPaths(target))
            {
                if (Controller is not null && !Controller.Contains(p.Controller, StringComparer.OrdinalIgnoreCase)) continue;
                WriteObject(new KataCgroupPath
                {
                    Controller = p.Controller,
                    Directory = p.Directory,
                    CgroupPath = target.CgroupPath,
                    Exists = Directory.Exists(p.Directory),
                });
            }
        }
        catch (CgroupException e)
        {
            WriteEngineError(e, Path);
        }
    }
}
