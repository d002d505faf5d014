using KataCgroups.Host;

namespace KataCgroups.Tests.Host;

/// <summary>Rootless detection from the effective uid and uid_map (opencontainers/cgroups fs/fs.go).</summary>
public class RootlessTests
{
    [Theory]
    [InlineData("0 0 4294967295", true)]
    [InlineData("         0          0 4294967295\n", true)]   // as /proc prints it
    [InlineData(null, true)]                                  // no uid_map: kernel without user namespaces
    [InlineData("0 1000 1", false)]                            // rootless podman-style map
    [InlineData("0 0 65536", false)]                           // identity but not the whole range
    [InlineData("0 100000 65536\n65536 1000 1\n", false)]
    [InlineData("0 0 4294967295\n1 2 3\n", false)]
    [InlineData("", false)]                                    // a new namespace before its map is written
    [InlineData("0 0", false)]
    public void IsIdentityUidMap(string? text, bool expected) =>
        Assert.Equal(expected, Rootless.IsIdentityUidMap(text));

    [Fact]
    public void Reason_RootInTheInitialNamespaceIsNotRootless() =>
        Assert.Null(Rootless.Reason(0, "0 0 4294967295"));

    [Fact]
    public void Reason_NonZeroEuid()
    {
        var why = Rootless.Reason(65534, "0 0 4294967295");
        Assert.NotNull(why);
        Assert.Contains("65534", why);
    }

    [Fact]
    public void Reason_RootInAUserNamespace()
    {
        var why = Rootless.Reason(0, "0 1000 1");
        Assert.NotNull(why);
        Assert.Contains("user namespace", why);
    }
}
