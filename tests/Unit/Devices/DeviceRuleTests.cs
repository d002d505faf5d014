using KataCgroups.Devices;
using KataCgroups.Errors;
using KataCgroups.Resources;

namespace KataCgroups.Tests.Devices;

/// <summary>Device rule text and OCI form (kernel Documentation/admin-guide/cgroup-v1/devices.rst).</summary>
public class DeviceRuleTests
{
    [Theory]
    [InlineData("c 10:200 rwm", true, 'c', 10L, 200L, DeviceAccess.All)]
    [InlineData("b 8:* r", true, 'b', 8L, -1L, DeviceAccess.Read)]
    [InlineData("b 253:* rwm", true, 'b', 253L, -1L, DeviceAccess.All)]
    [InlineData("c *:* m", true, 'c', -1L, -1L, DeviceAccess.Mknod)]
    [InlineData("a *:* rwm", true, 'a', -1L, -1L, DeviceAccess.All)]
    [InlineData("a", true, 'a', -1L, -1L, DeviceAccess.All)]
    [InlineData("allow c 1:3 rw", true, 'c', 1L, 3L, DeviceAccess.Read | DeviceAccess.Write)]
    [InlineData("deny c 1:3 w", false, 'c', 1L, 3L, DeviceAccess.Write)]
    [InlineData("deny a", false, 'a', -1L, -1L, DeviceAccess.All)]
    [InlineData("  c   1:5   mr  ", true, 'c', 1L, 5L, DeviceAccess.Read | DeviceAccess.Mknod)]
    [InlineData("c 4294967295:0 w", true, 'c', 4294967295L, 0L, DeviceAccess.Write)]
    public void Parse(string text, bool allow, char type, long major, long minor, DeviceAccess access)
    {
        Assert.Equal(new DeviceRule(allow, type, major, minor, access), DeviceRule.Parse(text));
    }

    [Fact]
    public void Parse_DefaultAllowCanBeOverridden()
    {
        Assert.False(DeviceRule.Parse("c 1:3 rwm", allow: false).Allow);
        Assert.True(DeviceRule.Parse("allow c 1:3 rwm", allow: false).Allow);
    }

    [Theory]
    [InlineData("x 1:2 rwm")]       // unknown type
    [InlineData("u 1:2 rwm")]
    [InlineData("cc 1:2 rwm")]
    [InlineData("c 1:2 rwx")]       // bad access letter
    [InlineData("c 1:2 R")]
    [InlineData("c -1:2 rwm")]      // negative numbers: the kernel only takes digits or '*'
    [InlineData("c 1:-3 rwm")]
    [InlineData("c +1:2 rwm")]
    [InlineData("c 1:2")]           // missing access
    [InlineData("c 1 rwm")]         // missing minor
    [InlineData("c 1:2:3 rwm")]
    [InlineData("c a:2 rwm")]
    [InlineData("c 4294967296:0 rwm")] // major beyond 32 bits
    [InlineData("c 1:2 rwm extra")]
    [InlineData("")]
    [InlineData("allow")]
    [InlineData("deny x 1:2 rwm")]
    public void Parse_RejectsWithInvalidDeviceRule(string text)
    {
        var e = Assert.Throws<CgroupException>(() => DeviceRule.Parse(text));
        Assert.Equal(ErrorIds.InvalidDeviceRule, e.ErrorId);
        Assert.Equal(CgroupErrorKind.InvalidArgument, e.Kind);
        Assert.Equal(text, e.Target);
    }

    [Fact]
    public void Parse_UnknownTypeMessageNamesTheType()
    {
        var e = Assert.Throws<CgroupException>(() => DeviceRule.Parse("x 1:2 rwm"));
        Assert.Contains("'x'", e.Message);
        Assert.Contains("'x 1:2 rwm'", e.Message);
    }

    [Theory]
    [InlineData("c 10:200 rwm")]
    [InlineData("b 8:* r")]
    [InlineData("a *:* rwm")]
    [InlineData("c *:* m")]
    [InlineData("c 136:* rw")]
    [InlineData("b 7:0 wm")]
    public void ToKernelString_RoundTrips(string text)
    {
        Assert.Equal(text, DeviceRule.Parse(text).ToKernelString());
        Assert.Equal(text, DeviceRule.Parse("deny " + text).ToKernelString());
    }

    [Fact]
    public void ToKernelString_UsesCanonicalAccessOrder() =>
        Assert.Equal("c 1:3 rwm", DeviceRule.Parse("c 1:3 mwr").ToKernelString());

    [Fact]
    public void ToString_SaysAllowOrDeny()
    {
        Assert.Equal("allow c 1:3 rwm", DeviceRule.Parse("c 1:3 rwm").ToString());
        Assert.Equal("deny a *:* rwm", DeviceRule.Parse("deny a").ToString());
    }

    [Theory]
    [InlineData("r", DeviceAccess.Read)]
    [InlineData("wm", DeviceAccess.Write | DeviceAccess.Mknod)]
    [InlineData("rrw", DeviceAccess.Read | DeviceAccess.Write)]
    public void ParseAccess(string? text, DeviceAccess expected) =>
        Assert.Equal(expected, DeviceRule.ParseAccess(text, "input"));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void ParseAccess_EmptyIsAnError_NotTheWidestGrant(string? text)
    {
        var e = Assert.Throws<CgroupException>(() => DeviceRule.ParseAccess(text, "input"));
        Assert.Equal(ErrorIds.InvalidDeviceRule, e.ErrorId);
        Assert.Contains("access is empty", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromOci_MissingTypeAndNumbersMeanAll()
    {
        var rule = DeviceRule.FromOci(new LinuxDeviceCgroup { Allow = false, Access = "rwm" });
        Assert.Equal(new DeviceRule(false, 'a', -1, -1, DeviceAccess.All), rule);
        Assert.Equal("a *:* rwm", rule.ToKernelString());
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData("c", "")]
    public void FromOci_MissingAccessIsAnError_AsInRuncSpecconv(string? type, string? access)
    {
        // runc (libcontainer/specconv CreateCgroupConfig): "device access at %d field cannot be empty".
        var e = Assert.Throws<CgroupException>(() => DeviceRule.FromOci(new LinuxDeviceCgroup { Allow = true, Type = type, Major = 1, Minor = 3, Access = access }));
        Assert.Equal(ErrorIds.InvalidDeviceRule, e.ErrorId);
    }

    [Fact]
    public void FromOci_FullRule()
    {
        var rule = DeviceRule.FromOci(new LinuxDeviceCgroup { Allow = true, Type = "c", Major = 10, Minor = 200, Access = "rw" });
        Assert.Equal(new DeviceRule(true, 'c', 10, 200, DeviceAccess.Read | DeviceAccess.Write), rule);
    }

    [Fact]
    public void FromOci_MinusOneIsTheWildcard()
    {
        var rule = DeviceRule.FromOci(new LinuxDeviceCgroup { Allow = true, Type = "b", Major = 253, Minor = -1, Access = "rwm" });
        Assert.Equal("b 253:* rwm", rule.ToKernelString());
    }

    public static TheoryData<string?, long?, long?, string?> BadOci => new()
    {
        { "x", 1, 2, "rwm" },        // unknown type
        { "cc", 1, 2, "rwm" },       // not one letter
        { "c", -2, 0, "rwm" },       // negative major
        { "c", 1, -5, "rwm" },       // negative minor
        { "c", 4294967296, 0, "rwm" }, // beyond 32 bits
        { "c", 1, 3, "rwq" },        // bad access letter
        { "b", 8, 0, "RW" },
    };

    [Theory]
    [MemberData(nameof(BadOci))]
    public void FromOci_RejectsWithInvalidDeviceRule(string? type, long? major, long? minor, string? access)
    {
        var e = Assert.Throws<CgroupException>(() =>
            DeviceRule.FromOci(new LinuxDeviceCgroup { Allow = true, Type = type, Major = major, Minor = minor, Access = access }));
        Assert.Equal(ErrorIds.InvalidDeviceRule, e.ErrorId);
    }

    [Theory]
    [InlineData("c 10:200 rwm")]
    [InlineData("deny b 8:* r")]
    [InlineData("a")]
    public void ToOci_RoundTrips(string text)
    {
        var rule = DeviceRule.Parse(text);
        Assert.Equal(rule, DeviceRule.FromOci(rule.ToOci()));
    }

    [Fact]
    public void ToOci_WildcardsBecomeNull()
    {
        var oci = DeviceRule.Parse("b 8:* r").ToOci();
        Assert.Equal("b", oci.Type);
        Assert.Equal(8, oci.Major);
        Assert.Null(oci.Minor);
        Assert.Equal("r", oci.Access);
    }
}
