using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using KataCgroups.Devices;

namespace KataCgroups.PowerShell.Completion;

/// <summary>
/// Tab completion for the resource parameters: the unlimited spelling and typical sizes for limits, the host's
/// online CPUs and memory nodes for <c>-Cpus</c>/<c>-Mems</c>, and ready-made rules for the device nodes this host
/// has (the hypervisor's <c>/dev/kvm</c>, <c>/dev/vhost-net</c>…, read with stat) for <c>-Device</c>. Cheap: a few
/// small sysfs reads or stat calls; never throws.
/// </summary>
public sealed class ResourceValueCompleter : IArgumentCompleter
{
    private static readonly string[] Sizes = { "max", "128MB", "256MB", "512MB", "1GB", "2GB", "4GB", "8GB" };

    // Device nodes a sandbox commonly needs, beyond runc's defaults: the hypervisor's, then tun and fuse.
    private static readonly string[] DeviceNodes = { "/dev/kvm", "/dev/vhost-net", "/dev/vhost-vsock", "/dev/vfio/vfio", "/dev/net/tun", "/dev/fuse" };

    /// <inheritdoc/>
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        try
        {
            var word = CgroupPathCompleter.Unquote(wordToComplete ?? "");
            return Candidates(parameterName)
                .Where(c => c.Value.StartsWith(word, StringComparison.OrdinalIgnoreCase))
                .Select(c => new CompletionResult(CgroupPathCompleter.Quote(c.Value), c.Value, CompletionResultType.ParameterValue, c.Tooltip))
                .ToList();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return Array.Empty<CompletionResult>();
        }
    }

    private static IEnumerable<(string Value, string Tooltip)> Candidates(string parameter) => parameter switch
    {
        "MemoryLimit" => Sizes.Select(s => (s, s == "max" ? "no memory limit" : $"memory limit {s}")),
        "MemorySwap" => Sizes.Select(s => (s, s == "max" ? "no memory+swap limit" : $"memory+swap limit {s} (at least the memory limit)")),
        "MemoryReservation" => Sizes.Skip(1).Select(s => (s, $"memory soft limit {s}")),
        "MemorySwappiness" => new[] { ("0", "avoid swapping"), ("60", "the kernel default"), ("100", "swap eagerly") },
        "CpuShares" => new[] { ("1024", "the default weight"), ("512", "half the default"), ("2048", "twice the default"), ("256", "a quarter") },
        "CpuQuota" => new[] { ("max", "no CPU limit"), ("50000", "half a CPU at the default 100 ms period"), ("100000", "one CPU"), ("200000", "two CPUs") },
        "CpuPeriod" => new[] { ("100000", "100 ms, the kernel default"), ("50000", "50 ms"), ("250000", "250 ms"), ("1000000", "1 s") },
        "PidsLimit" => new[] { ("max", "no task limit"), ("128", "128 tasks"), ("1024", "1024 tasks"), ("4096", "4096 tasks") },
        "BlkioWeight" => new[] { ("500", "the default"), ("100", "low"), ("1000", "high") },
        "Cpus" => ListAndMembers("/sys/devices/system/cpu/online", "CPU"),
        "Mems" => ListAndMembers("/sys/devices/system/node/online", "memory node"),
        "Device" => Devices(),
        _ => Array.Empty<(string, string)>(),
    };

    /// <summary>The online list itself ("0-3") and each member of it.</summary>
    private static IEnumerable<(string, string)> ListAndMembers(string file, string what)
    {
        string? online = null;
        try { online = File.ReadAllText(file).Trim(); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        if (string.IsNullOrEmpty(online)) yield break;
        yield return (online, $"every online {what}");
        foreach (var part in online.Split(','))
        {
            var range = part.Split('-');
            if (!int.TryParse(range[0], out var from) || !int.TryParse(range[^1], out var to)) continue;
            for (int i = from; i <= to && i - from < 256; i++) yield return (i.ToString(System.Globalization.CultureInfo.InvariantCulture), $"{what} {i}");
        }
    }

    private static IEnumerable<(string, string)> Devices()
    {
        foreach (var path in DeviceNodes)
        {
            if (DeviceNode.TryStat(path, out _) is { } node)
                yield return (new DeviceRule(true, node.Type, node.Major, node.Minor, DeviceAccess.Read | DeviceAccess.Write | DeviceAccess.Mknod).ToKernelString(), path);
        }
        yield return ("b 253:* rwm", "device-mapper block devices (hot-plugged into the VM)");
        yield return ("deny a", "deny every device (then allow the ones you need)");
    }
}
