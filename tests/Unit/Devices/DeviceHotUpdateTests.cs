using KataCgroups.Devices;
using KataCgroups.Drivers.Systemd;
using KataCgroups.Drivers.V2;
using KataCgroups.Errors;

namespace KataCgroups.Tests.Devices;

/// <summary>
/// The rule arithmetic of hot device updates (kernel v1 semantics: security/device_cgroup.c dev_exception_add /
/// dev_exception_rm), the v2 state payload kept in trusted.katacgroups.devices, and systemd DeviceAllow edits.
/// </summary>
public class DeviceHotUpdateTests
{
    private static DeviceRuleSet Rules(params string[] rules) => DeviceRuleSet.FromRules(rules.Select(r => DeviceRule.Parse(r)));
    private static DeviceRule R(string text) => DeviceRule.Parse(text);

    [Fact]
    public void Add_then_remove_of_the_same_rule_returns_to_the_start()
    {
        var start = Rules("c 1:3 rwm", "b 253:* rwm", "c *:* m");
        var added = DeviceRuleEdit.Apply(start, R("c 1:11 rwm"), DeviceChangeKind.Add);
        Assert.Equal("c *:* m\nb 253:* rwm\nc 1:3 rwm\nc 1:11 rwm".Split('\n').Order(), added.ToListText().Split('\n').Order());
        var removed = DeviceRuleEdit.Apply(added, R("c 1:11 rwm"), DeviceChangeKind.Remove);
        Assert.True(removed.SameAs(start), removed.ToListText());
        Assert.False(added.SameAs(start));
        Assert.True(start.AllowedAccess('c', 1, 11) == DeviceAccess.Mknod, "the input is not changed");
    }

    [Fact]
    public void Allow_widens_and_deny_strips_access_bits_of_the_same_exception()
    {
        var s = DeviceRuleEdit.Apply(Rules("c 1:11 r"), R("c 1:11 w"), DeviceChangeKind.Add);
        Assert.Equal("c 1:11 rw", s.ToListText());
        s = DeviceRuleEdit.Apply(s, R("c 1:11 r"), DeviceChangeKind.Remove);
        Assert.Equal("c 1:11 w", s.ToListText());
    }

    [Theory]
    [InlineData("c 1:* rwm", "c 1:5 rwm")]   // a deny of one device leaves the wildcard (dev_exception_rm: exact match only)
    [InlineData("c 1:5 rwm", "c 1:* rwm")]   // a deny of the wildcard leaves the single device
    [InlineData("c 1:5 rwm", "b 1:5 rwm")]   // another type is another exception
    public void A_partial_overlap_is_not_removed(string have, string revoke)
    {
        var before = Rules(have);
        var after = DeviceRuleEdit.Apply(before, R(revoke), DeviceChangeKind.Remove);
        Assert.True(after.SameAs(before));
        var (warning, _) = DeviceRuleEdit.DescribeRemoval(before, after, R(revoke));
        Assert.Contains("is not an exception of its own", warning);
    }

    [Fact]
    public void Removal_names_the_rules_that_still_grant_access()
    {
        var before = Rules("c *:* m", "c 1:* r", "c 1:11 rwm");
        var after = DeviceRuleEdit.Apply(before, R("c 1:11 rwm"), DeviceChangeKind.Remove);
        var (remaining, by) = DeviceRuleEdit.StillAllowed(after, R("c 1:11 rwm"));
        Assert.Equal(DeviceAccess.Read | DeviceAccess.Mknod, remaining);
        Assert.Equal(new[] { "c *:* m", "c 1:* r" }, by.Select(r => r.ToKernelString()).Order());
        var (warning, note) = DeviceRuleEdit.DescribeRemoval(before, after, R("c 1:11 rwm"));
        Assert.Contains("'rm' stays allowed on c 1:11 through", warning);
        Assert.Null(note);
    }

    [Fact]
    public void Only_mknod_left_is_a_note_not_a_warning()
    {
        var before = Rules("c *:* m", "c 1:11 rwm");
        var after = DeviceRuleEdit.Apply(before, R("c 1:11 rwm"), DeviceChangeKind.Remove);
        var (warning, note) = DeviceRuleEdit.DescribeRemoval(before, after, R("c 1:11 rwm"));
        Assert.Null(warning);
        Assert.Equal("after revoking 'c 1:11 rwm', 'm' stays allowed on c 1:11 through 'c *:* m'", note);
    }

    [Fact]
    public void Allow_by_default_states_take_deny_exceptions()
    {
        var open = Rules("a *:* rwm");
        var after = DeviceRuleEdit.Apply(open, R("c 1:11 rwm"), DeviceChangeKind.Remove);
        Assert.True(after.DefaultAllow);
        Assert.Equal(DeviceAccess.None, after.AllowedAccess('c', 1, 11));
        var back = DeviceRuleEdit.Apply(after, R("c 1:11 rwm"), DeviceChangeKind.Add);
        Assert.True(back.SameAs(open));
    }

    [Theory]
    [InlineData('c', 10, "200", "rwm", "c 10:200 rwm")]
    [InlineData('b', 253, "*", "r", "b 253:* r")]
    [InlineData('c', 1, " 5 ", "mw", "c 1:5 wm")]
    public void FromParts_builds_kernel_rules(char type, long major, string minor, string access, string expected) =>
        Assert.Equal(expected, DeviceRuleEdit.FromParts(type, major, minor, access).ToKernelString());

    [Theory]
    [InlineData('a', 1, "1", "r")]
    [InlineData('c', -1, "1", "r")]
    [InlineData('c', 1, "x", "r")]
    [InlineData('c', 1, "-1", "r")]
    [InlineData('c', 1, "1", "rx")]
    [InlineData('c', 4294967296, "1", "r")]
    public void FromParts_rejects_bad_parts(char type, long major, string minor, string access)
    {
        var e = Assert.Throws<CgroupException>(() => DeviceRuleEdit.FromParts(type, major, minor, access));
        Assert.Equal(ErrorIds.InvalidDeviceRule, e.ErrorId);
    }

    [Fact]
    public void Payload_round_trips_state_and_program_ids()
    {
        var state = Rules("c 1:3 rwm", "b 253:* rwm", "c *:* m", "c 136:* rw");
        var text = DeviceStatePayload.Format(state, new uint[] { 42 });
        Assert.Equal("KataCgroups devices 1\nprogram 42\ndefault deny\nc *:* m\nb 253:* rwm\nc 1:3 rwm\nc 136:* rw\n".Split('\n').Order(), text.Split('\n').Order());
        Assert.StartsWith("KataCgroups devices 1\nprogram 42\ndefault deny\n", text);
        var (back, ids) = DeviceStatePayload.Parse(text, "/x");
        Assert.True(back.SameAs(state));
        Assert.Equal(new uint[] { 42 }, ids);
    }

    [Fact]
    public void Payload_keeps_allow_by_default_with_deny_exceptions()
    {
        var state = DeviceRuleSet.FromRules(new[] { R("a *:* rwm"), R("deny c 1:11 rw") });
        var (back, ids) = DeviceStatePayload.Parse(DeviceStatePayload.Format(state, Array.Empty<uint>()), "/x");
        Assert.True(back.DefaultAllow);
        Assert.True(back.SameAs(state));
        Assert.Empty(ids);
    }

    [Theory]
    [InlineData("")]
    [InlineData("something else\ndefault deny")]
    [InlineData("KataCgroups devices 1\nprogram x\ndefault deny")]
    [InlineData("KataCgroups devices 1\nprogram 1")]
    [InlineData("KataCgroups devices 1\ndefault deny\nc 1:3 rwz")]
    [InlineData("KataCgroups devices 1\ndefault deny\na *:* rwm")]
    [InlineData("KataCgroups devices 1\ndefault deny\ndeny c 1:3 rwm")]
    [InlineData("KataCgroups devices 2\ndefault deny")]
    public void Payload_that_is_not_ours_is_DeviceStateUnknown(string text)
    {
        var e = Assert.Throws<CgroupException>(() => DeviceStatePayload.Parse(text, "/sys/fs/cgroup/x"));
        Assert.Equal(ErrorIds.DeviceStateUnknown, e.ErrorId);
        Assert.Contains("trusted.katacgroups.devices of /sys/fs/cgroup/x", e.Message);
    }

    [Fact]
    public void DeviceAllow_entry_paths()
    {
        string? Group(char t, long m) => (t, m) == ('c', 136) ? "pts" : null;
        Assert.Equal("/dev/char/1:11", SystemdDeviceAllow.EntryPath(R("c 1:11 rwm"), Group));
        Assert.Equal("/dev/block/8:0", SystemdDeviceAllow.EntryPath(R("b 8:0 r"), Group));
        Assert.Equal("char-pts", SystemdDeviceAllow.EntryPath(R("c 136:* rwm"), Group));
        Assert.Equal("block-*", SystemdDeviceAllow.EntryPath(R("b *:* m"), Group));
        Assert.Null(SystemdDeviceAllow.EntryPath(R("c 240:* rwm"), Group));
        Assert.Null(SystemdDeviceAllow.EntryPath(R("c *:5 rwm"), Group));
    }

    [Fact]
    public void DeviceAllow_add_merges_and_remove_strips()
    {
        var entries = new List<(string, string)> { ("/dev/char/1:3", "rwm"), ("/dev/char/1:11", "r"), ("char-pts", "rw") };
        var added = SystemdDeviceAllow.Add(entries, "/dev/char/1:11", DeviceAccess.Write);
        Assert.Contains(("/dev/char/1:11", "rw"), added);
        Assert.Equal(3, added.Count);
        var removed = SystemdDeviceAllow.Remove(added, "/dev/char/1:11", DeviceAccess.All);
        Assert.Equal(new[] { ("/dev/char/1:3", "rwm"), ("char-pts", "rw") }, removed);
        var stripped = SystemdDeviceAllow.Remove(entries, "/dev/char/1:3", DeviceAccess.Write);
        Assert.Equal(("/dev/char/1:3", "rm"), stripped[0]);
        Assert.Equal(entries, SystemdDeviceAllow.Remove(entries, "/dev/char/9:9", DeviceAccess.All));
    }
}
