namespace KataCgroups.Tests.Architecture;

/// <summary>
/// The one-way arrows of docs/architecture.md, checked on the sources of this checkout: the engine names no
/// PowerShell, no driver names another driver, Host and Interop name nothing above them. The planted cases prove the
/// check fails where it should, so the clean tree is a result, not a check that cannot fail.
/// </summary>
public class ArchitectureTests
{
    private static readonly List<SourceFile> Tree = LayerRules.ReadTree(LayerRules.RepoRoot());

    [Fact]
    public void TheTree_KeepsEveryArrow()
    {
        var violations = LayerRules.Check(Tree);
        Assert.True(violations.Count == 0, "references against the layering:\n" + string.Join("\n", violations));
    }

    [Fact]
    public void TheTree_HasEveryLayer()
    {
        // Every layer of the table has files, so a renamed folder cannot silently leave the check with nothing to do.
        var layers = Tree.Select(f => LayerRules.LayerOf(f.Path)).ToHashSet();
        foreach (var layer in LayerRules.MayUse.Keys.Where(k => k != "Model"))
            Assert.Contains(layer, layers);
        Assert.True(Tree.Count > 100, $"only {Tree.Count} sources found");
    }

    [Fact]
    public void TheEngineProject_ReferencesNoPowerShell()
    {
        var csproj = System.Xml.Linq.XDocument.Load(Path.Combine(LayerRules.RepoRoot(), "src", "KataCgroups", "KataCgroups.csproj"));
        var references = csproj.Descendants()
            .Where(e => e.Name.LocalName is "PackageReference" or "Reference" or "ProjectReference" or "FrameworkReference" or "Using")
            .Select(e => (string?)e.Attribute("Include") ?? "").ToList();
        Assert.Contains("Tmds.DBus.Protocol", references);   // the query sees the references there are
        Assert.DoesNotContain(references, r => r.Contains("Automation", StringComparison.Ordinal) || r.Contains("PowerShell", StringComparison.Ordinal));
    }

    [Fact]
    public void TheDrivers_HoldNoProcessWideMutableState()
    {
        var types = StaticStateRules.DriverTypes().ToList();
        // The check sees the driver layer (so a renamed namespace cannot leave it with nothing to look at).
        Assert.Contains(types, t => t.Name == "CgroupRoots");
        Assert.Contains(types, t => t.Name == "CgroupV1Driver");
        Assert.Contains(types, t => t.Name == "SystemdBus");
        var violations = StaticStateRules.Check(types);
        Assert.True(violations.Count == 0, "static mutable state in the driver layer:\n" + string.Join("\n", violations));
    }

    /// <summary>A registry as the driver layer may not have one: each kind of process-wide mutable field, and what is allowed.</summary>
    private static class PlantedRegistry
    {
        internal const int Limit = 64;
        internal static int Count;
        internal static readonly Dictionary<string, int> Table = new();
        internal static readonly string[] Names = { "a" };
        internal static string? Last { get; set; }
        internal static readonly IReadOnlyList<int> Sizes = new List<int> { 1 }.AsReadOnly();
        internal static readonly System.Collections.Immutable.ImmutableArray<string> Files = System.Collections.Immutable.ImmutableArray.Create("x");
        internal static readonly Lazy<string> Own = new(() => "pid");
        internal static Func<int> Touch => () => Count++ + Table.Count + Names.Length + Sizes.Count + Files.Length + Own.Value.Length + (Last ?? "").Length;
    }

    [Fact]
    public void Planted_AStaticRegistry_Fails()
    {
        var v = StaticStateRules.Check(new[] { typeof(PlantedRegistry) });
        Assert.Contains(v, x => x.Contains(".Count: a static field that is not readonly", StringComparison.Ordinal));
        Assert.Contains(v, x => x.Contains(".Table: a static Dictionary", StringComparison.Ordinal));
        Assert.Contains(v, x => x.Contains(".Names: a static String[]", StringComparison.Ordinal));
        Assert.Contains(v, x => x.Contains("<Last>k__BackingField: a static field that is not readonly", StringComparison.Ordinal));
        Assert.Equal(4, v.Count);   // the constant, the read-only view, the immutable array and the Lazy fact pass
    }

    /// <summary>The tree with one file added or replaced.</summary>
    private static List<LayerViolation> CheckWith(string path, string text) =>
        LayerRules.Check(Tree.Where(f => f.Path != path).Append(new SourceFile(path, text)).ToList());

    [Fact]
    public void Planted_ADriverNamingAnotherDriversClass_Fails()
    {
        var v = CheckWith("KataCgroups/Drivers/V2/Planted.cs", """
            namespace KataCgroups.Drivers.V2;
            internal static class Planted
            {
                internal static string? Online(string file) => V1.CgroupV1Driver.SubsystemOrder[0];
            }
            """);
        Assert.Contains(v, x => x.File == "KataCgroups/Drivers/V2/Planted.cs" && x.Name == "CgroupV1Driver" && x.Rule == "Driver.V2 may not use Driver.V1");
    }

    [Fact]
    public void Planted_ADriverUsingAnotherDriversNamespace_Fails()
    {
        var v = CheckWith("KataCgroups/Drivers/Systemd/Planted.cs", """
            using KataCgroups.Drivers.V1;
            namespace KataCgroups.Drivers.Systemd;
            internal static class Planted { }
            """);
        Assert.Contains(v, x => x.Name == "KataCgroups.Drivers.V1" && x.Rule == "Driver.Systemd may not use Driver.V1");
    }

    [Fact]
    public void Planted_TheHostRegisteringIntoTheDriverLayer_Fails()
    {
        var v = CheckWith("KataCgroups/Host/Planted.cs", """
            namespace KataCgroups.Host;
            internal static class Planted
            {
                internal static void Probe(string mount) => new Drivers.CgroupRoots().Register(mount, verify: true);
            }
            """);
        Assert.Contains(v, x => x.Name == "CgroupRoots" && x.Rule == "Host may not use Drivers");
        Assert.Contains(v, x => x.Name == "KataCgroups.Drivers" && x.Rule == "Host may not use Drivers");
    }

    [Fact]
    public void Planted_InteropNamingTheHost_Fails()
    {
        var v = CheckWith("KataCgroups/Interop/Planted.cs", """
            namespace KataCgroups.Interop;
            internal static class Planted { internal static object? Last; internal static void Keep(KataCgroups.Host.HostInfo h) => Last = h; }
            """);
        Assert.Contains(v, x => x.Name == "HostInfo" && x.Rule == "Interop may not use Host");
    }

    [Fact]
    public void Planted_TheEngineNamingPowerShell_Fails()
    {
        var v = CheckWith("KataCgroups/Resources/Planted.cs", """
            using System.Management.Automation;
            namespace KataCgroups.Resources;
            internal static class Planted { }
            """);
        Assert.Contains(v, x => x.Name == "System.Management.Automation" && x.Rule == "the engine knows nothing of PowerShell");
    }

    [Fact]
    public void Planted_TheCmdletsNamingADriver_Fails()
    {
        var v = CheckWith("KataCgroups.PowerShell/Commands/Planted.cs", """
            namespace KataCgroups.PowerShell.Commands;
            internal static class Planted { internal static object Make(KataCgroups.Host.HostInfo h) => new KataCgroups.Drivers.V1.CgroupV1Driver(h); }
            """);
        Assert.Contains(v, x => x.Name == "CgroupV1Driver" && x.Rule == "Cmdlets may not use Driver.V1");
    }

    [Fact]
    public void Planted_ACmdletReachingPastTheFacade_Fails()
    {
        var v = CheckWith("KataCgroups.PowerShell/Commands/Planted.cs", """
            namespace KataCgroups.PowerShell.Commands;
            internal static class Planted { internal static object Kind(CgroupManager m, KataCgroups.Paths.CgroupTarget t) => m.DriverFor(t).Kind; }
            """);
        Assert.Contains(v, x => x.Name == "DriverFor" && x.Rule == "Cmdlets may not call DriverFor: it reaches past the facade");
    }

    [Fact]
    public void CommentsAndStrings_AreNotReferences()
    {
        var v = CheckWith("KataCgroups/Drivers/V2/Planted.cs", """
            namespace KataCgroups.Drivers.V2;
            // as CgroupV1Driver does
            /* CgroupSystemdDriver */
            internal static class Planted
            {
                internal static string Text(int n) => $"CgroupV1Driver {n} KataCgroups.Drivers.V1" + @"CgroupSystemdDriver" + "\"CgroupV1Driver";
            }
            """);
        Assert.DoesNotContain(v, x => x.File == "KataCgroups/Drivers/V2/Planted.cs");
    }

    [Fact]
    public void AnInterpolationHole_IsCode()
    {
        var v = CheckWith("KataCgroups/Drivers/V2/Planted.cs", """
            namespace KataCgroups.Drivers.V2;
            internal static class Planted { internal static string Text() => $"order {V1.CgroupV1Driver.SubsystemOrder.Count}"; }
            """);
        Assert.Contains(v, x => x.File == "KataCgroups/Drivers/V2/Planted.cs" && x.Name == "CgroupV1Driver");
    }
}
