using KataCgroups.Errors;
using KataCgroups.Paths;

namespace KataCgroups.Tests.Paths;

/// <summary>The Kata path rule table (kata utils.go RenameCgroupPath / ValidCgroupPath).</summary>
public class KataPathTests
{
    [Theory]
    // worked examples of RenameCgroupPath / ValidCgroupPath
    [InlineData("", "/kata_vc")]
    [InlineData("/kubepods/pod1/abc", "/kubepods/pod1/kata_abc")]
    [InlineData("foo/bar", "/vc/foo/kata_bar")]
    [InlineData("../../etc", "/vc/kata_etc")]
    // relative paths: Rename(Join("/vc", Clean("/" + p))) — cleaning keeps them under /vc
    [InlineData(".", "/kata_vc")]
    [InlineData("./", "/kata_vc")]
    [InlineData("..", "/kata_vc")]
    [InlineData("foo", "/vc/kata_foo")]
    [InlineData("foo/", "/vc/kata_foo")]
    [InlineData("foo//bar", "/vc/foo/kata_bar")]
    [InlineData("foo/./bar/../baz", "/vc/foo/kata_baz")]
    [InlineData("a/../../../b", "/vc/kata_b")]
    [InlineData("kata_x", "/vc/kata_kata_x")]
    // absolute paths: Rename(Clean(p))
    [InlineData("/", "/kata_")]
    [InlineData("//", "/kata_")]
    [InlineData("/abc", "/kata_abc")]
    [InlineData("//kubepods//pod1///abc", "/kubepods/pod1/kata_abc")]
    [InlineData("/kubepods/pod1/abc/", "/kubepods/pod1/kata_abc")]
    [InlineData("/kubepods/../../etc/x", "/etc/kata_x")]
    [InlineData("/../..", "/kata_")]
    [InlineData("/a/./b/../c", "/a/kata_c")]
    // not systemd form (wrong number of parts, empty part, no .slice): ordinary names outside systemd mode
    [InlineData("system.slice:abc", "/vc/kata_system.slice:abc")]
    [InlineData("system.slice::abc", "/vc/kata_system.slice::abc")]
    [InlineData("system:kata:abc", "/vc/kata_system:kata:abc")]
    [InlineData("a.slice:b:c:d", "/vc/kata_a.slice:b:c:d")]
    public void Validate_CgroupfsPaths(string input, string expected)
    {
        Assert.Equal(expected, KataPath.Validate(input));
    }

    [Theory]
    [InlineData("system.slice:kata:abc")]
    [InlineData("kubepods-besteffort.slice:cri-containerd:abc")]
    [InlineData("kubepods-burstable-pod1.slice:cri-containerd:0123456789abcdef")]
    [InlineData("-.slice:kata:abc")]
    [InlineData("machine.slice:kata:child.slice")]
    public void Validate_SystemdFormIsReturnedUnchanged(string input)
    {
        Assert.Equal(input, KataPath.Validate(input, systemd: false));
        Assert.Equal(input, KataPath.Validate(input, systemd: true));
    }

    [Theory]
    [InlineData("system.slice:abc")]           // two parts
    [InlineData("system.slice::abc")]          // empty part
    [InlineData(":kata:abc")]                  // empty slice
    [InlineData("system.slice:kata:")]         // empty name
    [InlineData("system:kata:abc")]            // slice not ending in .slice
    [InlineData("a.slice:b:c:d")]              // four parts
    [InlineData("")]                           // the empty path
    [InlineData("/kubepods/pod1/abc")]         // a cgroupfs path
    [InlineData("foo/bar")]
    public void Validate_SystemdModeRejectsNonSystemdPathsWithTheUpstreamMessage(string input)
    {
        var e = Assert.Throws<CgroupException>(() => KataPath.Validate(input, systemd: true));
        Assert.Equal(ErrorIds.MalformedSystemdPath, e.ErrorId);
        Assert.Equal(CgroupErrorKind.InvalidArgument, e.Kind);
        Assert.Equal($"malformed systemd path '{input}': expected to be of form 'slice:prefix:name'", e.Message);
        Assert.Equal(input, e.Target);
    }

    [Theory]
    [InlineData("a--b.slice:kata:abc")]        // empty slice component
    [InlineData("-a.slice:kata:abc")]
    [InlineData("a-.slice:kata:abc")]
    [InlineData(".slice:kata:abc")]            // slice with no name
    [InlineData("system.slice:ka/ta:abc")]     // '/' in a part
    [InlineData("system.slice:kata:a/b")]
    [InlineData("sys/tem.slice:kata:abc")]
    [InlineData("/x/system.slice:kata:abc")]   // three parts, the first ends in .slice: systemd form with a '/'
    public void Validate_SystemdFormWithBadPartsIsMalformedInBothModes(string input)
    {
        foreach (var systemd in new[] { false, true })
        {
            var e = Assert.Throws<CgroupException>(() => KataPath.Validate(input, systemd));
            Assert.Equal(ErrorIds.MalformedSystemdPath, e.ErrorId);
            Assert.StartsWith("malformed systemd path '", e.Message);
        }
    }

    [Theory]
    [InlineData("system.slice:kata:a/b")]
    [InlineData("system.slice:ka/ta:abc")]
    public void Validate_MalformedSystemdErrorQuotesTheWholePath(string input)
    {
        // The user gave the whole slice:prefix:name string; the message must quote that, not a part of it.
        var e = Assert.Throws<CgroupException>(() => KataPath.Validate(input, systemd: true));
        Assert.StartsWith($"malformed systemd path '{input}': ", e.Message);
        Assert.Equal(input, e.Target);
    }

    [Theory]
    [InlineData("a--b.slice:kata:abc")]
    [InlineData(".slice:kata:abc")]
    [InlineData("-a.slice:kata:abc")]
    public void Validate_BadSliceErrorQuotesTheWholePath(string input)
    {
        var e = Assert.Throws<CgroupException>(() => KataPath.Validate(input, systemd: true));
        Assert.Equal(ErrorIds.MalformedSystemdPath, e.ErrorId);
        Assert.StartsWith($"malformed systemd path '{input}': ", e.Message);
        Assert.Equal(input, e.Target);
    }

    [Theory]
    [InlineData("foo\0bar")]
    [InlineData("/kubepods/pod1/a\nb")]
    [InlineData("\t")]
    [InlineData("a\u007f")]
    [InlineData("system.slice:kata:ab\0c")]
    [InlineData("a\u0085b")]
    public void Validate_ControlCharactersAreInvalidCgroupPath(string input)
    {
        foreach (var systemd in new[] { false, true })
        {
            var e = Assert.Throws<CgroupException>(() => KataPath.Validate(input, systemd));
            Assert.Equal(ErrorIds.InvalidCgroupPath, e.ErrorId);
            Assert.Equal(CgroupErrorKind.InvalidArgument, e.Kind);
            Assert.Equal(input, e.Target);
            // the message shows the character escaped, never raw
            Assert.DoesNotContain('\0', e.Message);
            Assert.DoesNotContain('\n', e.Message);
        }
    }

    [Fact]
    public void Validate_NulIsShownEscapedInTheMessage()
    {
        var e = Assert.Throws<CgroupException>(() => KataPath.Validate("foo\0bar"));
        Assert.Contains("foo\\x00bar", e.Message);
    }

    [Fact]
    public void Validate_LeafOfExactly255BytesAfterThePrefixIsAccepted()
    {
        var name = new string('a', KataPath.NameMax - KataPath.Prefix.Length); // kata_ + 250 = 255 bytes
        Assert.Equal("/" + KataPath.Prefix + name, KataPath.Validate("/" + name));
    }

    [Theory]
    [InlineData(251, "")]       // kata_ + 251 = 256 bytes in the leaf
    [InlineData(256, "/leaf")]  // an intermediate component of 256 bytes
    public void Validate_ComponentsLongerThanNameMaxAreInvalidCgroupPath(int length, string suffix)
    {
        var path = "/" + new string('a', length) + suffix;
        var e = Assert.Throws<CgroupException>(() => KataPath.Validate(path));
        Assert.Equal(ErrorIds.InvalidCgroupPath, e.ErrorId);
        Assert.Contains("255", e.Message);
    }

    [Fact]
    public void Validate_ComponentLengthIsCountedInUtf8Bytes()
    {
        // 'é' is two bytes in UTF-8: 126 of them make 252 bytes + kata_ = 257 > 255, though only 131 chars.
        var e = Assert.Throws<CgroupException>(() => KataPath.Validate("/" + new string('é', 126)));
        Assert.Equal(ErrorIds.InvalidCgroupPath, e.ErrorId);
        Assert.Equal("/kata_" + new string('é', 125), KataPath.Validate("/" + new string('é', 125)));
    }

    [Fact]
    public void Validate_NullIsAnArgumentError() =>
        Assert.Throws<ArgumentNullException>(() => KataPath.Validate(null!));

    [Theory]
    [InlineData("/a/b", "/a/kata_b")]
    [InlineData("a", "kata_a")]
    [InlineData("/vc", "/kata_vc")]
    [InlineData("/", "/kata_")]
    [InlineData("a/b/", "a/b/kata_b")]
    public void Rename_IsJoinDirKataBase(string input, string expected) =>
        Assert.Equal(expected, KataPath.Rename(input));

    [Fact]
    public void Rename_EmptyIsAnError()
    {
        var e = Assert.Throws<CgroupException>(() => KataPath.Rename(""));
        Assert.Equal(ErrorIds.InvalidCgroupPath, e.ErrorId);
    }

    [Theory]
    [InlineData("/vc/kata_foo", "/vc/foo")]
    [InlineData("/kata_vc", "/vc")]
    [InlineData("/kubepods/pod1/kata_abc", "/kubepods/pod1/abc")]
    [InlineData("/vc/kata_kata_x", "/vc/kata_x")]
    public void ToRequestedPath_StripsThePrefix(string cgroupPath, string expected) =>
        Assert.Equal(expected, KataPath.ToRequestedPath(cgroupPath));

    [Theory]
    [InlineData("/vc/foo")]
    [InlineData("/vc")]
    [InlineData("/vc/Kata_foo")]
    [InlineData("/kata")]
    public void ToRequestedPath_IsNullForNonKataLeaves(string cgroupPath) =>
        Assert.Null(KataPath.ToRequestedPath(cgroupPath));

    public static TheoryData<string> RoundTripInputs => new()
    {
        "", ".", "..", "foo", "foo/bar", "../../etc", "foo//bar/", "a/./b/../c", "kata_x", "kata_",
        "/kubepods/pod1/abc", "//kubepods//pod1///abc", "/a/../b", "/kata_vc", "/vc/foo", "/x/y/z/",
        "system.slice:abc", "sandbox-" + new string('z', 200),
    };

    [Theory]
    [MemberData(nameof(RoundTripInputs))]
    public void RoundTrip_ValidateOfRequestedPathGivesTheSameCgroup(string p)
    {
        var valid = KataPath.Validate(p);
        var requested = KataPath.ToRequestedPath(valid);
        Assert.NotNull(requested);
        Assert.Equal(valid, KataPath.Validate(requested!));
    }

    [Fact]
    public void RoundTrip_RootPath()
    {
        // Validate("/") = Rename("/") = "/kata_" (Go gives the same); its requested path must be "/" again.
        var valid = KataPath.Validate("/");
        Assert.Equal("/kata_", valid);
        var requested = KataPath.ToRequestedPath(valid);
        Assert.Equal("/", requested);
        Assert.Equal(valid, KataPath.Validate(requested!));
    }
}
