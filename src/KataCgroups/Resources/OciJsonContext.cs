using System.Text.Json;
using System.Text.Json.Serialization;
using KataCgroups.Errors;

namespace KataCgroups.Resources;

/// <summary>Source-generated serializer for the OCI records (no reflection at import time).</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, WriteIndented = true,
    ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true)]
[JsonSerializable(typeof(LinuxResources))]
internal sealed partial class OciJsonContext : JsonSerializerContext
{
}

/// <summary>
/// Reads <c>linux.resources</c> from JSON text, a runtime-spec <c>config.json</c>, or a bare resources object.
/// </summary>
public static class OciConfig
{
    /// <summary>What a config.json gave us.</summary>
    /// <param name="Resources">Its <c>linux.resources</c> (empty when absent).</param>
    /// <param name="CgroupsPath">Its <c>linux.cgroupsPath</c>, or null.</param>
    public sealed record Parsed(LinuxResources Resources, string? CgroupsPath);

    /// <summary>Parses a bare <c>LinuxResources</c> JSON object.</summary>
    public static LinuxResources ParseResources(string json, string source = "resources JSON")
    {
        try
        {
            using var doc = JsonDocument.Parse(json, DocOptions);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw Invalid(source, "expected a JSON object");
            return Bind(doc.RootElement, source);
        }
        catch (JsonException e)
        {
            throw Invalid(source, e.Message, e);
        }
    }

    /// <summary>
    /// Parses a runtime-spec config.json (an object with <c>linux</c>) or, when the text has no <c>linux</c>
    /// member but looks like resources, a bare <c>LinuxResources</c> object.
    /// </summary>
    public static Parsed ParseConfig(string json, string source = "config.json")
    {
        try
        {
            using var doc = JsonDocument.Parse(json, DocOptions);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw Invalid(source, "expected a JSON object");
            if (!root.TryGetProperty("linux", out var linux))
                return new Parsed(Bind(root, source), null);
            if (linux.ValueKind != JsonValueKind.Object)
                throw Invalid(source, "'linux' must be an object");
            string? cgroupsPath = null;
            if (linux.TryGetProperty("cgroupsPath", out var cp))
            {
                if (cp.ValueKind != JsonValueKind.String)
                    throw Invalid(source, "'linux.cgroupsPath' must be a string");
                cgroupsPath = cp.GetString();
            }
            var resources = linux.TryGetProperty("resources", out var r) && r.ValueKind != JsonValueKind.Null
                ? Bind(r, source + " linux.resources")
                : new LinuxResources();
            return new Parsed(resources, cgroupsPath);
        }
        catch (JsonException e)
        {
            throw Invalid(source, e.Message, e);
        }
    }

    /// <summary>Reads and parses a config.json file.</summary>
    public static Parsed LoadFile(string path)
    {
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new CgroupException(ErrorIds.OciConfigNotFound, CgroupErrorKind.NotFound,
                $"OCI config file '{path}' was not found", path, inner: e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CgroupException(ErrorIds.InvalidOciConfig, CgroupErrorKind.ReadFailed,
                $"cannot read OCI config file '{path}': {e.Message}", path, inner: e);
        }
        return ParseConfig(text, path);
    }

    /// <summary>Serializes resources as runtime-spec JSON.</summary>
    public static string ToJson(LinuxResources resources) =>
        JsonSerializer.Serialize(resources, OciJsonContext.Default.LinuxResources);

    private static readonly JsonDocumentOptions DocOptions = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        MaxDepth = 32,
    };

    private static LinuxResources Bind(JsonElement element, string source)
    {
        if (element.ValueKind != JsonValueKind.Object)
            throw Invalid(source, "resources must be a JSON object");
        try
        {
            return element.Deserialize(OciJsonContext.Default.LinuxResources) ?? new LinuxResources();
        }
        catch (JsonException e)
        {
            // System.Text.Json names the JSON path ($.memory.limit) of the bad value: keep it in the message.
            throw Invalid(source, e.Message, e);
        }
        catch (InvalidOperationException e)
        {
            throw Invalid(source, e.Message, e);
        }
    }

    private static CgroupException Invalid(string source, string why, Exception? inner = null) =>
        new(ErrorIds.InvalidOciConfig, CgroupErrorKind.InvalidArgument, $"invalid OCI resources in {source}: {why}", source, inner: inner);
}
