using System.Reflection;
using System.Runtime.CompilerServices;

namespace KataCgroups.Tests.Architecture;

/// <summary>
/// No process-wide mutable state in the driver layer (docs/architecture.md): what a driver works with — the opened
/// hierarchy roots, caches of handles, connections — belongs to an instance the facade owns, so two managers (two
/// hosts, a test's fake root beside the real one) never share or overwrite it. Checked on the compiled engine by
/// reflection: in the <c>KataCgroups.Drivers</c> namespaces every static field must be a constant or
/// <c>readonly</c>, and a <c>readonly</c> one may not hold a collection that can be changed (an array, or a
/// <c>List</c>/<c>Dictionary</c>/<c>HashSet</c>/concurrent collection); immutable and frozen collections, strings,
/// regexes and <c>Lazy</c> facts of the process (computed once, never changed) are fine. A static auto-property with
/// a setter is its writable backing field.
/// </summary>
internal static class StaticStateRules
{
    internal const string DriversNamespace = "KataCgroups.Drivers";

    /// <summary>The engine's types in the driver namespaces (compiler-made closure classes left out).</summary>
    internal static IEnumerable<Type> DriverTypes() =>
        typeof(CgroupManager).Assembly.GetTypes().Where(t => t.Namespace is { } ns
            && (ns == DriversNamespace || ns.StartsWith(DriversNamespace + ".", StringComparison.Ordinal)));

    /// <summary>Every static field of <paramref name="types"/> that is mutable state, as "Type.field: why".</summary>
    internal static List<string> Check(IEnumerable<Type> types)
    {
        var violations = new List<string>();
        foreach (var type in types)
        {
            if (IsCompilerGenerated(type)) continue;   // lambda caches (<>c): delegates, made once
            foreach (var f in type.GetFields(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            {
                if (f.IsLiteral) continue;
                var name = $"{type.FullName}.{f.Name}";
                if (!f.IsInitOnly) violations.Add($"{name}: a static field that is not readonly");
                else if (IsMutableCollection(f.FieldType)) violations.Add($"{name}: a static {f.FieldType.Name} whose contents can change");
            }
        }
        return violations;
    }

    private static bool IsCompilerGenerated(Type type)
    {
        for (Type? t = type; t is not null; t = t.DeclaringType)
            if (t.IsDefined(typeof(CompilerGeneratedAttribute), false)) return true;
        return false;
    }

    private static bool IsMutableCollection(Type type) =>
        type.IsArray
        || (!type.IsInterface && type.Namespace is "System.Collections" or "System.Collections.Generic" or "System.Collections.Concurrent");
}
