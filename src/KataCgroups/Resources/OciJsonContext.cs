using System.Text.Json;
using System.Text.Json.Serialization;

namespace KataCgroups.Resources;

/// <summary>Source-generated serializer for the OCI records (no reflection at import time).</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, WriteIndented = true,
    ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true)]
[JsonSerializable(typeof(LinuxResources))]
internal sealed partial class OciJsonContext : JsonSerializerContext
{
}
