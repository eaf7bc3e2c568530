using Centaur.Api.Auth;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Centaur.Api.Overlay;

internal sealed record OverlayItem(string Name, string Source, string? File);

internal sealed record OverlaySummary(
    int Version, string? Path, DateTimeOffset LoadedAt, IReadOnlyList<OverlayItem> Tools, IReadOnlyList<OverlayItem> Workflows,
    IReadOnlyList<OverlayItem> Personas, IReadOnlyList<OverlayItem> Skills, bool OrgPrompt, IReadOnlyList<string> Errors);

/// <summary>What is loaded from where (GET /overlay), and picking up overlay changes without a restart (POST /overlay/reload).</summary>
internal static class OverlayEndpoints
{
    public static RouteGroupBuilder MapOverlay(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/overlay").WithTags("Overlay");
        group.MapGet("/", (ExtensionCatalog catalog) => Summary(catalog.Current)).RequireAuthorization(AuthExtensions.AgentPolicy);
        group.MapPost("/reload", (ExtensionCatalog catalog) => Summary(catalog.Reload())).RequireAuthorization(AuthExtensions.AdminPolicy);
        return group;
    }

    private static Ok<OverlaySummary> Summary(ExtensionSnapshot snapshot) => TypedResults.Ok(new OverlaySummary(
        snapshot.Version, snapshot.OverlayPath, snapshot.LoadedAt,
        [.. snapshot.Tools.Values.Select(t => new OverlayItem(t.Item.Name, t.Source, t.File)).OrderBy(i => i.Name, StringComparer.Ordinal)],
        [.. snapshot.Workflows.Values.Select(w => new OverlayItem(w.Item.Name, w.Source, w.File)).OrderBy(i => i.Name, StringComparer.Ordinal)],
        [.. snapshot.Personas.Values.Select(p => new OverlayItem(p.Name, p.Source, null)).OrderBy(i => i.Name, StringComparer.Ordinal)],
        [.. snapshot.Skills.Values.Select(s => new OverlayItem(s.Name, s.Source, null)).OrderBy(i => i.Name, StringComparer.Ordinal)],
        snapshot.OrgPrompt is not null, snapshot.Errors));
}
