using System.Management.Automation;
using System.Reflection;
using System.Runtime.Loader;

namespace KataCgroups.PowerShell;

/// <summary>
/// Loads the engine (and its dependencies, e.g. Tmds.DBus.Protocol) from <c>Dependencies/</c> into one private
/// AssemblyLoadContext, so another module's copy of a dependency can never clash with ours
/// (PowerShell-Docs resolving-dependency-conflicts.md, "loading through a custom ALC"). Only the cmdlet
/// assembly lives in the default context; it reaches the engine through the Resolving hook below.
/// </summary>
public sealed class ModuleInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    private static readonly string DependencyDirectory =
        Path.Combine(Path.GetDirectoryName(typeof(ModuleInitializer).Assembly.Location)!, "Dependencies");

    private static readonly DependencyLoadContext Context = new(DependencyDirectory);

    /// <summary>Registers the resolver when the module is imported.</summary>
    public void OnImport() => AssemblyLoadContext.Default.Resolving += ResolveEngine;

    /// <summary>Unregisters it when the module is removed.</summary>
    public void OnRemove(PSModuleInfo psModuleInfo) => AssemblyLoadContext.Default.Resolving -= ResolveEngine;

    private static Assembly? ResolveEngine(AssemblyLoadContext defaultContext, AssemblyName name)
    {
        // Only the engine is resolved through our context; everything it needs then loads there too.
        if (!string.Equals(name.Name, "KataCgroups", StringComparison.Ordinal)) return null;
        return Context.LoadFromAssemblyName(name);
    }

    private sealed class DependencyLoadContext : AssemblyLoadContext
    {
        private readonly string _directory;

        public DependencyLoadContext(string directory) : base("KataCgroups.Dependencies", isCollectible: false) =>
            _directory = directory;

        protected override Assembly? Load(AssemblyName name)
        {
            var path = Path.Combine(_directory, name.Name + ".dll");
            // Not ours (System.*, System.Management.Automation): defer to the default context.
            return File.Exists(path) ? LoadFromAssemblyPath(path) : null;
        }
    }
}
