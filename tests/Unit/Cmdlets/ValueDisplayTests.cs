using KataCgroups.PowerShell;

namespace KataCgroups.Tests.Cmdlets;

/// <summary>The one display of values every view uses: binary units, <c>max</c> for unlimited, empty for unknown.</summary>
public class ValueDisplayTests
{
    [Theory]
    [InlineData(0L, "0 B")]
    [InlineData(1000L, "1000 B")]
    [InlineData(4096L, "4 KiB")]
    [InlineData(268435456L, "256 MiB")]
    [InlineData(1610612736L, "1.5 GiB")]
    [InlineData(1099511627776L, "1 TiB")]
    [InlineData(-1L, "max")]
    public void Bytes_in_the_largest_binary_unit_and_max_for_unlimited(long bytes, string shown)
    {
        using var _ = new InvariantCulture();
        Assert.Equal(shown, ValueDisplay.Bytes(bytes));
    }

    [Fact]
    public void Unknown_is_empty_and_limits_and_quotas_say_max()
    {
        Assert.Equal("", ValueDisplay.Bytes(null));
        Assert.Equal("", ValueDisplay.Limit(null));
        Assert.Equal("max", ValueDisplay.Limit(-1));
        Assert.Equal("64", ValueDisplay.Limit(64));
        Assert.Equal("max", ValueDisplay.Quota(-1, 100000));
        Assert.Equal("50000/100000", ValueDisplay.Quota(50000, 100000));
        Assert.Equal("", ValueDisplay.Quota(null, 100000));
        Assert.Equal("12, 34", ValueDisplay.List(new[] { 12, 34 }));
        Assert.Equal("a; b", ValueDisplay.List(new[] { "a", "b" }, "; "));
        Assert.Equal("", ValueDisplay.List(null));
    }

    private sealed class InvariantCulture : IDisposable
    {
        private readonly System.Globalization.CultureInfo _saved = System.Globalization.CultureInfo.CurrentCulture;
        public InvariantCulture() => System.Globalization.CultureInfo.CurrentCulture = System.Globalization.CultureInfo.InvariantCulture;
        public void Dispose() => System.Globalization.CultureInfo.CurrentCulture = _saved;
    }
}
