using System.Text;
using CsCheck;
using KataCgroups.Errors;
using KataCgroups.Resources;

namespace KataCgroups.Tests.Properties;

/// <summary>
/// Hostile runtime-spec JSON: random documents built from the spec's own field names and arbitrary values, and
/// random text, are either read or refused with InvalidOciConfig; nothing else ever escapes the parser.
/// </summary>
public sealed class JsonProperties
{
    private static readonly string[] Names =
    {
        "memory", "cpu", "pids", "devices", "blockIO", "hugepageLimits", "network", "rdma", "unified", "limit", "swap", "reservation",
        "shares", "quota", "period", "cpus", "mems", "allow", "type", "major", "minor", "access", "weight", "pageSize", "classID",
        "priorities", "name", "priority", "hcaHandles", "hcaObjects", "linux", "resources", "cgroupsPath", "x",
    };

    private static readonly Gen<string> Scalar = Gen.OneOf(
        Gen.OneOf("null", "true", "false", "0", "-1", "1e400", "-9223372036854775809", "18446744073709551616", "1.5", "\"\"", "\"a\"", "\"rwm\"", "\"c\"", "[]", "{}"),
        Gen.Long.Select(n => n.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        Gen.String[Gen.Char, 0, 8].Select(s => System.Text.Json.JsonSerializer.Serialize(s)));

    private static Gen<string> Value(int depth) => depth <= 0 ? Scalar : Gen.Frequency(
        (3, Scalar),
        (2, Gen.Select(Gen.OneOf(Names), Gen.Int[0, 3]).Array[0, 5]
            .SelectMany(keys => Value(depth - 1).Array[keys.Length].Select(vals =>
            {
                var sb = new StringBuilder("{");
                for (int i = 0; i < keys.Length; i++) sb.Append(i > 0 ? "," : "").Append('"').Append(keys[i].Item1).Append("\":").Append(vals[i]);
                return sb.Append('}').ToString();
            }))),
        (1, Value(depth - 1).Array[0, 4].Select(items => "[" + string.Join(",", items) + "]")));

    private static void ReadOrRefuse(string json)
    {
        try { OciConfig.ParseResources(json); }
        catch (CgroupException e) { Assert.True(e.ErrorId is ErrorIds.InvalidOciConfig or ErrorIds.InvalidDeviceRule or ErrorIds.InvalidResourceValue, e.ErrorId); }
    }

    [Fact]
    public void StructuredHostileJsonIsReadOrRefused() => Value(4).Sample(ReadOrRefuse, iter: Campaign.Iter(20000));

    [Fact]
    public void ArbitraryTextIsReadOrRefused() =>
        Gen.Frequency((1, Gen.String), (1, Value(3).Select(s => s.Length > 2 ? s[..(s.Length / 2)] : s))).Sample(ReadOrRefuse, iter: Campaign.Iter(10000));
}
