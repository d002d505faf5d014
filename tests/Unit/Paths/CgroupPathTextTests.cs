using KataCgroups.Paths;

namespace KataCgroups.Tests.Paths;

/// <summary>
/// CgroupPathText must give byte-identical results to Go's <c>path</c> package, because the Kata rules
/// (virtcontainers/pkg/cgroups/utils.go) are written in terms of it. Expected values are what Go 1.22 prints.
/// </summary>
public class CgroupPathTextTests
{
    [Theory]
    [InlineData("", ".")]
    [InlineData(".", ".")]
    [InlineData("/", "/")]
    [InlineData("//", "/")]
    [InlineData("a", "a")]
    [InlineData("a/", "a")]
    [InlineData("a//b", "a/b")]
    [InlineData("/a//b///c", "/a/b/c")]
    [InlineData("./a/./b/.", "a/b")]
    [InlineData("a/b/..", "a")]
    [InlineData("a/..", ".")]
    [InlineData("a/../..", "..")]
    [InlineData("../../x", "../../x")]
    [InlineData("a/b/../../../c", "../c")]
    [InlineData("/..", "/")]
    [InlineData("/../../etc", "/etc")]
    [InlineData("/a/../../b/./c/", "/b/c")]
    [InlineData("..", "..")]
    [InlineData("../..", "../..")]
    public void Clean_MatchesGo(string input, string expected) =>
        Assert.Equal(expected, CgroupPathText.Clean(input));

    [Theory]
    [InlineData(new string[0], "")]
    [InlineData(new[] { "", "" }, "")]
    [InlineData(new[] { "a", "" }, "a")]
    [InlineData(new[] { "", "a" }, "a")]
    [InlineData(new[] { "/", "a" }, "/a")]
    [InlineData(new[] { "/vc", "/" }, "/vc")]
    [InlineData(new[] { "/vc", "/etc" }, "/vc/etc")]
    [InlineData(new[] { "a", "b/", "c" }, "a/b/c")]
    [InlineData(new[] { "a", "../../b" }, "../b")]
    [InlineData(new[] { "/", "kata_/" }, "/kata_")]
    [InlineData(new[] { ".", "kata_a" }, "kata_a")]
    public void Join_MatchesGo(string[] elements, string expected) =>
        Assert.Equal(expected, CgroupPathText.Join(elements));

    [Theory]
    [InlineData("", ".")]
    [InlineData("/", "/")]
    [InlineData("a", ".")]
    [InlineData("/a", "/")]
    [InlineData("/a/b", "/a")]
    [InlineData("a/b/", "a/b")]
    [InlineData("//a//b", "/a")]
    [InlineData("/a/b/../c", "/a")]
    public void Dir_MatchesGo(string input, string expected) =>
        Assert.Equal(expected, CgroupPathText.Dir(input));

    [Theory]
    [InlineData("", ".")]
    [InlineData("/", "/")]
    [InlineData("//", "/")]
    [InlineData("a", "a")]
    [InlineData("/a/b", "b")]
    [InlineData("/a/b/", "b")]
    [InlineData("a/b//", "b")]
    [InlineData("/a/..", "..")]
    public void Base_MatchesGo(string input, string expected) =>
        Assert.Equal(expected, CgroupPathText.Base(input));
}
