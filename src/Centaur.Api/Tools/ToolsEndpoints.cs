using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Centaur.Api.Auth;
using Centaur.Api.Errors;
using Centaur.Api.Overlay;
using Centaur.Api.Personas;
using Centaur.Sdk;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace Centaur.Api.Tools;

internal sealed record ToolListing(string Name, string Description, string Source, IReadOnlyList<ToolMethodListing> Methods);

internal sealed record ToolMethodListing(string Name, string Description, JsonObject ArgumentsSchema);

/// <summary>
/// The tool gateway. A sandbox calls POST /tools/{tool}/{method} with its sbx1 token. The call is checked (name,
/// the thread persona's allowed tools, the arguments against the method's schema) before anything happens, then
/// written to the side-effect ledger BEFORE it runs (so a turn whose sandbox dies afterwards is not blindly
/// replayed), and audited after it ran, whatever the outcome.
/// </summary>
internal static class ToolsEndpoints
{
    public static RouteGroupBuilder MapTools(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/tools").WithTags("Tools");
        var anyCaller = new AuthorizationPolicyBuilder(ApiKeyAuthenticationHandler.SchemeName, SandboxTokenAuthenticationHandler.SchemeName)
            .RequireAuthenticatedUser().Build();
        group.MapGet("/", ListAsync).RequireAuthorization(anyCaller);
        group.MapGet("/agents-md", AgentsMarkdownAsync).RequireAuthorization(AuthExtensions.SandboxPolicy);
        group.MapPost("/{tool}/{method}", CallAsync).RequireAuthorization(AuthExtensions.SandboxPolicy);
        return group;
    }

    /// <summary>Every tool with its methods' schemas; a sandbox sees only what its thread's persona may call.</summary>
    private static async Task<Ok<IReadOnlyList<ToolListing>>> ListAsync(
        HttpContext context, ExtensionCatalog catalog, NpgsqlDataSource db, CancellationToken cancellationToken)
    {
        var snapshot = catalog.Current;
        var persona = context.User.FindFirst(SandboxTokenAuthenticationHandler.ThreadClaim) is { } thread
            ? snapshot.FindPersona((await CallerInfo.LoadAsync(db, thread.Value, cancellationToken)).Persona)
            : null;
        return TypedResults.Ok(Listing(snapshot, persona));
    }

    internal static IReadOnlyList<ToolListing> Listing(ExtensionSnapshot snapshot, Persona? persona) =>
        [.. snapshot.Tools.Values.OrderBy(t => t.Item.Name, StringComparer.Ordinal)
            .Select(t => new ToolListing(t.Item.Name, t.Item.Description, t.Source,
                [.. t.Item.Methods.Where(m => persona?.Allows(t.Item.Name, m.Name) ?? true)
                    .Select(m => new ToolMethodListing(m.Name, m.Description, m.ArgumentsSchema))]))
            .Where(t => t.Methods.Count > 0)];

    /// <summary>
    /// What the sandbox appends to workspace/AGENTS.md for its thread: the org overlay's prompt, the persona's prompt
    /// and a generated "Tools" section. <c>?format=json</c> gives the same as prompt layers plus the persona's defaults.
    /// </summary>
    private static async Task<IResult> AgentsMarkdownAsync(
        HttpContext context, ExtensionCatalog catalog, NpgsqlDataSource db, CancellationToken cancellationToken, string? format = null)
    {
        var snapshot = catalog.Current;
        var threadKey = context.User.FindFirst(SandboxTokenAuthenticationHandler.ThreadClaim)!.Value;
        var persona = snapshot.FindPersona((await CallerInfo.LoadAsync(db, threadKey, cancellationToken)).Persona);
        var layers = PromptLayers.For(snapshot, persona);
        if (format == "json")
        {
            return TypedResults.Ok(new JsonObject
            {
                ["persona"] = persona?.Name,
                ["harness"] = persona?.Harness,
                ["model"] = persona?.Model,
                ["prompt_layers"] = new JsonArray([.. layers.Select(l => (JsonNode)new JsonObject { ["name"] = l.Name, ["text"] = l.Text })]),
                ["skills"] = new JsonArray([.. snapshot.Skills.Values.Select(s => (JsonNode)new JsonObject { ["name"] = s.Name, ["source"] = s.Source })]),
            });
        }

        return TypedResults.Text(string.Join("\n\n", layers.Select(l => l.Text.TrimEnd())) + "\n", "text/markdown; charset=utf-8");
    }

    private static async Task<Results<Ok<JsonObject>, ProblemHttpResult>> CallAsync(
        string tool, string method, HttpContext context, ExtensionCatalog catalog, NpgsqlDataSource db, ToolEgress egress,
        ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        if (!IsToolName(tool) || !IsToolName(method))
        {
            return Problems.BadRequest("invalid_tool_name", "tool and method names are 1-64 characters of a-z, 0-9, '_' and '-'", IsToolName(tool) ? "method" : "tool");
        }

        var threadKey = context.User.FindFirst(SandboxTokenAuthenticationHandler.ThreadClaim)!.Value;
        var sandboxId = context.User.FindFirst(SandboxTokenAuthenticationHandler.SandboxClaim)!.Value;
        var started = Stopwatch.GetTimestamp();
        var audit = new ToolAudit(db, threadKey, sandboxId, tool, method);

        var snapshot = catalog.Current;
        var target = snapshot.FindMethod(tool, method);
        if (target is null)
        {
            await audit.WriteAsync("unknown", null, started);
            return Problems.NotFound("unknown_tool", snapshot.Tools.ContainsKey(tool)
                ? $"tool {tool} has no method {method}; it has {string.Join(", ", snapshot.Tools[tool].Item.Methods.Select(m => m.Name))}"
                : $"no tool {tool}; GET /tools lists them");
        }

        var caller = await CallerInfo.LoadAsync(db, threadKey, cancellationToken);
        var persona = snapshot.FindPersona(caller.Persona);
        if (persona is not null && !persona.Allows(tool, method))
        {
            await audit.WriteAsync("not_allowed", null, started);
            return Problems.Create(StatusCodes.Status403Forbidden, "tool_not_allowed",
                $"the persona '{persona.Name}' of this thread may not call {tool}.{method}; it may call {string.Join(", ", persona.AllowedTools!)}");
        }

        JsonObject args;
        try
        {
            var body = await JsonNode.ParseAsync(context.Request.Body, cancellationToken: cancellationToken);
            args = body switch
            {
                null => [],
                JsonObject o => o,
                _ => throw new JsonException($"got {body.GetValueKind()}"),
            };
        }
        catch (JsonException ex)
        {
            await audit.WriteAsync("bad_arguments", null, started);
            return Problems.BadRequest("invalid_json", $"the arguments must be a JSON object: {ex.Message}", "arguments");
        }

        if (ToolSchema.Check(target.ArgumentsSchema, args) is { } invalid)
        {
            await audit.WriteAsync("bad_arguments", null, started);
            return Problems.BadRequest("invalid_arguments", invalid.Message, invalid.Field);
        }

        var (executionId, turnId) = await RecordEffectAsync(db, threadKey, $"{tool}.{method}", cancellationToken);
        await egress.EnsureReadyAsync(cancellationToken);
        var upstream = new Lazy<HttpClient>(() => egress.Create(threadKey, sandboxId));
        var outcome = "ok";
        try
        {
            var toolContext = new ToolContext(upstream)
            {
                ThreadKey = threadKey,
                SandboxId = sandboxId,
                ExecutionId = executionId,
                TurnId = turnId,
                Author = caller.Author,
                Persona = persona?.Name,
                Services = context.RequestServices,
            };
            var result = await target.InvokeAsync(toolContext, args, cancellationToken);
            return TypedResults.Ok(new JsonObject { ["result"] = result });
        }
        catch (ToolArgumentException ex)
        {
            outcome = "bad_arguments";
            return Problems.BadRequest("invalid_arguments", ex.Message, ex.Field);
        }
        catch (ToolException ex)
        {
            outcome = ex.Code;
            return Problems.Create(ex.Status, ex.Code, ex.Message);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            outcome = "error";
            ToolsLog.ToolFailed(loggers.CreateLogger("Centaur.Api.Tools"), ex, tool, method, threadKey);
            return Problems.Create(StatusCodes.Status502BadGateway, "tool_failed", $"{tool}.{method} failed; the error is in the API's log");
        }
        finally
        {
            if (upstream.IsValueCreated)
            {
                upstream.Value.Dispose();
            }

            await audit.WriteAsync(outcome, (executionId, turnId), started);
        }
    }

    private static async Task<(long? ExecutionId, string? TurnId)> RecordEffectAsync(NpgsqlDataSource db, string threadKey, string target, CancellationToken cancellationToken)
    {
        const string Sql = """
            INSERT INTO side_effects (thread_key, execution_id, turn_id, source, method, target)
            SELECT @thread_key, s.inflight_execution_id, s.inflight_turn_id, 'tool', 'CALL', @target
            FROM (SELECT 1) one LEFT JOIN sandbox_sessions s ON s.thread_key = @thread_key
            RETURNING execution_id, turn_id
            """;
        await using var command = db.CreateCommand(Sql);
        command.Parameters.AddWithValue("thread_key", threadKey);
        command.Parameters.AddWithValue("target", target);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.IsDBNull(0) ? null : reader.GetInt64(0), reader.IsDBNull(1) ? null : reader.GetString(1));
    }

    internal static bool IsToolName(string value) =>
        value.Length is > 0 and <= 64 && value.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '_');
}
