using Centaur.Api.Auth;
using Centaur.Api.Errors;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Centaur.Api.Admin;

internal sealed record CreateKeyRequest(string? Name, string[]? Scopes);

internal sealed record CreatedKey(string Name, string Key, string[] Scopes);

internal static class AdminEndpoints
{
    public static RouteGroupBuilder MapAdmin(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/admin").WithTags("Admin").RequireAuthorization(AuthExtensions.AdminPolicy)
            .AddEndpointFilter<TextInputFilter>();
        group.MapPost("/keys", CreateKeyAsync);
        group.MapDelete("/keys/{name}", RevokeKeyAsync);
        group.MapPost("/reconcile", async (Sandboxes.ReconcileService reconcile, CancellationToken cancellationToken) =>
            TypedResults.Ok(await reconcile.RunOnceAsync(cancellationToken)));
        return group;
    }

    /// <summary>Creates an API client; the key is in this response only (it is stored hashed).</summary>
    private static async Task<Results<Created<CreatedKey>, ProblemHttpResult>> CreateKeyAsync(
        CreateKeyRequest request, ApiClientStore clients, CancellationToken cancellationToken)
    {
        if (request.Name is null || !Threads.ThreadsEndpoints.IsName(request.Name))
        {
            return Problems.BadRequest("invalid_name", "name must be 1-64 characters of a-z, 0-9, '-' and '_'", "name");
        }

        var scopes = request.Scopes is { Length: > 0 } s ? s : [Scopes.Agent];
        if (scopes.FirstOrDefault(x => !Scopes.All.Contains(x)) is { } unknown)
        {
            return Problems.BadRequest("invalid_scope", $"unknown scope '{unknown}'; known: {string.Join(", ", Scopes.All)}", "scopes");
        }

        try
        {
            var (client, key) = await clients.CreateAsync(request.Name, scopes, cancellationToken);
            return TypedResults.Created($"/admin/keys/{client.Name}", new CreatedKey(client.Name, key, client.Scopes));
        }
        catch (InvalidOperationException)
        {
            return Problems.Conflict("name_taken", $"an API client named '{request.Name}' already exists");
        }
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> RevokeKeyAsync(string name, ApiClientStore clients, CancellationToken cancellationToken) =>
        await clients.RevokeAsync(name, cancellationToken) ? TypedResults.NoContent() : Problems.NotFound("unknown_client", $"no active API client named '{name}'");
}
