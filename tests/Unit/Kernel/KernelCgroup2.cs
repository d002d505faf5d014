using System.Diagnostics;
using KataCgroups.Drivers;
using KataCgroups.Host;
using KataCgroups.Preflight;

namespace KataCgroups.Tests.Kernel;

/// <summary>
/// Real-kernel test context: a scratch directory on this machine's cgroup2 mount (the unified tree of a hybrid
/// host, or the root of a v2 host), removed again with everything in it. Tests using it are skipped, with the
/// reason, when not root or when no cgroup2 is mounted — they prove kernel behaviour, so they never fake it.
/// </summary>
internal sealed class KernelCgroup2 : IDisposable
{
    private readonly List<Process> _processes = new();
    private CgroupFs? _fs;

    public KernelCgroup2()
    {
        Skip.IfNot(Environment.IsPrivilegedProcess, "needs root: it creates cgroups on the real cgroup2 mount");
        var host = HostProbe.Probe();
        Skip.If(host.Unified is null, "no cgroup2 hierarchy mounted");
        Mount = host.Unified!.MountPoint;
        Name = "kcunit-" + Guid.NewGuid().ToString("N")[..8];
        Dir = Path.Combine(Mount, Name);
    }

    public string Mount { get; }
    public string Name { get; }
    /// <summary>The scratch cgroup (not created yet).</summary>
    public string Dir { get; }

    /// <summary>The cgroupfs primitives beneath this cgroup2 mount (verified to be cgroupfs), opened once; closed on dispose.</summary>
    public CgroupFs Fs
    {
        get
        {
            if (_fs is not null) return _fs;
            _fs = new CgroupFs(new CgroupRoots());
            Assert.True(_fs.Roots.Register(Mount, verify: true));
            return _fs;
        }
    }

    /// <summary>
    /// This cgroup2 tree probed as a unified host (on a hybrid host: its unified tree as the v2 driver would meet it).
    /// </summary>
    public HostInfo ProbeUnified()
    {
        var host = HostProbe.Probe(new HostOptions { ModeOverride = CgroupMode.Unified, CgroupRoot = Path.GetDirectoryName(Mount)! });
        Skip.If(host.Unified?.MountPoint != Mount, "cgroup2 mount not found by the probe");
        return host;
    }

    /// <summary>
    /// The preflight checks of <paramref name="host"/> (<see cref="ProbeUnified"/>), for
    /// <see cref="HostCapability.Require"/>. Checks such as Freezer look at a non-root cgroup, which the cgroup2 tree
    /// of a hybrid host may not have: when the scratch cgroup does not exist yet it is made for the checks and
    /// removed again, so a test still finds it absent (and the driver creates it as it would).
    /// </summary>
    public IReadOnlyDictionary<string, HostCheck> Checks(HostInfo host)
    {
        bool made = !Directory.Exists(Dir);
        if (made) Directory.CreateDirectory(Dir);
        try { return HostCapability.Of(host); }
        finally { if (made) Directory.Delete(Dir); }
    }

    /// <summary>Runs a shell script inside <paramref name="cgroupDir"/> (the shell joins it first) and returns its output.</summary>
    public string RunInside(string cgroupDir, string script)
    {
        var psi = new ProcessStartInfo("/bin/sh", new[] { "-c", $"echo $$ > '{cgroupDir}/cgroup.procs' || exit 99; {script}" })
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.NotEqual(99, p.ExitCode);
        return output;
    }

    /// <summary>Starts a sleep this test owns (killed by pid on dispose).</summary>
    public Process StartSleep()
    {
        var p = Process.Start(new ProcessStartInfo("sleep", "300"))!;
        _processes.Add(p);
        return p;
    }

    /// <summary>
    /// Starts a python3 this test owns with <paramref name="threads"/> sleeping threads besides its main one (a VMM's
    /// stand-in: a process whose threads can be placed apart) and returns it once they all run, with the ids of the
    /// extra threads. Skips, naming it, when python3 is not installed.
    /// </summary>
    public (Process Process, IReadOnlyList<int> Threads) StartThreaded(int threads)
    {
        var python = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':')
            .Select(d => Path.Combine(d, "python3")).FirstOrDefault(File.Exists);
        Skip.If(python is null, "needs python3 (a multi-threaded process) on PATH");
        var script = "import sys, threading, time\n" +
            "for _ in range(int(sys.argv[1])): threading.Thread(target=time.sleep, args=(600,), daemon=True).start()\n" +
            "time.sleep(600)\n";
        var p = Process.Start(new ProcessStartInfo(python!, new[] { "-c", script, threads.ToString(System.Globalization.CultureInfo.InvariantCulture) }))!;
        _processes.Add(p);
        var task = $"/proc/{p.Id}/task";
        for (int i = 0; i < 400; i++)
        {
            var tids = Directory.EnumerateDirectories(task).Select(d => int.Parse(Path.GetFileName(d), System.Globalization.CultureInfo.InvariantCulture))
                .Where(t => t != p.Id).Order().ToList();
            if (tids.Count >= threads) return (p, tids);
            Thread.Sleep(50);
        }
        throw new InvalidOperationException($"python3 {p.Id} did not start {threads} threads within 20 s");
    }

    public void Dispose()
    {
        _fs?.Dispose();
        foreach (var p in _processes)
        {
            try { if (!p.HasExited) { p.Kill(); p.WaitForExit(5000); } } catch (InvalidOperationException) { }
            p.Dispose();
        }
        if (!Directory.Exists(Dir)) return;
        // Children first; a cgroup whose last task just exited can stay busy for a moment.
        foreach (var d in Directory.EnumerateDirectories(Dir, "*", SearchOption.AllDirectories).OrderByDescending(d => d.Length).Append(Dir))
        {
            for (int i = 0; i < 50 && Directory.Exists(d); i++)
            {
                try { Directory.Delete(d); }
                catch (IOException) { Thread.Sleep(20); }
            }
        }
        Assert.False(Directory.Exists(Dir), $"test cgroup {Dir} was left behind");
    }
}
