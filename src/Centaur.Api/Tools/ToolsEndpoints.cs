using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Centaur.Api.Auth;
using Centaur.Api.Errors;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace Centaur.Api.Tools;

internal sealed record ToolListing(string Name, string Description, IReadOnlyList<ToolMethodListing> Methods);

internal sealed record ToolMethodListing(string Name, string Description, JsonObject ArgumentsSchema);

/// <summary>
/// The tool gateway. A sandbox calls POST /tools/{tool}/{method} with its sbx1 token; the call is written to the
/// side-effect ledger BEFORE it runs (so a turn whose sandbox dies afterwards is not blindly replayed) and audited
/// after it ran.
/// </summary>
internal static partial class ToolsEndpoints
{
    public static RouteGroupBuilder MapTools(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/tools").WithTags("Tools");
        group.MapGet("/", List).RequireAuthorization(new Microsoft.AspNetCore.Authorization.AuthorizationPolicyBuilder(
            ApiKeyAuthenticationHandler.SchemeName, SandboxTokenAuthenticationHandler.SchemeName).RequireAuthenticatedUser().Build());
        group.MapPost("/{tool}/{method}", CallAsync).RequireAuthorization(AuthExtensions.SandboxPolicy);
        return group;
    }

    private static Ok<IReadOnlyList<ToolListing>> List(IEnumerable<ITool> tools) =>
        TypedResults.Ok<IReadOnlyList<ToolListing>>([.. tools.OrderBy(t => t.Name, StringComparer.Ordinal).Select(t =>
            new ToolListing(t.Name, t.Description, [.. t.Methods.Select(m => new ToolMethodListing(m.Name, m.Description, m.ArgumentsSchema))]))]);

    private static async Task<Results<Ok<JsonObject>, ProblemHttpResult>> CallAsync(
        string tool, string method, HttpContext context, IEnumerable<ITool> tools, NpgsqlDataSource db,
        IServiceProvider services, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        if (!IsToolName(tool) || !IsToolName(method))
        {
            return Problems.BadRequest("invalid_tool_name", "tool and method names are 1-64 characters of a-z, 0-9, '_' and '-'", IsToolName(tool) ? "method" : "tool");
        }

        var target = tools.FirstOrDefault(t => t.Name == tool)?.Methods.FirstOrDefault(m => m.Name == method);
        if (target is null)
        {
            return Problems.NotFound("unknown_tool", $"no tool method {tool}.{method}; GET /tools lists them");
        }

        JsonObject args;
        try
        {
            args = context.Request.ContentLength == 0 ? [] : await JsonSerializer.DeserializeAsync<JsonObject>(context.Request.Body, cancellationToken: cancellationToken) ?? [];
        }
        catch (JsonException ex)
        {
            return Problems.BadRequest("invalid_json", $"the arguments must be a JSON object: {ex.Message}", "arguments");
        }

        var threadKey = context.User.FindFirst(SandboxTokenAuthenticationHandler.ThreadClaim)!.Value;
        var sandboxId = context.User.FindFirst(SandboxTokenAuthenticationHandler.SandboxClaim)!.Value;
        var (executionId, turnId) = await RecordEffectAsync(db, threadKey, $"{tool}.{method}", cancellationToken);

        var started = Stopwatch.GetTimestamp();
        var outcome = "ok";
        try
        {
            var result = await target.InvokeAsync(new ToolContext(threadKey, sandboxId, executionId, turnId, services), args, cancellationToken);
            return TypedResults.Ok(new JsonObject { ["result"] = result });
        }
        catch (ToolArgumentException ex)
        {
            outcome = "bad_arguments";
            return Problems.BadRequest("invalid_arguments", ex.Message, ex.Field);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            outcome = "error";
            LogToolFailed(loggers.CreateLogger("Centaur.Api.Tools"), ex, tool, method, threadKey);
            return Problems.Create(StatusCodes.Status502BadGateway, "tool_failed", $"{tool}.{method} failed; the error is in the API's log");
        }
        finally
        {
            await AuditAsync(db, threadKey, sandboxId, executionId, turnId, tool, method, outcome, Stopwatch.GetElapsedTime(started));
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

    private static async Task AuditAsync(NpgsqlDataSource db, string threadKey, string sandboxId, long? executionId, string? turnId,
        string tool, string method, string outcome, TimeSpan duration)
    {
        const string Sql = """
            INSERT INTO tool_calls (thread_key, sandbox_id, execution_id, turn_id, tool, method, outcome, duration_ms)
            VALUES (@thread_key, @sandbox_id, @execution_id, @turn_id, @tool, @method, @outcome, @duration_ms)
            """;
        await using var command = db.CreateCommand(Sql);
        command.Parameters.AddWithValue("thread_key", threadKey);
        command.Parameters.AddWithValue("sandbox_id", sandboxId);
        command.Parameters.Add(new NpgsqlParameter<long?>("execution_id", NpgsqlTypes.NpgsqlDbType.Bigint) { TypedValue = executionId });
        command.Parameters.Add(new NpgsqlParameter<string?>("turn_id", NpgsqlTypes.NpgsqlDbType.Text) { TypedValue = turnId });
        command.Parameters.AddWithValue("tool", tool);
        command.Parameters.AddWithValue("method", method);
        command.Parameters.AddWithValue("outcome", outcome);
        command.Parameters.AddWithValue("duration_ms", duration.TotalMilliseconds);
        await command.ExecuteNonQueryAsync(CancellationToken.None);
    }

    internal static bool IsToolName(string value) =>
        value.Length is > 0 and <= 64 && value.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '_');

    [LoggerMessage(1801, LogLevel.Error, "Tool {Tool}.{Method} failed for thread {ThreadKey}")]
    private static partial void LogToolFailed(ILogger logger, Exception exception, string tool, string method, string threadKey);
}
