using System.Collections;
using System.Management.Automation;
using System.Text;
using System.Text.Json;

namespace KataCgroups.PowerShell.Internal;

/// <summary>
/// Turns what a user passes as <c>-Resources</c> — JSON text, a hashtable, or <c>ConvertFrom-Json</c> output —
/// into JSON text the engine parses with the runtime-spec field names.
/// </summary>
internal static class JsonInput
{
    public static string ToJson(object input)
    {
        var value = input is PSObject pso && pso.BaseObject is string str ? str : input;
        if (value is string s) return s;
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
            Write(w, input, 0);
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static void Write(Utf8JsonWriter w, object? value, int depth)
    {
        // The JSON parser's own bound (OciConfig.MaxDepth); a self-referencing object would otherwise never end.
        if (depth > KataCgroups.Resources.OciConfig.MaxDepth)
            throw new KataCgroups.Errors.CgroupException(KataCgroups.Errors.ErrorIds.InvalidOciConfig, KataCgroups.Errors.CgroupErrorKind.InvalidArgument,
                $"invalid OCI resources in -Resources: the object is nested more than {KataCgroups.Resources.OciConfig.MaxDepth} levels deep", "-Resources");
        if (value is PSObject pso)
        {
            if (pso.BaseObject is PSCustomObject)
            {
                w.WriteStartObject();
                foreach (var p in pso.Properties)
                {
                    if (p.MemberType is not (PSMemberTypes.NoteProperty or PSMemberTypes.Property)) continue;
                    w.WritePropertyName(p.Name);
                    Write(w, p.Value, depth + 1);
                }
                w.WriteEndObject();
                return;
            }
            value = pso.BaseObject;
        }
        switch (value)
        {
            case null: w.WriteNullValue(); break;
            case string s: w.WriteStringValue(s); break;
            case bool b: w.WriteBooleanValue(b); break;
            case char c: w.WriteStringValue(c.ToString()); break;
            case byte or sbyte or short or ushort or int or uint or long:
                w.WriteNumberValue(Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture)); break;
            case ulong ul: w.WriteNumberValue(ul); break;
            case float or double or decimal:
                w.WriteNumberValue(Convert.ToDecimal(value, System.Globalization.CultureInfo.InvariantCulture)); break;
            case IDictionary d:
                w.WriteStartObject();
                foreach (DictionaryEntry e in d)
                {
                    w.WritePropertyName(Convert.ToString(e.Key, System.Globalization.CultureInfo.InvariantCulture) ?? "");
                    Write(w, e.Value, depth + 1);
                }
                w.WriteEndObject();
                break;
            case IEnumerable list:
                w.WriteStartArray();
                foreach (var item in list) Write(w, item, depth + 1);
                w.WriteEndArray();
                break;
            default:
                w.WriteStringValue(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture));
                break;
        }
    }
}
