using System.Management.Automation;
using KataCgroups.PowerShell.Internal;

namespace KataCgroups.Tests.Cmdlets;

/// <summary>What limit parameters accept before the binder sees them.</summary>
public class LimitTransformationTests
{
    private static object? Transform(object? input) => new LimitTransformationAttribute().Transform(null!, input);

    [Theory]
    [InlineData("max", -1L)]
    [InlineData("MAX", -1L)]
    [InlineData(" unlimited ", -1L)]
    [InlineData("512MB", 536870912L)]
    [InlineData("512mb", 536870912L)]
    [InlineData("512 MB", 536870912L)]
    [InlineData("1g", 1073741824L)]
    [InlineData("1GB", 1073741824L)]
    [InlineData("64K", 65536L)]
    [InlineData("2TB", 2199023255552L)]
    [InlineData("1PB", 1125899906842624L)]
    [InlineData("4096", 4096L)]
    [InlineData("-1", -1L)]
    public void Strings(string input, long expected) => Assert.Equal(expected, Transform(input));

    [Fact]
    public void WrappedStringsToo() => Assert.Equal(-1L, Transform(new PSObject("max")));

    [Theory]
    [InlineData("1.5GB")]   // PowerShell converts these itself
    [InlineData("")]
    public void WhatPowerShellConvertsPassesThroughToTheBinder(string input) => Assert.Equal(input, Transform(input));

    [Theory]
    [InlineData("lots")]
    [InlineData("12B")]
    [InlineData("1 024")]
    public void AnythingElseNamesTheAcceptedForms(string input)
    {
        var bytes = Assert.Throws<ArgumentTransformationMetadataException>(() => new LimitTransformationAttribute { Bytes = true }.Transform(null!, input));
        Assert.Contains($"'{input}' is not a size", bytes.Message);
        foreach (var form in new[] { "256MB", "max", "unlimited", "-1" }) Assert.Contains(form, bytes.Message);
        var count = Assert.Throws<ArgumentTransformationMetadataException>(() => Transform(input));
        Assert.Contains($"'{input}' is not a limit", count.Message);
        Assert.DoesNotContain("MB", count.Message);
    }

    [Fact]
    public void NumbersPassThrough()
    {
        Assert.Equal(268435456L, Transform(268435456L));
        Assert.Equal(5, Transform(5));
        Assert.Null(Transform(null));
    }

    [Fact]
    public void OverflowIsATransformationError() =>
        Assert.Throws<ArgumentTransformationMetadataException>(() => Transform("9000000PB"));
}
