using System.Management.Automation;
using KataCgroups.Errors;
using KataCgroups.PowerShell.Internal;

namespace KataCgroups.PowerShell.Commands;

/// <summary>
/// Reads a Kata sandbox's host cgroups back: its layout (an overhead cgroup there: the legacy layout), and the processes
/// and lone threads of the sandbox and overhead cgroups. Get-KataCgroup shows either cgroup in full.
/// </summary>
[Cmdlet(VerbsCommon.Get, "KataSandbox")]
[OutputType(typeof(KataSandbox))]
public sealed class GetKataSandboxCommand : SandboxCommandBase
{
    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        try { WriteObject(SandboxOutput.ToOutput(Manager.ReadSandbox(Address))); }
        catch (CgroupException e) { WriteEngineError(e, SandboxId); }
    }
}
