using System.Globalization;
using System.Text;
using KataCgroups.Devices;
using KataCgroups.Errors;

namespace KataCgroups.Drivers.V2;

/// <summary>
/// The rule set the v2 driver last applied, kept in an extended attribute of the cgroup directory. The device eBPF
/// program cannot be read back as rules (the kernel keeps only instructions), so a hot update needs the list the
/// program was built from. cgroupfs (kernfs) stores <c>trusted.*</c> attributes for CAP_SYS_ADMIN
/// (fs/kernfs/inode.c kernfs_xattr_set); they vanish with the directory. The payload is text:
/// <code>
/// KataCgroups devices 1
/// program 42
/// default deny
/// c 1:3 rwm
/// b 253:* rwm
/// </code>
/// <c>program</c> lines name the device programs attached when it was written, so a program replaced by another tool
/// (which would make the list stale) is noticed instead of silently overwritten.
/// </summary>
public static class DeviceStatePayload
{
    /// <summary>The attribute's name.</summary>
    public const string AttributeName = "trusted.katacgroups.devices";

    private const string Header = "KataCgroups devices 1";

    /// <summary>The payload for a state and the programs attached with it.</summary>
    public static string Format(DeviceRuleSet state, IReadOnlyList<uint> programIds)
    {
        var sb = new StringBuilder();
        sb.Append(Header).Append('\n');
        foreach (var id in programIds) sb.Append("program ").Append(id.ToString(CultureInfo.InvariantCulture)).Append('\n');
        sb.Append(state.DefaultAllow ? "default allow" : "default deny").Append('\n');
        foreach (var r in state.Exceptions) sb.Append(r.ToKernelString()).Append('\n');
        return sb.ToString();
    }

    /// <summary>Parses a payload; <see cref="ErrorIds.DeviceStateUnknown"/> when it is not one this module wrote.</summary>
    public static (DeviceRuleSet State, IReadOnlyList<uint> ProgramIds) Parse(string text, string where)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (lines.Length < 2 || lines[0] != Header)
            throw Unreadable(where, $"it does not start with '{Header}'");
        var ids = new List<uint>();
        int i = 1;
        for (; i < lines.Length && lines[i].StartsWith("program ", StringComparison.Ordinal); i++)
        {
            if (!uint.TryParse(lines[i].AsSpan(8), NumberStyles.None, CultureInfo.InvariantCulture, out var id))
                throw Unreadable(where, $"bad line '{lines[i]}'");
            ids.Add(id);
        }
        if (i >= lines.Length || lines[i] is not ("default allow" or "default deny"))
            throw Unreadable(where, "the 'default allow|deny' line is missing");
        bool allow = lines[i] == "default allow";
        var rules = new List<DeviceRule> { new(allow, 'a', DeviceRule.Wildcard, DeviceRule.Wildcard, DeviceAccess.All) };
        for (i++; i < lines.Length; i++)
        {
            DeviceRule r;
            try { r = DeviceRule.Parse(lines[i], allow: !allow); }
            catch (CgroupException) { throw Unreadable(where, $"bad rule '{lines[i]}'"); }
            if (r.Type == 'a' || r.Allow == allow) throw Unreadable(where, $"bad rule '{lines[i]}'");
            rules.Add(r);
        }
        return (DeviceRuleSet.FromRules(rules), ids);
    }

    private static CgroupException Unreadable(string where, string why) =>
        new(ErrorIds.DeviceStateUnknown, CgroupErrorKind.ReadFailed,
            $"the device rules stored in {AttributeName} of {where} cannot be read ({why}); re-apply the full rule set with Set-KataCgroupResource -Device", where);
}
