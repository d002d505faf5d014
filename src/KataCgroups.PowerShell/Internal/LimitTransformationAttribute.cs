using System.Globalization;
using System.Management.Automation;

namespace KataCgroups.PowerShell.Internal;

/// <summary>
/// Lets limit parameters take what users type: numbers (PowerShell already turns <c>256MB</c> into bytes),
/// <c>max</c>/<c>unlimited</c> for -1, and size strings such as <c>"512MB"</c> or <c>"1g"</c> coming from
/// JSON or CSV. What PowerShell itself converts to a number (<c>"1.5GB"</c>) passes through to the binder; anything
/// else fails here with a message naming the accepted forms, instead of the binder's "cannot convert to Int64".
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
internal sealed class LimitTransformationAttribute : ArgumentTransformationAttribute
{
    /// <summary>The parameter is a size in bytes (the message then offers units); otherwise a count or a time.</summary>
    public bool Bytes { get; set; }

    public override object? Transform(EngineIntrinsics engineIntrinsics, object? inputData)
    {
        var value = inputData is PSObject pso ? pso.BaseObject : inputData;
        if (value is not string s) return inputData;
        s = s.Trim();
        if (s.Equals("max", StringComparison.OrdinalIgnoreCase) || s.Equals("unlimited", StringComparison.OrdinalIgnoreCase))
            return -1L;
        long multiplier = 1;
        var upper = s.ToUpperInvariant();
        foreach (var (suffix, m) in new[] { ("PB", 1L << 50), ("TB", 1L << 40), ("GB", 1L << 30), ("MB", 1L << 20), ("KB", 1L << 10),
                                            ("P", 1L << 50), ("T", 1L << 40), ("G", 1L << 30), ("M", 1L << 20), ("K", 1L << 10) })
        {
            if (upper.EndsWith(suffix, StringComparison.Ordinal))
            {
                multiplier = m;
                s = s[..^suffix.Length].TrimEnd();
                break;
            }
        }
        if (long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n))
        {
            try { return checked(n * multiplier); }
            catch (OverflowException) { throw new ArgumentTransformationMetadataException($"'{inputData}' is too large."); }
        }
        if (LanguagePrimitives.TryConvertTo<long>(value, CultureInfo.InvariantCulture, out _)) return inputData;
        throw new ArgumentTransformationMetadataException(Bytes
            ? $"'{inputData}' is not a size: give a number of bytes (268435456), a size with a unit (256MB, 1GB, '512M', '64k'), or max, unlimited or -1 for no limit."
            : $"'{inputData}' is not a limit: give a number (128), or max, unlimited or -1 for no limit.");
    }
}
