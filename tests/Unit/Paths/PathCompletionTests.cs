using KataCgroups.Errors;
using KataCgroups.Paths;
using KataCgroups.Tests.Support;

namespace KataCgroups.Tests.Paths;

/// <summary>
/// What -Path completion offers, from the engine's own path rule: a partly typed path read as Validate reads it, and
/// every Kata cgroup offered as the path that resolves back to it. On a fake root.
/// </summary>
public sealed class PathCompletionTests : IDisposable
{
    private readonly FakeCgroupRoot _fake = FakeCgroupRoot.Create();

    public void Dispose() => _fake.Dispose();

    [Theory]
    [InlineData("", "/vc", "", true)]
    [InlineData("po", "/vc", "po", true)]
    [InlineData("pod1/", "/vc/pod1", "", true)]
    [InlineData("../../x", "/vc", "x", true)]    // a relative path never leaves /vc (Validate cleans "/" + p)
    [InlineData("/", "/", "", false)]
    [InlineData("/kubepods/po", "/kubepods", "po", false)]
    [InlineData("/kubepods//pod1/", "/kubepods/pod1", "", false)]
    public void SplitTyped_reads_a_partial_path_as_Validate_does(string typed, string parent, string prefix, bool relative) =>
        Assert.Equal((parent, prefix, relative), KataPath.SplitTyped(typed));

    [Fact]
    public void What_the_completer_offers_resolves_back_to_the_cgroup_it_was_offered_for()
    {
        var manager = CgroupManager.ForHost(_fake.Options());
        foreach (var leaf in new[] { "/kubepods/pod1/kata_sandbox1", "/vc/kata_x", "/vc/pod2/kata_y" })
            _fake.MakeCgroupEverywhere(leaf);
        _fake.MakeCgroupEverywhere("/kubepods/pod1/plain");

        var all = manager.CompletePath("");
        var kata = all.Where(c => c.IsKata).ToList();
        Assert.Equal(new[] { "/kubepods/pod1/sandbox1", "/vc/pod2/y", "/vc/x" }, kata.Select(c => c.Text).Order(StringComparer.Ordinal));
        foreach (var c in kata) Assert.Equal(c.CgroupPath, manager.Resolve(c.Text).CgroupPath);
        Assert.Equal(all.Take(kata.Count), kata);   // Kata cgroups first, then the root's directories
        Assert.Contains(all, c => c is { Text: "/kubepods/", IsKata: false });

        var pod1 = manager.CompletePath("/kubepods/pod1/");
        Assert.Equal("/kubepods/pod1/sandbox1", pod1[0].Text);
        Assert.Contains(pod1, c => c is { Text: "/kubepods/pod1/plain/", IsKata: false });
        Assert.Contains(pod1, c => c is { Text: "/kubepods/pod1/kata_sandbox1/", IsKata: false });

        // relative: under /vc, shown relative, and resolving back the same
        var rel = manager.CompletePath("pod2/");
        var y = Assert.Single(rel, c => c.IsKata);
        Assert.Equal("pod2/y", y.Text);
        Assert.Equal("/vc/pod2/kata_y", manager.Resolve(y.Text).CgroupPath);

        Assert.Equal(new[] { "/kubepods/pod1" }, manager.CompletePath("/kubepods/po", directoriesOnly: true).Select(c => c.Text));
        Assert.Empty(manager.CompletePath("/nope/\u0001"));
    }

    [Fact]
    public void Controller_names_are_the_hosts_and_an_unknown_one_is_ControllerNotFound()
    {
        var manager = CgroupManager.ForHost(_fake.Options());
        var names = manager.ControllerNames();
        Assert.Contains("memory", names);
        Assert.Contains("cpuacct", names);
        Assert.Equal(names.Distinct().Count(), names.Count);
        Assert.Equal(names.OrderBy(n => n), manager.GetPaths(manager.Resolve("x")).Select(p => p.Controller).Distinct().OrderBy(n => n));

        manager.CheckControllerNames(new[] { "memory", "MEMORY" });
        var e = Assert.Throws<CgroupException>(() => manager.CheckControllerNames(new[] { "memory", "memroy" }));
        Assert.Equal(ErrorIds.ControllerNotFound, e.ErrorId);
        Assert.Equal("memroy", e.Target);
        Assert.Contains("memory", e.Message);
    }
}
