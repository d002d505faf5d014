using CsCheck;
using KataCgroups.Errors;
using KataCgroups.Paths;

namespace KataCgroups.Tests.Properties;

/// <summary>
/// Property-based checks of the Kata path rules (Kata's virtcontainers/pkg/cgroups/utils.go) over random and hostile input: whatever the path,
/// it is refused with a path error, or it resolves to a clean absolute path inside the hierarchy whose leaf
/// carries the kata_ prefix, and resolving the user path again gives the same target.
/// </summary>
public sealed class PathProperties
{
    // Characters that matter to path rules, plus arbitrary ones.
    private static readonly Gen<char> PathChar = Gen.Frequency(
        (6, Gen.Char["abc-_.:/"]),
        (2, Gen.Char['a', 'z']),
        (1, Gen.OneOf('\0', '\n', '\t', '\\', '%', ' ', 'é', '\u202e')),
        (1, Gen.Char));

    private static readonly Gen<string> HostilePath = Gen.Frequency(
        (4, PathChar.Array[0, 40].Select(a => new string(a))),
        (2, Gen.OneOf("..", "../", "/..", "//", "./", "%2e%2e/", "..%2f", ".slice", ":", "a.slice:b:c")
            .Array[1, 8].Select(parts => string.Concat(parts))),
        (1, Gen.String));

    [Fact]
    public void AnyPathIsRefusedOrResolvesInsideTheHierarchy() =>
        HostilePath.Sample(path =>
        {
            CgroupTarget t;
            try { t = CgroupTarget.Resolve(path); }
            catch (CgroupException e)
            {
                Assert.True(e.ErrorId is ErrorIds.InvalidCgroupPath or ErrorIds.MalformedSystemdPath, e.ErrorId);
                return;
            }
            var p = t.CgroupPath;
            Assert.StartsWith("/", p);
            Assert.DoesNotContain("//", p);
            Assert.DoesNotContain(p.Split('/'), c => c is ".." or ".");
            Assert.False(KataPath.HasControlCharacter(p), "a control character survived");
            if (t.Systemd is null)
            {
                Assert.StartsWith(KataPath.Prefix, CgroupPathText.Base(p));
                // the rules are a projection: applying them to what they produced changes nothing
                Assert.Equal(p, CgroupTarget.Resolve(t.RequestedPath).CgroupPath);
                // a found directory maps back to a path that resolves to it
                if (CgroupTarget.FromCgroupPath(p) is { } back) Assert.Equal(p, CgroupTarget.Resolve(back.RequestedPath).CgroupPath);
            }
            else
            {
                Assert.True(p.EndsWith(".scope", StringComparison.Ordinal) || p.EndsWith(".slice", StringComparison.Ordinal), p);
                Assert.DoesNotContain(t.Systemd.Slice, c => c == '/');
            }
        }, iter: Campaign.Iter(20000));

    [Fact]
    public void CleanIsIdempotentAndNeverClimbsAboveTheRoot() =>
        HostilePath.Where(p => !KataPath.HasControlCharacter(p)).Sample(path =>
        {
            var once = CgroupPathText.Clean("/" + path);
            Assert.Equal(once, CgroupPathText.Clean(once));
            Assert.StartsWith("/", once);
            Assert.DoesNotContain(once.Split('/'), c => c == "..");
        }, iter: Campaign.Iter(20000));
}
