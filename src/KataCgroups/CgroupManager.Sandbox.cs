using KataCgroups.Model;
using System.Globalization;
using KataCgroups.Drivers;
using KataCgroups.Errors;
using KataCgroups.Paths;
using KataCgroups.Resources;
using KataCgroups.Sandboxes;

namespace KataCgroups;

/// <summary>A sandbox as read back from the host: its cgroup and, in the legacy layout, its overhead cgroup.</summary>
/// <param name="Address">Where it is.</param>
/// <param name="Sandbox">The sandbox cgroup.</param>
/// <param name="Overhead">The overhead cgroup; null in the SandboxCgroupOnly layout.</param>
public sealed record SandboxState(SandboxAddress Address, CgroupSnapshot Sandbox, CgroupSnapshot? Overhead)
{
    /// <summary>True in the SandboxCgroupOnly layout (no overhead cgroup).</summary>
    public bool SandboxCgroupOnly => Overhead is null;
}

/// <summary>Where a VMM went (<see cref="CgroupManager.PlaceVmm"/>).</summary>
/// <param name="State">The sandbox read back after the placement.</param>
/// <param name="VmmPid">The VMM.</param>
/// <param name="Vcpus">The vCPU threads placed in the sandbox cgroup (legacy layout), each with how it was placed.</param>
public sealed record VmmPlacement(SandboxState State, int VmmPid, IReadOnlyList<ThreadOutcome> Vcpus);

public sealed partial class CgroupManager
{
    /// <summary>
    /// Creates a Kata sandbox (kata-containers <c>docs/design/host-cgroups.md</c>): the sandbox cgroup under the pod
    /// cgroup with <paramref name="plan"/> (from <see cref="PlanCreate"/> for <see cref="SandboxAddress.Sandbox"/>: the
    /// limits and the hypervisor devices), and unless <paramref name="sandboxCgroupOnly"/> the overhead cgroup with no
    /// limits and no device rules, as Kata creates it (an empty <c>LinuxResources</c>). All or nothing: an overhead
    /// cgroup that cannot be made (one is there already) removes the sandbox cgroup again.
    /// </summary>
    public Outcome<SandboxState> CreateSandbox(SandboxAddress address, bool sandboxCgroupOnly, CgroupPlan plan, ICgroupLog log)
    {
        var sandbox = address.Sandbox;
        var overhead = sandboxCgroupOnly ? null : address.Overhead;
        if (Host.RootlessReason is { } why) return new(null, why);
        var made = Create(sandbox, plan, log, readBack: false);
        if (made.Skipped) return new(null, made.SkippedReason);
        if (overhead is not null)
        {
            try
            {
                var driver = DriverFor(overhead);
                Create(overhead, Enforce(driver.Plan(overhead, new LinuxResources(), null, create: true), skipUnsupported: false), log, readBack: false);
            }
            catch (CgroupException)
            {
                try { Remove(sandbox, new RemoveOptions(), log); }
                catch (CgroupException undo) { log.Warning($"rollback: could not remove the sandbox cgroup {sandbox.CgroupPath}: {undo.Message}"); }
                throw;
            }
        }
        return new(ReadSandbox(address), null);
    }

    /// <summary>
    /// Reads a sandbox back: its layout is what the host shows (an overhead cgroup there: the legacy layout), as
    /// nothing else records it. Throws <see cref="ErrorIds.CgroupNotFound"/> when the sandbox cgroup is not there.
    /// </summary>
    public SandboxState ReadSandbox(SandboxAddress address)
    {
        var overhead = address.Overhead;
        var sandbox = Read(address.Sandbox);
        return new SandboxState(address, sandbox, Exists(overhead) ? Read(overhead) : null);
    }

    /// <summary>
    /// Places a VMM in its sandbox the way Kata does (virtcontainers sandbox.go setupResourceController and
    /// constrainHypervisor). SandboxCgroupOnly: the VMM with every thread into the sandbox cgroup. Legacy layout: the
    /// VMM into the overhead cgroup, then its vCPU threads alone into the sandbox cgroup — <paramref name="vcpus"/>, or
    /// the threads QEMU names <c>CPU &lt;n&gt;/…</c> (<see cref="VcpuThreads"/>). On cgroup v2 a domain cgroup cannot
    /// hold a thread apart from its process, so the vCPU threads bring the whole VMM into the sandbox cgroup, as in
    /// Kata on v2: said in a warning, and in each thread's <see cref="ThreadPlacement"/>.
    /// </summary>
    public Outcome<VmmPlacement> PlaceVmm(SandboxAddress address, int vmmPid, IReadOnlyList<int>? vcpus, ICgroupLog log, bool force = false)
    {
        ValidatePid(vmmPid);
        foreach (var tid in vcpus ?? Array.Empty<int>()) ValidatePid(tid);
        var sandbox = address.Sandbox;
        var overhead = address.Overhead;
        if (Host.RootlessReason is { } why) return new(null, why);
        if (!Exists(sandbox)) throw CgroupErrors.NotFound(sandbox.CgroupPath, sandbox.RequestedPath);
        var threads = TaskMoves.ThreadsOf(Host.Options.ProcRoot, vmmPid)
            ?? throw new CgroupException(ErrorIds.ProcessNotFound, CgroupErrorKind.NotFound, $"process {vmmPid} (the VMM) does not exist", Pid(vmmPid));
        if (!Exists(overhead))
        {
            if (vcpus is { Count: > 0 })
                log.Warning($"sandbox {sandbox.CgroupPath} has no overhead cgroup (SandboxCgroupOnly layout): every thread of the VMM goes into the sandbox cgroup, so the vCPU thread ids are not needed");
            Ensure(AddProcesses(sandbox, new[] { vmmPid }, log, force), sandbox);
            return new(new VmmPlacement(ReadSandbox(address), vmmPid, Array.Empty<ThreadOutcome>()), null);
        }

        IReadOnlyList<int> ids = vcpus is { Count: > 0 } ? vcpus : VcpuThreads.Find(Host.Options.ProcRoot, vmmPid).Select(v => v.ThreadId).ToList();
        if (ids.Count == 0)
            throw new CgroupException(ErrorIds.VcpuThreadsNotFound, CgroupErrorKind.NotFound,
                $"process {vmmPid} has no thread named 'CPU <n>/<accelerator>': start QEMU with -name <name>,debug-threads=on, or give the vCPU thread ids (-VcpuThreadId)",
                Pid(vmmPid));
        var foreign = ids.Where(t => !threads.Contains(t)).ToList();
        if (foreign.Count > 0)
            throw new CgroupException(ErrorIds.ThreadNotInProcess, CgroupErrorKind.InvalidArgument,
                $"thread(s) {string.Join(", ", foreign)} are not threads of process {vmmPid} (its threads: /proc/{vmmPid}/task)", string.Join(",", foreign));

        // setupResourceController: everything of the VMM starts in the overhead cgroup; constrainHypervisor then moves
        // the vCPU threads into the sandbox cgroup.
        Ensure(AddProcesses(overhead, new[] { vmmPid }, log, force), overhead);
        var placed = AddThreads(sandbox, ids, log, force).Value!;
        var failed = placed.Where(o => !o.Added).ToList();
        if (failed.Count > 0)
            throw NotMoved(failed[0].Vanished,
                $"the vCPU threads of process {vmmPid} were not all placed in {sandbox.CgroupPath}: {string.Join("; ", failed.Select(o => o.Error))}",
                failed[0].ThreadId);
        if (placed.Any(o => o.Placement == ThreadPlacement.WholeProcess))
            log.Warning($"cgroup v2 keeps every thread of a process in one domain cgroup: the vCPU thread(s) {string.Join(", ", ids)} moved the whole VMM " +
                $"(process {vmmPid}) into the sandbox cgroup {sandbox.CgroupPath}, as Kata's AddThread does on v2; the overhead cgroup {overhead.CgroupPath} holds none of its threads");
        return new(new VmmPlacement(ReadSandbox(address), vmmPid, placed), null);
    }

    private static void Ensure(Outcome<IReadOnlyList<ProcessOutcome>> added, CgroupTarget target)
    {
        foreach (var o in added.Value ?? Array.Empty<ProcessOutcome>())
        {
            if (o.Added) continue;
            throw NotMoved(o.Vanished, o.Error ?? $"process {o.Pid} was not moved into {target.CgroupPath}", o.Pid);
        }
    }

    /// <summary>A process or thread of a placement that did not move: gone (ProcessNotFound), or refused.</summary>
    private static CgroupException NotMoved(bool vanished, string message, int id) => vanished
        ? new CgroupException(ErrorIds.ProcessNotFound, CgroupErrorKind.NotFound, message, Pid(id))
        : new CgroupException(ErrorIds.ProcessMoveFailed, CgroupErrorKind.WriteFailed, message, Pid(id));

    private static string Pid(int id) => id.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// Removes a sandbox as Kata's resourceControllerDelete does: the sandbox cgroup, then the overhead cgroup, each
    /// with its processes moved to its parent first (or killed with <see cref="RemoveOptions.Kill"/>). The overhead
    /// root (<c>/kata_overhead</c>) stays, as in Kata. <see cref="ErrorIds.CgroupNotFound"/> when neither is there.
    /// </summary>
    public Outcome<RemoveOutcome> RemoveSandbox(SandboxAddress address, RemoveOptions options, ICgroupLog log)
    {
        var sandbox = address.Sandbox;
        var overhead = address.Overhead;
        if (Host.RootlessReason is { } why) return new(null, why);
        bool hasSandbox = Exists(sandbox), hasOverhead = Exists(overhead);
        if (!hasSandbox && !hasOverhead) throw CgroupErrors.NotFound(sandbox.CgroupPath, sandbox.RequestedPath);
        var total = new RemoveOutcome(0, 0, 0);
        foreach (var (target, there) in new[] { (sandbox, hasSandbox), (overhead, hasOverhead) })
        {
            if (!there) continue;
            var r = Remove(target, options, log).Value!;
            total = new RemoveOutcome(total.MovedProcesses + r.MovedProcesses, total.KilledProcesses + r.KilledProcesses, total.RemovedDirectories + r.RemovedDirectories);
        }
        return new(total, null);
    }
}
