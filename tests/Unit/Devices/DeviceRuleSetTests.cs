using KataCgroups.Devices;

namespace KataCgroups.Tests.Devices;

/// <summary>
/// The devices cgroup as the kernel keeps it (security/device_cgroup.c) and the minimal transition between two
/// states (runc devices/v1.go), checked by applying the transition with kernel semantics.
/// </summary>
public class DeviceRuleSetTests
{
    private static DeviceRuleSet Rules(params string[] rules) => DeviceRuleSet.FromRules(rules.Select(r => DeviceRule.Parse(r)));

    private static List<string> Show(IEnumerable<DeviceRule> rules) => rules.Select(r => r.ToString()).ToList();

    /// <summary>Applies the transition to a fresh copy of <paramref name="list"/> and checks it lands on the target.</summary>
    private static void AssertTransitionReaches(string list, DeviceRuleSet target)
    {
        var state = DeviceRuleSet.ParseList(list);
        foreach (var rule in DeviceRuleSet.ParseList(list).Transition(target)) state.Apply(rule);
        Assert.True(state.SameAs(target), $"after the transition: [{state.ToListText()}], wanted [{target.ToListText()}]");
    }

    [Fact]
    public void ParseList_AllowAll()
    {
        var set = DeviceRuleSet.ParseList("a *:* rwm\n");
        Assert.True(set.DefaultAllow);
        Assert.Empty(set.Exceptions);
        Assert.Equal("a *:* rwm", set.ToListText());
    }

    [Fact]
    public void ParseList_Whitelist()
    {
        var set = DeviceRuleSet.ParseList("c 1:3 rwm\nb 8:* r\nc 1:3 w\n");
        Assert.False(set.DefaultAllow);
        Assert.Equal(new[] { "allow b 8:* r", "allow c 1:3 rwm" }, Show(set.Exceptions));
    }

    [Fact]
    public void ParseList_EmptyIsDenyAll()
    {
        var set = DeviceRuleSet.ParseList("");
        Assert.False(set.DefaultAllow);
        Assert.Empty(set.Exceptions);
        Assert.True(set.SameAs(DeviceRuleSet.DenyAll()));
    }

    [Fact]
    public void Apply_WhitelistAllowAddsAndDenyStripsBitsOfAnExactMatch()
    {
        var set = DeviceRuleSet.DenyAll();
        set.Apply(DeviceRule.Parse("c 1:3 r"));
        set.Apply(DeviceRule.Parse("c 1:3 w"));
        Assert.Equal("c 1:3 rw", set.ToListText());
        set.Apply(DeviceRule.Parse("deny c 1:3 r"));
        Assert.Equal("c 1:3 w", set.ToListText());
        set.Apply(DeviceRule.Parse("deny c 1:* w")); // not an exact match: the kernel leaves c 1:3 alone
        Assert.Equal("c 1:3 w", set.ToListText());
        set.Apply(DeviceRule.Parse("deny c 1:3 rwm"));
        Assert.Empty(set.Exceptions);
    }

    [Fact]
    public void Apply_AllRuleResetsDefaultAndExceptions()
    {
        var set = Rules("c 1:3 rwm", "b 8:0 r");
        set.Apply(DeviceRule.Parse("a"));
        Assert.True(set.DefaultAllow);
        Assert.Empty(set.Exceptions);
        set.Apply(DeviceRule.Parse("deny c 1:5 w"));    // blacklist: a deny is an exception
        Assert.Equal(new[] { "deny c 1:5 w" }, Show(set.Exceptions));
        set.Apply(DeviceRule.Parse("c 1:5 w"));         // and an allow removes it
        Assert.Empty(set.Exceptions);
        set.Apply(DeviceRule.Parse("deny a"));
        Assert.False(set.DefaultAllow);
    }

    [Fact]
    public void FromRules_StartsFromDenyAll()
    {
        var set = Rules("c 1:3 rwm");
        Assert.False(set.DefaultAllow);
        Assert.Equal("c 1:3 rwm", set.ToListText());
    }

    [Fact]
    public void Transition_NewWhitelistFromAllowAllParent_DeniesAllThenAllows()
    {
        var parent = DeviceRuleSet.ParseList("a *:* rwm");
        var target = Rules("c 1:3 rwm", "b 253:* rwm", "c 10:200 rw");
        var rules = parent.Transition(target);
        Assert.Equal(new[] { "deny a *:* rwm", "allow b 253:* rwm", "allow c 1:3 rwm", "allow c 10:200 rw" }, Show(rules));
        AssertTransitionReaches("a *:* rwm", target);
    }

    [Fact]
    public void Transition_BetweenWhitelists_OnlyTheDifference()
    {
        const string current = "c 1:3 rwm\nc 1:5 rwm\nc 10:200 rw\nb 253:* rwm";
        var target = Rules("b 253:* rwm", "c 1:3 rwm", "c 10:200 rwm", "c 5:0 r");
        var rules = DeviceRuleSet.ParseList(current).Transition(target);
        // no 'a' rule: a running VM never passes through deny-all on an update
        Assert.DoesNotContain(rules, r => r.Type == 'a');
        Assert.Equal(new[] { "deny c 1:5 rwm", "allow c 5:0 r", "allow c 10:200 m" }, Show(rules));
        AssertTransitionReaches(current, target);
    }

    [Fact]
    public void Transition_PartialAccessBits()
    {
        const string current = "c 1:3 rwm\nc 1:5 r";
        var target = Rules("c 1:3 r", "c 1:5 rw");
        var rules = DeviceRuleSet.ParseList(current).Transition(target);
        Assert.Equal(new[] { "deny c 1:3 wm", "allow c 1:5 w" }, Show(rules));
        AssertTransitionReaches(current, target);
    }

    [Fact]
    public void Transition_SameWhitelistIsEmpty()
    {
        const string current = "c 1:3 rwm\nb 253:* rwm";
        Assert.Empty(DeviceRuleSet.ParseList(current).Transition(DeviceRuleSet.ParseList(current)));
    }

    [Fact]
    public void Transition_FromBlacklistAlwaysResets()
    {
        // devices.list hides a blacklist's deny exceptions, so even allow-all → allow-all resets.
        var allowAll = DeviceRuleSet.FromRules(new[] { DeviceRule.Parse("a") });
        Assert.Equal(new[] { "allow a *:* rwm" }, Show(DeviceRuleSet.ParseList("a *:* rwm").Transition(allowAll)));

        var blacklist = DeviceRuleSet.FromRules(new[] { DeviceRule.Parse("a"), DeviceRule.Parse("deny c 1:3 w") });
        Assert.Equal(new[] { "allow a *:* rwm", "deny c 1:3 w" }, Show(DeviceRuleSet.ParseList("a *:* rwm").Transition(blacklist)));
        AssertTransitionReaches("a *:* rwm", blacklist);
    }

    [Fact]
    public void Transition_WhitelistToAllowAll()
    {
        var allowAll = DeviceRuleSet.FromRules(new[] { DeviceRule.Parse("a") });
        Assert.Equal(new[] { "allow a *:* rwm" }, Show(DeviceRuleSet.ParseList("c 1:3 rwm").Transition(allowAll)));
        AssertTransitionReaches("c 1:3 rwm", allowAll);
    }

    [Fact]
    public void Transition_DoesNotChangeEitherSide()
    {
        var source = DeviceRuleSet.ParseList("c 1:3 rwm\nc 1:5 r");
        var target = Rules("c 1:5 rw");
        source.Transition(target);
        Assert.Equal("c 1:3 rwm\nc 1:5 r", source.ToListText());
        Assert.Equal("c 1:5 rw", target.ToListText());
    }

    [Fact]
    public void SameAs_ComparesDefaultAndExceptions()
    {
        Assert.True(Rules("c 1:3 rwm", "b 8:0 r").SameAs(Rules("b 8:0 r", "c 1:3 rwm")));
        Assert.False(Rules("c 1:3 rwm").SameAs(Rules("c 1:3 rw")));
        Assert.False(Rules("c 1:3 rwm").SameAs(Rules("c 1:3 rwm", "c 1:5 r")));
        Assert.False(DeviceRuleSet.DenyAll().SameAs(DeviceRuleSet.ParseList("a *:* rwm")));
    }
}
