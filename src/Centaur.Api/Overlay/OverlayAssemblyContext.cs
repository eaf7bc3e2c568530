using System.Reflection;
using System.Runtime.Loader;

namespace Centaur.Api.Overlay;

/// <summary>
/// Loads an overlay's assemblies in a context of their own (collectible, so a reload lets the old ones go). Any
/// assembly the host already has — Centaur.Sdk, the framework, Npgsql — resolves to the host's copy, so an overlay's
/// ITool is the kernel's ITool and a stray copy of the SDK in the overlay folder is ignored.
/// </summary>
internal sealed class OverlayAssemblyContext(string name, IReadOnlyList<string> probeDirectories)
    : AssemblyLoadContext(name, isCollectible: true)
{
    private static readonly Lazy<HashSet<string>> s_hostAssemblies = new(() =>
        [.. ((AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") as string) ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(Path.GetFileNameWithoutExtension).OfType<string>()]);

    public static bool IsHostAssembly(AssemblyName assembly) =>
        assembly.Name is { } name && (s_hostAssemblies.Value.Contains(name)
            || Default.Assemblies.Any(a => a.GetName().Name == name));

    protected override Assembly? Load(AssemblyName assemblyName)
    {
        if (IsHostAssembly(assemblyName))
        {
            return null;
        }

        foreach (var directory in probeDirectories)
        {
            var candidate = Path.Combine(directory, assemblyName.Name + ".dll");
            if (File.Exists(candidate))
            {
                return LoadFromAssemblyPath(candidate);
            }
        }

        return null;
    }
}
