using KataCgroups.Model;
using System.Globalization;
using System.Text.RegularExpressions;
using KataCgroups.Drivers;

namespace KataCgroups.Sandboxes;

/// <summary>One vCPU thread of a VMM.</summary>
/// <param name="ThreadId">Its thread id.</param>
/// <param name="Index">The vCPU number in its name.</param>
/// <param name="Name">Its name (<c>comm</c>), e.g. <c>CPU 0/KVM</c>.</param>
public sealed record VcpuThread(int ThreadId, int Index, string Name);

/// <summary>
/// Finds a VMM's vCPU threads by name, as Kata's QEMU driver learns them (it asks QMP query-cpus-fast for their thread
/// ids): QEMU names each vCPU thread <c>CPU &lt;n&gt;/&lt;accelerator&gt;</c> (<c>CPU 0/KVM</c>, <c>CPU 1/TCG</c>; QEMU
/// <c>accel/*/…-accel-ops.c</c>) when started with <c>-name …,debug-threads=on</c>, and the kernel shows the name in
/// <c>/proc/&lt;pid&gt;/task/&lt;tid&gt;/comm</c> (proc(5)). Without debug-threads every thread is named after the
/// program, and the caller must give the thread ids.
/// </summary>
public static partial class VcpuThreads
{
    [GeneratedRegex(@"^CPU (\d+)/\S+$", RegexOptions.CultureInvariant)]
    private static partial Regex VcpuName();

    /// <summary>The vCPU threads of <paramref name="pid"/>, by vCPU number; empty when none is named so (or it is gone).</summary>
    public static IReadOnlyList<VcpuThread> Find(string procRoot, int pid)
    {
        var found = new List<VcpuThread>();
        foreach (var tid in TaskMoves.ThreadsOf(procRoot, pid) ?? new List<int>())
        {
            var comm = CgroupFs.TryReadSystemFile(Path.Combine(procRoot, pid.ToString(CultureInfo.InvariantCulture), "task",
                tid.ToString(CultureInfo.InvariantCulture), "comm"));
            if (comm is null || VcpuName().Match(comm) is not { Success: true } m) continue;
            found.Add(new VcpuThread(tid, int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), comm));
        }
        found.Sort((a, b) => a.Index != b.Index ? a.Index.CompareTo(b.Index) : a.ThreadId.CompareTo(b.ThreadId));
        return found;
    }
}
