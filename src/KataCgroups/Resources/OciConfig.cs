using System.Text.Json;
using KataCgroups.Errors;

namespace KataCgroups.Resources;

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
            throw Invalid(source, Where(e), e);
        }
    }

    /// <summary>
    /// Where the JSON stopped being JSON, without the text there: the input may be any file a user pointed at
    /// (a key, a binary), and an error message is no place to echo it.
    /// </summary>
    private static string Where(JsonException e) =>
        // The reader's depth refusal is a JsonException like any syntax error; its message (never the content) is how
        // System.Text.Json tells it apart, and saying "too deep" is what lets a user act on it.
        (e.Message.Contains("maximum configured depth", StringComparison.Ordinal) ? $"nested deeper than {MaxDepth} levels" : "not valid JSON") +
        $" at line {(e.LineNumber ?? 0) + 1}, byte {(e.BytePositionInLine ?? 0) + 1}" +
        (string.IsNullOrEmpty(e.Path) || e.Path == "$" ? "" : $" (in {e.Path})");

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
            throw Invalid(source, Where(e), e);
        }
    }

    /// <summary>
    /// The largest config file read. A runtime-spec config.json is a few kilobytes (hooks and mounts make the
    /// biggest); 16 MiB leaves room for anything real while a mistaken path (a disk image, /dev/zero) is refused
    /// before it is read into memory.
    /// </summary>
    public const int MaxFileBytes = 16 << 20;

    /// <summary>
    /// Reads and parses a config.json file: only a regular file of at most <see cref="MaxFileBytes"/>, checked on the
    /// open descriptor before a byte is read, so a FIFO, a device or a huge file ends at once with
    /// <see cref="ErrorIds.InvalidOciConfig"/>. Errors name the file and the position, never its content.
    /// </summary>
    public static Parsed LoadFile(string path)
    {
        switch (Interop.Libc.TryReadRegularFile(path, MaxFileBytes, out var bytes, out int errno, out int mode, out long size))
        {
            case Interop.Libc.ReadRefusal.Errno when errno is Interop.Errno.ENOENT or Interop.Errno.ENOTDIR:
                throw new CgroupException(ErrorIds.OciConfigNotFound, CgroupErrorKind.NotFound,
                    $"OCI config file '{path}' was not found", path, errno);
            case Interop.Libc.ReadRefusal.Errno:
                throw new CgroupException(ErrorIds.InvalidOciConfig, CgroupErrorKind.ReadFailed,
                    $"cannot read OCI config file '{path}': {Interop.Errno.Describe(errno)}", path, errno);
            case Interop.Libc.ReadRefusal.NotRegular:
                throw new CgroupException(ErrorIds.InvalidOciConfig, CgroupErrorKind.InvalidArgument,
                    $"OCI config file '{path}' is {KindOf(mode)}, not a regular file: refused without reading it", path);
            case Interop.Libc.ReadRefusal.TooLarge:
                throw new CgroupException(ErrorIds.InvalidOciConfig, CgroupErrorKind.InvalidArgument,
                    $"OCI config file '{path}' is larger than {MaxFileBytes >> 20} MiB{(size > MaxFileBytes ? $" ({size} bytes)" : "")}: " +
                    "a runtime-spec config is kilobytes, so it was refused without reading it all", path);
        }
        // A UTF-8 byte order mark is allowed, as File.ReadAllText allowed it.
        var span = bytes.AsSpan();
        if (span.StartsWith("\uFEFF"u8)) span = span[3..];
        return ParseConfig(System.Text.Encoding.UTF8.GetString(span), path);
    }

    private static string KindOf(int mode) => mode switch
    {
        Interop.Libc.S_IFIFO => "a FIFO",
        Interop.Libc.S_IFCHR => "a character device",
        Interop.Libc.S_IFBLK => "a block device",
        Interop.Libc.S_IFDIR => "a directory",
        Interop.Libc.S_IFSOCK => "a socket",
        _ => "not a regular file",
    };

    /// <summary>Serializes resources as runtime-spec JSON.</summary>
    public static string ToJson(LinuxResources resources) =>
        JsonSerializer.Serialize(resources, OciJsonContext.Default.LinuxResources);

    /// <summary>How deeply resources JSON may nest (a runtime-spec resources object is four levels deep).</summary>
    public const int MaxDepth = 32;

    private static readonly JsonDocumentOptions DocOptions = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        MaxDepth = MaxDepth,
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
