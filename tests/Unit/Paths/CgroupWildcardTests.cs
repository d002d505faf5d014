using KataCgroups.Drivers;
using KataCgroups.Errors;
using KataCgroups.Host;
using KataCgroups.Paths;
using KataCgroups.Tests.Support;

namespace KataCgroups.Tests.Paths;

/// <summary>
/// Wildcards in -Path (CgroupWildcard, CgroupManager.Expand): PowerShell's wildcard language after the Kata rules,
/// matched component by component over the Kata cgroups that exist (a fake root), and the escape that makes a found
/// cgroup's Path name only itself.
/// </summary>
public sealed class CgroupWildcardTests : IDisposable
{
    private readonly FakeCgroupRoot _fake = FakeCgroupRoot.Create();

    public void Dispose() => _fake.Dispose();

    private CgroupManager Manager() => CgroupManager.ForHost(_fake.Options(CgroupMode.Hybrid, 0));

    [Theory]
    [InlineData("/p/pod1/sb1", false)]
    [InlineData("/p/pod*/sb1", true)]
    [InlineData("sb?", true)]
    [InlineData("sb[12]", true)]
    [InlineData("sb`[1`]", false)]
    [InlineData("sb`*", false)]
    [InlineData("sb``*", true)]   // an escaped backtick, then a wildcard
    [InlineData("system.slice:kata:sb*", true)]
    public void ContainsWildcard_IgnoresEscapedCharacters(string path, bool expected) =>
        Assert.Equal(expected, CgroupWildcard.ContainsWildcard(path));

    [Theory]
    [InlineData("/p/pod1/sb1", "/p/pod1/sb1")]
    [InlineData("/p/sb[1]", "/p/sb`[1`]")]
    [InlineData("a*b?c`d", "a`*b`?c``d")]
    public void EscapeLiteral_IsUndoneByUnescape_AndMatchesOnlyItself(string literal, string escaped)
    {
        Assert.Equal(escaped, CgroupWildcard.EscapeLiteral(literal));
        Assert.Equal(literal, CgroupWildcard.Unescape(escaped));
        Assert.False(CgroupWildcard.ContainsWildcard(escaped));
    }

    [Theory]
    [InlineData("/p/pod*/sb1", "/p")]
    [InlineData("/p/pod1/sb*", "/p/pod1")]
    [InlineData("/p/pod1/sb1", "/p/pod1")]
    [InlineData("*", "/vc")]
    [InlineData("/*/x", "/")]
    [InlineData("/p/`[x`]/*", "/p/[x]")]
    public void Compile_RootIsTheLiteralPrefix(string pattern, string root) =>
        Assert.Equal(root, CgroupWildcard.Compile(pattern).Root);

    [Fact]
    public void Compile_AnUnclosedBracketIsInvalidCgroupPath()
    {
        var e = Assert.Throws<CgroupException>(() => CgroupWildcard.Compile("/p/sb[1"));
        Assert.Equal(ErrorIds.InvalidCgroupPath, e.ErrorId);
    }

    [Theory]
    [InlineData("/p/pod*/sb1", "/p/pod1/kata_sb1", true)]
    [InlineData("/p/pod*/sb1", "/p/pod1/x/kata_sb1", false)]    // a wildcard does not cross '/'
    [InlineData("/p/POD*/sb1", "/p/pod1/kata_sb1", true)]       // a component with a wildcard: case-insensitive
    [InlineData("/P/pod*/sb1", "/p/pod1/kata_sb1", false)]      // a literal component: exact
    [InlineData("/p/pod?/sb1", "/p/pod12/kata_sb1", false)]
    [InlineData("/p/pod[1-3]/sb1", "/p/pod2/kata_sb1", true)]
    [InlineData("/p/pod[1-3]/sb1", "/p/pod4/kata_sb1", false)]
    [InlineData("/p/pod[ab]/sb1", "/p/podb/kata_sb1", true)]
    [InlineData("sb*", "/vc/kata_sb7", true)]                    // relative: under /vc, the leaf gets kata_
    [InlineData("sb*", "/other/kata_sb7", false)]
    [InlineData("/p/x.y*/sb1", "/p/xzy/kata_sb1", false)]      // regex characters are literal
    [InlineData("/p/`[a`]*/sb1", "/p/[a]1/kata_sb1", true)]
    [InlineData("/p/`[a`]*/sb1", "/p/a1/kata_sb1", false)]
    public void IsMatch_ComponentByComponentAfterTheKataRules(string pattern, string cgroupPath, bool expected) =>
        Assert.Equal(expected, CgroupWildcard.Compile(pattern).IsMatch(CgroupTarget.FromCgroupPath(cgroupPath)!));

    [Fact]
    public void IsMatch_ASystemdPatternMatchesTheUnitsPath()
    {
        var w = CgroupWildcard.Compile("kubepods.slice:kata:sb*");
        Assert.True(w.Systemd);
        Assert.True(w.IsMatch(CgroupTarget.Resolve("kubepods.slice:kata:sb1")));
        Assert.False(w.IsMatch(CgroupTarget.Resolve("kubepods.slice:other:sb1")));
        Assert.False(w.IsMatch(CgroupTarget.FromCgroupPath("/kubepods.slice/kata_sb1")!));
    }

    [Fact]
    public void Expand_AWildcardListsTheMatchingKataCgroups_AndMaybeNone()
    {
        foreach (var p in new[] { "/p/pod1/kata_sb1", "/p/pod2/kata_sb1", "/p/pod2/kata_sb2", "/q/pod1/kata_sb1" })
            _fake.MakeCgroupEverywhere(p);
        var manager = Manager();
        var e = manager.Expand("/p/pod*/sb1");
        Assert.True(e.Wildcard);
        Assert.Equal(new[] { "/p/pod1/sb1", "/p/pod2/sb1" }, e.Targets.Select(t => t.RequestedPath));
        Assert.Equal(new[] { "/p/pod2/sb1", "/p/pod2/sb2" }, manager.Expand("/p/pod2/*").Targets.Select(t => t.RequestedPath));
        Assert.Equal(3, manager.Expand("/*/pod1/sb1").Targets.Count + manager.Expand("/p/pod2/sb2").Targets.Count);
        var none = manager.Expand("/p/zz*/sb1");
        Assert.True(none.Wildcard);
        Assert.Empty(none.Targets);
    }

    [Fact]
    public void Expand_APathWithoutWildcardsNamesOneCgroupWhetherOrNotItExists()
    {
        var e = Manager().Expand("/p/nope/sb`[1`]");
        Assert.False(e.Wildcard);
        var t = Assert.Single(e.Targets);
        Assert.Equal("/p/nope/kata_sb[1]", t.CgroupPath);
        Assert.Equal("/p/nope/sb[1]", t.RequestedPath);
    }

    [Fact]
    public void Expand_AnEscapedFoundPathMatchesOnlyItsCgroup()
    {
        _fake.MakeCgroupEverywhere("/p/kata_sb[1]");
        _fake.MakeCgroupEverywhere("/p/kata_sb1");
        var manager = Manager();
        var found = manager.Find(new[] { "/p" });
        Assert.Equal(2, found.Count);
        foreach (var t in found)
        {
            var again = manager.Expand(CgroupWildcard.EscapeLiteral(t.RequestedPath));
            Assert.Equal(t.CgroupPath, Assert.Single(again.Targets).CgroupPath);
        }
        // Unescaped, the brackets are a set: sb[1] matches sb1 only.
        Assert.Equal("/p/kata_sb1", Assert.Single(manager.Expand("/p/sb[1]").Targets).CgroupPath);
    }

    [Fact]
    public void ResolveNew_RefusesAWildcard_AndTakesAnEscapedOneLiterally()
    {
        var manager = Manager();
        var e = Assert.Throws<CgroupException>(() => manager.ResolveNew("/p/pod*/sb1"));
        Assert.Equal(ErrorIds.InvalidCgroupPath, e.ErrorId);
        Assert.Contains("wildcard", e.Message);
        Assert.Equal("/p/kata_sb*", manager.ResolveNew("/p/sb`*").CgroupPath);
    }
}
