using Centaur.Api.Overlay;
using Centaur.Api.Sandboxes;

namespace Centaur.Api.Tools;

/// <summary>The overlay catalog's prompt layers for sandbox setup (the same text GET /tools/agents-md serves).</summary>
internal sealed class SandboxPrompts(ExtensionCatalog catalog) : ISandboxPrompts
{
    public IReadOnlyList<(string Name, string Text)> LayersFor(string? persona)
    {
        var snapshot = catalog.Current;
        var profile = snapshot.FindPersona(persona);
        if (persona is not null && profile is null)
        {
            throw new SandboxStartException($"there is no persona '{persona}' (GET /personas lists them)", code: "unknown_persona");
        }

        return PromptLayers.For(snapshot, profile);
    }
}
