using KataCgroups.Cpusets;
using KataCgroups.Devices;
using KataCgroups.Host;
using KataCgroups.Errors;
using KataCgroups.Interop;
using KataCgroups.Paths;
using KataCgroups.Resources;

namespace KataCgroups.Drivers.V2;

/// <summary>
/// Hot device updates and cpuset checks on v2. The device program is opaque once loaded,
/// so every device update this driver makes also stores the rule set it was built from on the cgroup directory
/// (<see cref="DeviceStatePayload"/>); Add/Remove-KataCgroupDevice read it back, change one rule and replace the
/// program (BPF_F_REPLACE: exactly one program stays attached).
/// </summary>
public sealed partial class CgroupV2Driver
{
    /// <summary>Attaches the program for <paramref name="state"/> and records the state (New, Set -Device, hot updates).</summary>
    private void ApplyDevices(string dir, DeviceRuleSet state, ICgroupLog log)
    {
        DevicePrograms.Apply(Fs, dir, state, log);
        var ids = DevicePrograms.Attached(Fs, dir);
        var payload = DeviceStatePayload.Format(state, ids);
        log.Verbose($"setxattr {dir} {DeviceStatePayload.AttributeName}: {state.Exceptions.Count()} rules, default {(state.DefaultAllow ? "allow" : "deny")}, program {string.Join(",", ids)}");
        int errno = Xattr.TrySet(dir, DeviceStatePayload.AttributeName, payload);
        if (errno != 0)
            log.Warning($"the device rules could not be stored in {DeviceStatePayload.AttributeName} of {dir} ({Errno.Describe(errno)}): " +
                "Add-KataCgroupDevice and Remove-KataCgroupDevice will refuse this cgroup until Set-KataCgroupResource -Device applies the rules again");
    }

    /// <summary>The rule set this module last applied to <paramref name="dir"/>, checked against the programs attached now.</summary>
    private DeviceRuleSet ReadDeviceState(string dir)
    {
        var text = Xattr.TryGet(dir, DeviceStatePayload.AttributeName, out int errno);
        if (text is null)
            throw new CgroupException(ErrorIds.DeviceStateUnknown, errno == Xattr.ENODATA ? CgroupErrorKind.NotFound : CgroupErrorKind.ReadFailed,
                errno == Xattr.ENODATA
                    ? $"{dir} has no device rules recorded by this module ({DeviceStatePayload.AttributeName} is not set): its device program was not applied by KataCgroups, " +
                      "and a cgroup v2 device program cannot be read back as rules; apply the full rule set once with Set-KataCgroupResource -Device, then add or remove devices"
                    : $"cannot read {DeviceStatePayload.AttributeName} of {dir}: {Errno.Describe(errno)}",
                dir, errno == Xattr.ENODATA ? 0 : errno);
        var (state, ids) = DeviceStatePayload.Parse(text, dir);
        var attached = DevicePrograms.Attached(Fs, dir);
        if (!attached.Order().SequenceEqual(ids.Order()))
            throw new CgroupException(ErrorIds.DeviceStateUnknown, CgroupErrorKind.ReadFailed,
                $"the device program attached to {dir} ({(attached.Count == 0 ? "none" : "program " + string.Join(",", attached))}) is not the one KataCgroups applied " +
                $"(program {string.Join(",", ids)}): another tool changed the cgroup's devices, so the recorded rules are stale; apply the full rule set with Set-KataCgroupResource -Device",
                dir);
        return state;
    }

    /// <inheritdoc/>
    public DeviceChange PlanDeviceChange(CgroupTarget target, DeviceRule rule, DeviceChangeKind kind)
    {
        var dir = Dir(target);
        if (!Exists(target)) throw CgroupErrors.NotFound(target.CgroupPath, target.RequestedPath);
        var before = ReadDeviceState(dir);
        var after = DeviceRuleEdit.Apply(before, rule, kind);
        var (warnings, notes) = DeviceRuleEdit.Describe(before, after, rule, kind, dir);
        return new DeviceChange
        {
            Kind = kind, Rule = rule, Before = before, After = after,
            Steps = new[]
            {
                $"bpf: replace the device program of {dir} with one built from {after.Exceptions.Count()} rules (default {(after.DefaultAllow ? "allow" : "deny")})",
                $"setxattr {dir} {DeviceStatePayload.AttributeName}",
            },
            Warnings = warnings, Notes = notes,
        };
    }

    /// <inheritdoc/>
    public void ApplyDeviceChange(CgroupTarget target, DeviceChange change, ICgroupLog log)
    {
        if (!Exists(target)) throw CgroupErrors.NotFound(target.CgroupPath, target.RequestedPath);
        ApplyDevices(Dir(target), change.After, log);
    }

    /// <inheritdoc/>
    public void CheckCpuset(CgroupTarget target, string? cpus, string? mems)
    {
        if (target.CgroupPath == "/") return;
        var parent = Exists(target) ? _h.DirectoryOf(CgroupPathText.Dir(target.CgroupPath)) : ExistingAncestor(target.CgroupPath);
        foreach (var (file, value) in new[] { ("cpuset.cpus", cpus), ("cpuset.mems", mems) })
        {
            if (string.IsNullOrEmpty(value)) continue;
            if (V2Bounds(parent, file, value) is { } bounds) CpusetCheck.Check(bounds);
        }
    }

    /// <summary>
    /// v2 bounds: the parent's <c>cpuset.*.effective</c> (what the kernel grants from), from the nearest ancestor that has
    /// the cpuset controller (the root always shows it); null when no ancestor has it.
    /// </summary>
    private CpusetBounds? V2Bounds(string parent, string file, string value)
    {
        var effective = file + ".effective";
        for (var d = parent; d.Length >= _h.MountPoint.Length; d = Path.GetDirectoryName(d) ?? "")
        {
            if (Fs.TryReadValue(Path.Combine(d, effective)) is { } v)
                return new CpusetBounds(file, value, d, v, effective, OnlineCpus.For(file), Array.Empty<(string, string)>());
            if (d == _h.MountPoint) break;
        }
        return null;
    }

    /// <summary>A cpuset write the kernel refused, explained with the ancestor that bounds it; null when that is not the cause.</summary>
    private CgroupException? CpusetWriteFailed(CgroupTarget target, CgroupWrite w, int errno)
    {
        if (w.File is not ("cpuset.cpus" or "cpuset.mems") || V2Bounds(_h.DirectoryOf(CgroupPathText.Dir(target.CgroupPath)), w.File, w.Value) is not { } bounds)
            return null;
        try { CpusetCheck.Check(bounds); }
        catch (CgroupException e)
        {
            return new CgroupException(e.ErrorId, e.Kind, $"{e.Message} (the kernel answered {Errno.Describe(errno)} writing {Path.Combine(Dir(target), w.File)})", e.Target, errno, e);
        }
        return null;
    }
}
