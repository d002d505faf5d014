using System.Diagnostics;
using KataCgroups.Devices;
using KataCgroups.Drivers.V2;

namespace KataCgroups.Tests.Kernel;

/// <summary>
/// The cgroup v2 device filter on the real kernel: an eBPF program built from the rules decides
/// which devices a process in the cgroup may open, and updates replace the program instead of stacking them.
/// </summary>
[Trait("Category", "Kernel")]
public sealed class DeviceProgramKernelTests
{
    /// <summary>A scratch cgroup on a kernel that loads BPF_PROG_TYPE_CGROUP_DEVICE programs (else skipped, naming DeviceControl).</summary>
    private static KernelCgroup2 Scratch()
    {
        var cg = new KernelCgroup2();
        try { HostCapability.Require(cg.Checks(cg.ProbeUnified()), "DeviceControl"); }
        catch { cg.Dispose(); throw; }
        return cg;
    }

    private static DeviceRuleSet NullAndReadOnlyUrandom() => DeviceRuleSet.FromRules(new[]
    {
        DeviceRule.Parse("c 1:3 rwm"),  // /dev/null
        DeviceRule.Parse("c 1:9 r"),    // /dev/urandom, read only
    });

    [SkippableFact]
    public void AllowedDeviceOpensDeniedDeviceIsEperm()
    {
        using var cg = Scratch();
        Directory.CreateDirectory(cg.Dir);
        DevicePrograms.Apply(cg.Fs, cg.Dir, NullAndReadOnlyUrandom(), NullCgroupLog.Instance);

        var output = cg.RunInside(cg.Dir,
            "head -c1 /dev/null && echo null-ok; " +
            "head -c1 /dev/urandom >/dev/null && echo urandom-read-ok; " +
            "(echo x > /dev/urandom) 2>&1 || true; " +
            "head -c1 /dev/zero 2>&1 || true");

        Assert.Contains("null-ok", output);
        Assert.Contains("urandom-read-ok", output);
        // Writing urandom (access not granted) and reading zero (no rule) are refused by the program.
        Assert.Equal(2, output.Split('\n').Count(l => l.Contains("Operation not permitted", StringComparison.Ordinal)));
    }

    [SkippableFact]
    public void DenyByDefaultExceptionsAreEnforcedForAllowByDefaultToo()
    {
        using var cg = Scratch();
        Directory.CreateDirectory(cg.Dir);
        // Allow everything but /dev/zero.
        var state = DeviceRuleSet.FromRules(new[] { DeviceRule.Parse("allow a"), DeviceRule.Parse("deny c 1:5 rwm") });
        DevicePrograms.Apply(cg.Fs, cg.Dir, state, NullCgroupLog.Instance);

        var output = cg.RunInside(cg.Dir, "head -c1 /dev/null && echo null-ok; head -c1 /dev/zero 2>&1 || true");

        Assert.Contains("null-ok", output);
        Assert.Contains("Operation not permitted", output);
    }

    [SkippableFact]
    public void HundredUpdatesLeaveExactlyOneProgramAndRemovalLeavesNone()
    {
        using var cg = Scratch();
        Directory.CreateDirectory(cg.Dir);
        var a = NullAndReadOnlyUrandom();
        var b = DeviceRuleSet.FromRules(new[] { DeviceRule.Parse("c 1:3 rwm") });
        for (int i = 0; i < 100; i++) DevicePrograms.Apply(cg.Fs, cg.Dir, i % 2 == 0 ? a : b, NullCgroupLog.Instance);

        var ids = DevicePrograms.Attached(cg.Fs, cg.Dir);
        Assert.Single(ids);
        if (Bpftool() is { } bpftool)
        {
            // bpftool's own view: exactly one cgroup_device program on this cgroup.
            var shown = Run(bpftool, $"cgroup show {cg.Dir}");
            Assert.Equal(1, shown.Split('\n').Count(l => l.Contains("cgroup_device", StringComparison.Ordinal)));
        }

        Directory.Delete(cg.Dir);
        // The kernel releases the program with the cgroup (asynchronously): it must not stay loaded.
        bool gone = false;
        for (int i = 0; i < 100 && !gone; i++)
        {
            gone = !ProgramLoaded(ids[0]);
            if (!gone) Thread.Sleep(20);
        }
        Assert.True(gone, $"device program {ids[0]} still loaded after its cgroup was removed");
    }

    private static bool ProgramLoaded(uint id)
    {
        int fd = Interop.Bpf.ProgramFdById(id, out _);
        if (fd < 0) return false;
        Interop.Libc.Close(fd);
        return true;
    }

    internal static string? Bpftool() =>
        new[] { "/usr/sbin/bpftool", "/usr/bin/bpftool", "/sbin/bpftool" }.FirstOrDefault(File.Exists);

    private static string Run(string file, string args)
    {
        using var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        return output;
    }
}
