using System.Text.Json;
using System.Text.Json.Nodes;
using Centaur.Api.Auth;
using Centaur.Api.Errors;
using Centaur.Api.Overlay;
using Centaur.Sdk;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Centaur.Api.Workflows;

/// <summary>Starting workflow runs (HTTP, Slack slash commands) and watching them; cron runs start on their own.</summary>
internal static class WorkflowsEndpoints
{
    public static RouteGroupBuilder MapWorkflows(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/workflows").WithTags("Workflows").RequireAuthorization(AuthExtensions.AgentPolicy)
            .AddEndpointFilter<TextInputFilter>();
        group.MapGet("/", List);
        group.MapPost("/{workflow}/runs", StartAsync);
        group.MapGet("/runs", ListRunsAsync);
        group.MapGet("/runs/{runId:long}", GetRunAsync);
        group.MapPost("/runs/{runId:long}/cancel", CancelAsync);
        group.MapPost("/slash-command", SlashCommandAsync);
        return group;
    }

    private static Ok<IReadOnlyList<WorkflowListing>> List(ExtensionCatalog catalog) =>
        TypedResults.Ok<IReadOnlyList<WorkflowListing>>([.. catalog.Current.Workflows.Values.OrderBy(w => w.Item.Name, StringComparer.Ordinal)
            .Select(w => new WorkflowListing(w.Item.Name, w.Item.Description, w.Source,
                w.Item.Schedule is { } s ? new JsonObject { ["cron"] = s.Cron, ["time_zone"] = s.TimeZone } : null,
                w.Item.InputSchema))]);

    private static async Task<Results<Accepted<WorkflowRun>, ProblemHttpResult>> StartAsync(
        string workflow, StartRunRequest request, HttpContext context, ExtensionCatalog catalog, WorkflowStore store, WorkflowSignal signal,
        CancellationToken cancellationToken)
    {
        if (request.IdempotencyKey is { Length: 0 or > 256 })
        {
            return Problems.BadRequest("invalid_idempotency_key", "idempotency_key must be 1-256 characters", "idempotency_key");
        }

        var (run, problem) = await StartRunAsync(workflow, request.Input ?? [], WorkflowTriggers.Http, request.IdempotencyKey,
            context.ClientName(), catalog, store, signal, cancellationToken);
        return problem ?? (Results<Accepted<WorkflowRun>, ProblemHttpResult>)TypedResults.Accepted($"/workflows/runs/{run!.RunId}", run);
    }

    /// <summary>Checks the workflow and its input (nothing stored when either is wrong), then stores the run and wakes a worker.</summary>
    private static async Task<(WorkflowRun? Run, ProblemHttpResult? Problem)> StartRunAsync(
        string workflow, JsonObject input, string trigger, string? idempotencyKey, string createdBy,
        ExtensionCatalog catalog, WorkflowStore store, WorkflowSignal signal, CancellationToken cancellationToken)
    {
        var definition = catalog.Current.FindWorkflow(workflow);
        if (definition is null)
        {
            return (null, Problems.NotFound("unknown_workflow", $"no workflow '{workflow}'; GET /workflows lists them"));
        }

        if (definition.InputSchema is { } schema && ToolSchema.Check(schema, input) is { } invalid)
        {
            return (null, Problems.BadRequest("invalid_input", invalid.Message, invalid.Field == "arguments" ? "input" : $"input.{invalid.Field}"));
        }

        var (run, created) = await store.CreateRunAsync(workflow, trigger, input, idempotencyKey, createdBy, cancellationToken);
        if (created)
        {
            signal.Wake();
        }

        return (run, null);
    }

    private static async Task<Ok<IReadOnlyList<WorkflowRun>>> ListRunsAsync(
        WorkflowStore store, CancellationToken cancellationToken, string? workflow = null, int? limit = null) =>
        TypedResults.Ok(await store.ListRunsAsync(workflow, Math.Clamp(limit ?? 50, 1, 500), cancellationToken));

    private static async Task<Results<Ok<WorkflowRunDetail>, ProblemHttpResult>> GetRunAsync(
        long runId, WorkflowStore store, CancellationToken cancellationToken) =>
        await store.GetRunAsync(runId, cancellationToken) is { } run
            ? TypedResults.Ok(new WorkflowRunDetail(run, await store.GetStepsAsync(runId, cancellationToken)))
            : Problems.NotFound("unknown_workflow_run", $"workflow run {runId} does not exist");

    private static async Task<Results<Accepted<WorkflowRun>, ProblemHttpResult>> CancelAsync(
        long runId, WorkflowStore store, CancellationToken cancellationToken) =>
        await store.RequestCancelAsync(runId, cancellationToken) is { } run
            ? TypedResults.Accepted($"/workflows/runs/{runId}", run)
            : Problems.NotFound("unknown_workflow_run", $"workflow run {runId} does not exist");

    /// <summary>
    /// <c>/centaur run &lt;workflow&gt; [json | text]</c> as forwarded by the Slack adapter. The input is the JSON object
    /// given, or {"text": …}, plus {"slack": {user_id, channel_id, team_id}}. Slack's trigger_id makes retries idempotent.
    /// </summary>
    private static async Task<Results<Ok<SlashCommandResponse>, ProblemHttpResult>> SlashCommandAsync(
        SlashCommandRequest request, HttpContext context, ExtensionCatalog catalog, WorkflowStore store, WorkflowSignal signal,
        CancellationToken cancellationToken)
    {
        var words = (request.Text ?? "").Trim().Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (words is ["run", var rest])
        {
            words = rest.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        }

        if (words.Length == 0 || words[0] is "run" or "help")
        {
            var names = string.Join(", ", catalog.Current.Workflows.Keys.Order(StringComparer.Ordinal));
            return TypedResults.Ok(new SlashCommandResponse("ephemeral", $"Usage: {request.Command ?? "/centaur"} run <workflow> [json input or text]. Workflows: {names}", null));
        }

        JsonObject input;
        var argument = words.Length > 1 ? words[1] : "";
        if (argument.StartsWith('{'))
        {
            try
            {
                input = JsonNode.Parse(argument) as JsonObject ?? [];
            }
            catch (JsonException ex)
            {
                return Problems.BadRequest("invalid_input", $"the input after the workflow name is not a JSON object: {ex.Message}", "text");
            }
        }
        else
        {
            input = argument.Length > 0 ? new JsonObject { ["text"] = argument } : [];
        }

        // Who asked and where, for workflows whose input has room for it.
        if (catalog.Current.FindWorkflow(words[0])?.InputSchema is not { } schema
            || schema["properties"]?["slack"] is not null || schema["additionalProperties"]?.GetValueKind() != JsonValueKind.False)
        {
            input["slack"] = new JsonObject { ["user_id"] = request.UserId, ["channel_id"] = request.ChannelId, ["team_id"] = request.TeamId };
        }

        var (run, problem) = await StartRunAsync(words[0], input, WorkflowTriggers.Slack,
            request.TriggerId is { Length: > 0 and <= 200 } trigger ? $"slack:{trigger}" : null,
            $"{context.ClientName()}:{request.UserId}", catalog, store, signal, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        return TypedResults.Ok(new SlashCommandResponse("ephemeral", $"Started workflow {run!.Workflow} (run {run.RunId}).", run.RunId));
    }
}
