using KataCgroups.Errors;
using KataCgroups.Paths;

namespace KataCgroups.Sandboxes;

/// <summary>
/// Where a Kata sandbox's cgroups are, by Kata's naming (kata-containers <c>src/runtime/virtcontainers/sandbox.go</c>
/// createResourceController, <c>docs/design/host-cgroups.md</c>): the sandbox cgroup is the pod sandbox container's
/// cgroup path <c>&lt;pod&gt;/&lt;sandbox id&gt;</c> with the leaf renamed (<c>&lt;pod&gt;/kata_&lt;sandbox id&gt;</c>,
/// RenameCgroupPath), and the overhead cgroup of the legacy layout (SandboxCgroupOnly=false) is
/// <c>/kata_overhead/&lt;sandbox id&gt;</c> at the hierarchy's root (resCtrlKataOverheadID), taken literally: Kata's
/// current ValidCgroupPath adds no <c>kata_</c> prefix there. <see cref="OverheadRoot"/> moves the overhead cgroups
/// elsewhere (default Kata's).
/// </summary>
/// <param name="PodPath">The pod cgroup (a cgroupfs path; relative ones go under <c>/vc</c>, as every Kata path).</param>
/// <param name="SandboxId">The sandbox id: one path component.</param>
/// <param name="OverheadRoot">The hierarchy-relative parent of overhead cgroups, taken literally.</param>
public sealed record SandboxAddress(string PodPath, string SandboxId, string OverheadRoot = SandboxAddress.DefaultOverheadRoot)
{
    /// <summary>Kata's overhead parent (sandbox.go resCtrlKataOverheadID).</summary>
    public const string DefaultOverheadRoot = Drivers.CgroupTree.OverheadParent;

    /// <summary>
    /// The sandbox cgroup's path as a user passes it to the other cmdlets (<c>&lt;pod&gt;/&lt;id&gt;</c>; the Kata rules
    /// make it <c>&lt;pod&gt;/kata_&lt;id&gt;</c>).
    /// </summary>
    public string SandboxPath
    {
        get
        {
            Validate();
            return PodPath.EndsWith('/') ? PodPath + SandboxId : PodPath + "/" + SandboxId;
        }
    }

    /// <summary>The sandbox cgroup, by the Kata path rules.</summary>
    public CgroupTarget Sandbox => CgroupTarget.Resolve(SandboxPath);

    /// <summary>The overhead cgroup <c>&lt;overhead root&gt;/&lt;id&gt;</c>, taken literally.</summary>
    public CgroupTarget Overhead
    {
        get
        {
            Validate();
            if (OverheadRoot.Length == 0 || SystemdPath.IsSystemdForm(OverheadRoot))
                throw Invalid(OverheadRoot, "the overhead root must be a cgroupfs path such as /kata_overhead");
            return CgroupTarget.FromLiteral(OverheadRoot.TrimEnd('/') + "/" + SandboxId);
        }
    }

    private void Validate()
    {
        if (PodPath.Length == 0)
            throw Invalid(PodPath, "the pod cgroup path is empty");
        if (SystemdPath.IsSystemdForm(PodPath))
            throw Invalid(PodPath, "a sandbox is made under a cgroupfs pod path; for a systemd scope (slice:prefix:name) use New-KataCgroup with that path, " +
                "which is Kata's SandboxCgroupOnly layout under systemd (Kata has no systemd form of the overhead layout)");
        if (SandboxId.Length == 0 || SandboxId is "." or ".." || SandboxId.Contains('/') || KataPath.HasControlCharacter(SandboxId))
            throw new CgroupException(ErrorIds.InvalidCgroupPath, CgroupErrorKind.InvalidArgument,
                $"invalid sandbox id '{KataPath.Show(SandboxId)}': it must be one path component (not empty, '.', '..', without '/' or control characters)", SandboxId);
    }

    private static CgroupException Invalid(string path, string why) => KataPath.Invalid(path, why);
}
