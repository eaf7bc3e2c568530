namespace Centaur.Api.Overlay;

/// <summary>Where an extension came from: "kernel" (built into the API) or "org" (the overlay folder).</summary>
internal static class Sources
{
    public const string Kernel = "kernel";
    public const string Org = "org";
}

internal sealed record CatalogEntry<T>(T Item, string Source, string? File = null);

/// <summary>A skill folder (SKILL.md inside) the sandbox copies into workspace/.agents/skills.</summary>
internal sealed record Skill(string Name, string Directory, string Source);
