using Centaur.Api.Auth;
using Centaur.Api.Overlay;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Centaur.Api.Personas;

/// <summary>A persona as clients see it: never the prompt text itself, only its hash.</summary>
internal sealed record PersonaListing(
    string Name, string Description, string? Harness, string? Model, IReadOnlyList<string>? AllowedTools, string Source, string PromptSha256);

internal static class PersonasEndpoints
{
    public static RouteGroupBuilder MapPersonas(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/personas").WithTags("Personas").RequireAuthorization(AuthExtensions.AgentPolicy);
        group.MapGet("/", List);
        return group;
    }

    private static Ok<IReadOnlyList<PersonaListing>> List(ExtensionCatalog catalog) =>
        TypedResults.Ok<IReadOnlyList<PersonaListing>>([.. catalog.Current.Personas.Values.OrderBy(p => p.Name, StringComparer.Ordinal)
            .Select(p => new PersonaListing(p.Name, p.Description, p.Harness, p.Model, p.AllowedTools, p.Source, p.PromptSha256))]);
}
