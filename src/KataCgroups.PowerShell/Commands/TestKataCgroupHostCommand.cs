using System.Management.Automation;
using KataCgroups.Errors;
using KataCgroups.PowerShell.Internal;
using KataCgroups.Preflight;

namespace KataCgroups.PowerShell.Commands;

/// <summary>
/// Preflight for a runbook: one object per check of what this host offers the module (cgroup mode, controllers,
/// swap accounting, block IO weights, PSI, freezer, device control, hypervisor nodes, systemd, rootless), each with
/// Pass/Warn/Fail, the value seen and a one-line reason. <c>-Quiet</c> answers one bool: no check failed.
/// Read-only: nothing is created or written.
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "KataCgroupHost")]
[OutputType(typeof(KataCgroupHostCheck))]
[OutputType(typeof(bool))]
public sealed class TestKataCgroupHostCommand : PSCmdlet
{
    /// <summary>Only the checks whose name matches one of these (wildcards), e.g. <c>Controller:*</c>, <c>BlockIo*</c>.</summary>
    [Parameter(Position = 0)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? Check { get; set; }

    /// <summary>Return only $true (no selected check is Fail) or $false, instead of the checks.</summary>
    [Parameter]
    public SwitchParameter Quiet { get; set; }

    /// <summary>D-Bus address of the systemd to check, as for the other cmdlets; default: the private socket, then the system bus.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? SystemdBusAddress { get; set; }

    /// <inheritdoc/>
    protected override void EndProcessing()
    {
        List<HostCheck> checks;
        try { checks = CgroupManager.Default.ForSystemdBus(SystemdBusAddress).CheckHost(new CmdletLog(this)); }
        catch (CgroupException e)
        {
            ThrowTerminatingError(ErrorRecords.From(e));
            return;
        }
        var patterns = Check?.Select(p => WildcardPattern.Get(p, WildcardOptions.IgnoreCase)).ToList();
        var selected = checks.Where(c => patterns is null || patterns.Any(p => p.IsMatch(c.Name))).ToList();
        if (patterns is not null)
        {
            foreach (var name in Check!)
                if (!WildcardPattern.ContainsWildcardCharacters(name) && !checks.Any(c => string.Equals(c.Name, name, StringComparison.OrdinalIgnoreCase)))
                    WriteError(new ErrorRecord(new ArgumentException(
                        $"there is no host check named '{name}' (names: {string.Join(", ", checks.Select(c => c.Name))})"),
                        ErrorIds.HostCheckNotFound, ErrorCategory.ObjectNotFound, name));
        }
        if (Quiet)
        {
            WriteObject(selected.All(c => c.Status != HostCheckStatus.Fail));
            return;
        }
        var host = Environment.MachineName;
        foreach (var c in selected)
            WriteObject(new KataCgroupHostCheck { Check = c.Name, Status = c.Status.ToString(), Value = c.Value, Reason = c.Reason, ComputerName = host });
    }
}
