using System.Management.Automation;
using KataCgroups.Errors;
using KataCgroups.PowerShell.Internal;

namespace KataCgroups.PowerShell.Commands;

/// <summary>
/// Places a VMM in its sandbox the way Kata does: SandboxCgroupOnly — the whole VMM into the sandbox cgroup; legacy
/// layout — the VMM into the overhead cgroup and its vCPU threads alone into the sandbox cgroup (thread ids given, or
/// found from QEMU's thread names <c>CPU &lt;n&gt;/KVM</c>, <c>CPU &lt;n&gt;/TCG</c>).
/// </summary>
[Cmdlet(VerbsCommon.Add, "KataSandboxVmm", SupportsShouldProcess = true)]
[OutputType(typeof(KataSandbox))]
public sealed class AddKataSandboxVmmCommand : SandboxCommandBase
{
    /// <summary>The VMM's process id.</summary>
    [Parameter(Mandatory = true, Position = 2)]
    [Alias("Pid", "ProcessId")]
    public int Id { get; set; }

    /// <summary>
    /// The VMM's vCPU thread ids (legacy layout). Default: the threads named <c>CPU &lt;n&gt;/&lt;accelerator&gt;</c> in
    /// /proc/&lt;pid&gt;/task/*/comm, which QEMU names so when started with <c>-name &lt;name&gt;,debug-threads=on</c>.
    /// </summary>
    [Parameter]
    [Alias("VcpuTid")]
    public int[]? VcpuThreadId { get; set; }

    /// <summary>Place the VMM even into an unfinished cgroup (State Unfinished), with a warning.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Emit the sandbox as read back after the placement.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        try
        {
            var address = Address;
            var sandbox = address.Sandbox;
            var overhead = address.Overhead;
            var vcpus = VcpuThreadId is { Length: > 0 } ? $"vCPU threads {string.Join(", ", VcpuThreadId)}" : "its vCPU threads (by name)";
            if (!ShouldProcess($"Place VMM {Id} in sandbox {SandboxId}: into {overhead.CgroupPath} with {vcpus} into {sandbox.CgroupPath} when the overhead cgroup exists, else wholly into {sandbox.CgroupPath}",
                    $"Place VMM {Id} in sandbox {SandboxId}?", "Add-KataSandboxVmm"))
                return;
            var outcome = Manager.PlaceVmm(address, Id, VcpuThreadId, Log, Force.IsPresent);
            if (outcome.Skipped)
            {
                WriteSkipped($"placing VMM {Id} in sandbox {SandboxId}", outcome.SkippedReason);
                return;
            }
            var p = outcome.Value!;
            WriteVerbose(p.State.SandboxCgroupOnly
                ? $"VMM {Id} with every thread in {sandbox.CgroupPath}"
                : $"VMM {Id} in {overhead.CgroupPath}; vCPU threads {string.Join(", ", p.Vcpus.Select(v => v.ThreadId))} in {sandbox.CgroupPath}");
            if (PassThru) WriteObject(SandboxOutput.ToOutput(p.State, p));
        }
        catch (CgroupException e)
        {
            WriteEngineError(e, SandboxId);
        }
    }
}
