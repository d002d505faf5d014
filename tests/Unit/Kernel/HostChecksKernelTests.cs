using System.Diagnostics;
using KataCgroups.Host;
using KataCgroups.Preflight;

namespace KataCgroups.Tests.Kernel;

/// <summary>
/// The preflight of the machine this runs on, against the kernel's own files read here independently of the
/// engine (mountinfo, cgroup.controllers, the blkio and memory roots, /proc/pressure, /proc/devices, stat(1)): a
/// check that reports what the host does not have, or misses what it has, fails. Read-only; runs on every tier
/// (the v1 host, the cgroup v2 guest, the hybrid guest with BFQ), so each branch meets a real kernel somewhere.
/// </summary>
[Trait("Category", "Kernel")]
public sealed class HostChecksKernelTests
{
    private const string CgroupRoot = "/sys/fs/cgroup";

    /// <summary>A cgroup or cgroup2 mount beneath /sys/fs/cgroup as mountinfo lists it (proc(5)).</summary>
    private sealed record Mount(string MountPoint, bool IsCgroup2, string[] Options);

    private static List<Mount> CgroupMounts()
    {
        var result = new List<Mount>();
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            int sep = line.IndexOf(" - ", StringComparison.Ordinal);
            if (sep < 0) continue;
            var pre = line[..sep].Split(' ');
            var post = line[(sep + 3)..].Split(' ');
            if (post[0] is not ("cgroup" or "cgroup2")) continue;
            if (pre[4] != CgroupRoot && !pre[4].StartsWith(CgroupRoot + "/", StringComparison.Ordinal)) continue;
            if (result.Any(m => m.MountPoint == pre[4])) continue;   // a mount stacked on the same point
            result.Add(new Mount(pre[4], post[0] == "cgroup2", post[2].Split(',')));
        }
        return result;
    }

    [Fact]
    public void TheChecksOfThisHostAgreeWithItsFiles()
    {
        var checks = HostChecks.Run(HostProbe.Probe()).ToDictionary(c => c.Name, StringComparer.Ordinal);
        var mounts = CgroupMounts();
        var cgroup2 = mounts.FirstOrDefault(m => m.IsCgroup2);
        bool v2 = cgroup2?.MountPoint == CgroupRoot;
        HostCheck Check(string name) => Assert.Contains(name, checks);
        string? V1Mount(string controller) => mounts.FirstOrDefault(m => !m.IsCgroup2 && m.Options.Contains(controller))?.MountPoint;

        Assert.Equal(v2 ? "Unified" : cgroup2?.MountPoint == CgroupRoot + "/unified" ? "Hybrid" : "Legacy", Check("CgroupMode").Value);
        Assert.Equal(File.ReadAllText("/proc/sys/kernel/osrelease").Trim(), Check("Kernel").Value);

        // Controller:X passes exactly when a v1 hierarchy has X (its mount is the value), or on v2 when the root's
        // cgroup.controllers lists it.
        var offered = v2 ? File.ReadAllText(Path.Combine(CgroupRoot, "cgroup.controllers")).Split(' ', '\n', StringSplitOptions.RemoveEmptyEntries) : Array.Empty<string>();
        var controllerChecks = checks.Values.Where(c => c.Name.StartsWith("Controller:", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(controllerChecks);
        foreach (var c in controllerChecks)
        {
            var controller = c.Name["Controller:".Length..];
            var mount = v2 ? null : V1Mount(controller);
            bool has = v2 ? offered.Contains(controller) : mount is not null;
            Assert.True(has == (c.Status == HostCheckStatus.Pass), $"{c.Name} is {c.Status} ({c.Value}: {c.Reason}), but the host {(has ? "has" : "lacks")} it");
            if (!v2) Assert.Equal(mount ?? "none", c.Value);
        }

        // Swap accounting (v1): the memory root has memory.memsw.* exactly when the kernel accounts swap.
        if (!v2 && V1Mount("memory") is { } memory)
            Assert.Equal(File.Exists(Path.Combine(memory, "memory.memsw.limit_in_bytes")), Check("SwapAccounting").Status == HostCheckStatus.Pass);

        // Block IO weight (v1): the blkio root shows CFQ's leaf weight or BFQ's statistics (the weight files themselves
        // are not on the root); the value is the weight file of that scheduler, and 'none' exactly when neither shows.
        if (!v2 && V1Mount("blkio") is { } blkio)
        {
            bool Has(string file) => File.Exists(Path.Combine(blkio, file));
            bool cfq = Has("blkio.weight") || Has("blkio.leaf_weight");
            bool bfq = Has("blkio.bfq.weight") || Has("blkio.bfq.io_service_bytes");
            Assert.Equal(cfq ? "blkio.weight" : bfq ? "blkio.bfq.weight" : "none", Check("BlockIoWeight").Value);
            Assert.Equal(Has("blkio.throttle.read_bps_device") ? "blkio.throttle.*" : "none", Check("BlockIoThrottle").Value);
        }
        // (v2): a weight the check names is a file of a cgroup it looks at (this process's own, the root's
        // children), or blk-iocost's root files stand for io.weight.
        var looked = v2 ? Directory.EnumerateDirectories(CgroupRoot).Append(CgroupRoot + OwnCgroup2Path()).ToList() : new List<string>();
        if (v2 && Check("BlockIoWeight").Value is "io.weight" or "io.bfq.weight")
        {
            var file = Check("BlockIoWeight").Value;
            bool found = looked.Any(d => File.Exists(Path.Combine(d, file)))
                || (file == "io.weight" && File.Exists(Path.Combine(CgroupRoot, "io.cost.qos")));
            Assert.True(found, $"BlockIoWeight says {file}, which no cgroup has");
        }

        // PSI per cgroup: /proc/pressure readable (CONFIG_PSI, not psi=0) and a cgroup2 mount to read it from.
        bool psiReadable;
        try { File.ReadAllText("/proc/pressure/cpu"); psiReadable = true; }
        catch (IOException) { psiReadable = false; }
        catch (UnauthorizedAccessException) { psiReadable = false; }
        Assert.Equal(psiReadable && cgroup2 is not null, Check("Psi").Status == HostCheckStatus.Pass);

        // The v1 freezer is a hierarchy; v2's is cgroup.freeze in every non-root cgroup.
        if (!v2) Assert.Equal(V1Mount("freezer") is not null, Check("Freezer").Status == HostCheckStatus.Pass);
        else if (Check("Freezer").Status == HostCheckStatus.Pass)
            Assert.Contains(looked, d => File.Exists(Path.Combine(d, "cgroup.freeze")));

        // Hypervisor nodes: stat(1)'s answer, as "c major:minor" or missing.
        foreach (var node in new[] { "/dev/kvm", "/dev/vhost-net", "/dev/vfio/vfio", "/dev/vhost-vsock" })
        {
            var c = Check("Device:" + node);
            var number = StatCharDevice(node);
            Assert.Equal(number is null ? "none" : "c " + number, c.Value);
            Assert.Equal(number is null ? HostCheckStatus.Warn : HostCheckStatus.Pass, c.Status);
        }

        // device-mapper: its line in the "Block devices:" section of /proc/devices, against Kata's b 253:* rule.
        string? dmMajor = null;
        bool block = false;
        foreach (var line in File.ReadLines("/proc/devices"))
        {
            if (line.StartsWith("Block devices:", StringComparison.Ordinal)) block = true;
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (block && f.Length == 2 && f[1] == "device-mapper") dmMajor = f[0];
        }
        var dm = Check("Device:device-mapper");
        Assert.Equal(dmMajor is null ? "none" : $"b {dmMajor}:*", dm.Value);
        Assert.Equal(dmMajor == "253", dm.Status == HostCheckStatus.Pass);
    }

    /// <summary>This process's cgroup2 path (the 0:: line of /proc/self/cgroup).</summary>
    private static string OwnCgroup2Path() =>
        File.ReadLines("/proc/self/cgroup").First(l => l.StartsWith("0::", StringComparison.Ordinal))[3..].TrimEnd('/');

    /// <summary>"major:minor" of a character device node (stat -L), or null when there is none at <paramref name="path"/>.</summary>
    private static string? StatCharDevice(string path)
    {
        using var p = Process.Start(new ProcessStartInfo("stat", new[] { "-L", "-c", "%F %Hr:%Lr", "--", path })
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var output = p.StandardOutput.ReadToEnd().Trim();
        p.StandardError.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode == 0 && output.StartsWith("character special file ", StringComparison.Ordinal)
            ? output["character special file ".Length..] : null;
    }
}
