using Centaur.Api.Personas;
using Centaur.Sdk;

namespace Centaur.Api.Overlay;

/// <summary>
/// The merged kernel + org extensions at one moment. Immutable: a reload builds a new snapshot and swaps it in, so a
/// call in flight finishes with the tools it started with.
/// </summary>
internal sealed record ExtensionSnapshot(
    int Version,
    string? OverlayPath,
    DateTimeOffset LoadedAt,
    IReadOnlyDictionary<string, CatalogEntry<ITool>> Tools,
    IReadOnlyDictionary<string, CatalogEntry<IWorkflow>> Workflows,
    IReadOnlyDictionary<string, Persona> Personas,
    IReadOnlyDictionary<string, Skill> Skills,
    string? OrgPrompt,
    IReadOnlyList<string> Errors)
{
    public ToolMethod? FindMethod(string tool, string method) =>
        Tools.TryGetValue(tool, out var entry) ? entry.Item.Methods.FirstOrDefault(m => m.Name == method) : null;

    public Persona? FindPersona(string? name) => name is not null && Personas.TryGetValue(name, out var persona) ? persona : null;

    public IWorkflow? FindWorkflow(string name) => Workflows.TryGetValue(name, out var entry) ? entry.Item : null;
}
