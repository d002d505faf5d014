using System.Text;

namespace KataCgroups.Host;

/// <summary>One cgroup hierarchy mounted on the host.</summary>
/// <param name="Name">Display name: the controllers joined by ',' (<c>cpu,cpuacct</c>), <c>name=systemd</c>, or <c>unified</c>.</param>
/// <param name="Controllers">v1 controllers bound to it (a named hierarchy lists <c>name=systemd</c>); empty for cgroup2.</param>
/// <param name="MountPoint">Where it is mounted.</param>
/// <param name="Root">The mountinfo root field: which cgroup of the hierarchy the mount shows (<c>/</c> normally).</param>
/// <param name="IsUnified">True for a cgroup2 mount.</param>
public sealed record Hierarchy(string Name, IReadOnlyList<string> Controllers, string MountPoint, string Root, bool IsUnified)
{
    /// <summary>Directory of a hierarchy-relative cgroup path in this hierarchy.</summary>
    public string DirectoryOf(string cgroupPath) => cgroupPath == "/" ? MountPoint : MountPoint + cgroupPath;
}

/// <summary>
/// Parses <c>/proc/self/mountinfo</c> (proc(5)) for cgroup and cgroup2 mounts. Controllers come from the
/// super options, so co-mounted controllers (<c>cpu,cpuacct</c>, <c>net_cls,net_prio</c>) map to one mount,
/// as runc's mountinfo scan does; nothing is hard-coded.
/// </summary>
public static class MountInfo
{
    /// <summary>v1 controller names the kernel knows (kernel/cgroup/cgroup-v1.c + include/linux/cgroup_subsys.h).</summary>
    public static readonly IReadOnlySet<string> KnownV1Controllers = new HashSet<string>(StringComparer.Ordinal)
    {
        "cpuset", "cpu", "cpuacct", "io", "blkio", "memory", "devices", "freezer", "net_cls", "perf_event",
        "net_prio", "hugetlb", "pids", "rdma", "misc", "debug",
    };

    /// <summary>All cgroup/cgroup2 mounts in mountinfo order.</summary>
    public static List<Hierarchy> ParseCgroupMounts(string mountInfoText)
    {
        var result = new List<Hierarchy>();
        foreach (var rawLine in mountInfoText.Split('\n'))
        {
            var line = rawLine.TrimEnd('\r');
            if (line.Length == 0) continue;
            // "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue"
            int sep = line.IndexOf(" - ", StringComparison.Ordinal);
            if (sep < 0) continue;
            var pre = line[..sep].Split(' ');
            var post = line[(sep + 3)..].Split(' ');
            if (pre.Length < 6 || post.Length < 3) continue;
            string fsType = post[0];
            if (fsType != "cgroup" && fsType != "cgroup2") continue;
            string root = Unescape(pre[3]);
            string mountPoint = Unescape(pre[4]);
            if (fsType == "cgroup2")
            {
                result.Add(new Hierarchy("unified", Array.Empty<string>(), mountPoint, root, true));
                continue;
            }
            var controllers = new List<string>();
            foreach (var opt in post[2].Split(','))
            {
                if (KnownV1Controllers.Contains(opt) || opt.StartsWith("name=", StringComparison.Ordinal))
                    controllers.Add(opt);
            }
            if (controllers.Count == 0) continue;
            result.Add(new Hierarchy(string.Join(',', controllers), controllers, mountPoint, root, false));
        }
        return result;
    }

    /// <summary>mountinfo escapes space, tab, newline and backslash as \ooo octal.</summary>
    internal static string Unescape(string s)
    {
        if (!s.Contains('\\')) return s;
        var sb = new StringBuilder(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && i + 3 < s.Length
                && IsOctal(s[i + 1]) && IsOctal(s[i + 2]) && IsOctal(s[i + 3]))
            {
                sb.Append((char)(((s[i + 1] - '0') << 6) | ((s[i + 2] - '0') << 3) | (s[i + 3] - '0')));
                i += 3;
            }
            else sb.Append(s[i]);
        }
        return sb.ToString();
    }

    private static bool IsOctal(char c) => c is >= '0' and <= '7';
}
