using System.Management.Automation;

namespace KataCgroups.PowerShell.Internal;

/// <summary>Forwards engine reports to the cmdlet's streams. Engine calls happen on the pipeline thread.</summary>
internal sealed class CmdletLog : ICgroupLog
{
    private readonly PSCmdlet _cmdlet;

    public CmdletLog(PSCmdlet cmdlet) => _cmdlet = cmdlet;

    public void Verbose(string message) => _cmdlet.WriteVerbose(message);

    public void Warning(string message) => _cmdlet.WriteWarning(message);

    public void Debug(string message) => _cmdlet.WriteDebug(message);
}
