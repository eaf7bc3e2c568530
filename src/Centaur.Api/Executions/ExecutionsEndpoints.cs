using Centaur.Api.Auth;
using Centaur.Api.Errors;
using Centaur.Api.Threads;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Centaur.Api.Executions;

internal static class ExecutionsEndpoints
{
    public static RouteGroupBuilder MapExecutions(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/agent").WithTags("Executions").RequireAuthorization(AuthExtensions.AgentPolicy)
            .AddEndpointFilter<TextInputFilter>();
        group.MapPost("/execute", ExecuteAsync);
        group.MapGet("/executions/{executionId:long}", GetAsync);
        group.MapPost("/executions/{executionId:long}/cancel", CancelAsync);
        group.MapPost("/executions/{executionId:long}/resume", ResumeAsync);
        return group;
    }

    private static async Task<Results<Accepted<ExecutionResponse>, ProblemHttpResult>> ExecuteAsync(
        ExecuteRequest request, ThreadStore threads, ExecutionStore executions, CancellationToken cancellationToken)
    {
        if (ThreadKey.Validate(request.ThreadKey) is { } keyError)
        {
            return Problems.BadRequest("invalid_thread_key", keyError, "thread_key");
        }

        if (string.IsNullOrWhiteSpace(request.IdempotencyKey) || request.IdempotencyKey.Length > 256)
        {
            return Problems.BadRequest("missing_field", "idempotency_key is required (at most 256 characters)", "idempotency_key");
        }

        if (!await threads.ExistsAsync(request.ThreadKey!, cancellationToken))
        {
            return Problems.NotFound("unknown_thread", $"thread {request.ThreadKey} does not exist; POST /agent/spawn first");
        }

        var (execution, _) = await executions.CreateAsync(request.ThreadKey!, request.IdempotencyKey, resumeOf: null, cancellationToken);
        return TypedResults.Accepted($"/agent/executions/{execution.ExecutionId}", execution);
    }

    private static async Task<Results<Ok<ExecutionResponse>, ProblemHttpResult>> GetAsync(
        long executionId, ExecutionStore executions, CancellationToken cancellationToken) =>
        await executions.GetAsync(executionId, cancellationToken) is { } execution
            ? TypedResults.Ok(execution)
            : Problems.NotFound("unknown_execution", $"execution {executionId} does not exist");

    private static async Task<Results<Accepted<ExecutionResponse>, ProblemHttpResult>> CancelAsync(
        long executionId, ExecutionStore executions, CancellationToken cancellationToken)
    {
        var execution = await executions.RequestCancelAsync(executionId, cancellationToken);
        return execution is null
            ? Problems.NotFound("unknown_execution", $"execution {executionId} does not exist")
            : TypedResults.Accepted($"/agent/executions/{executionId}", execution);
    }

    /// <summary>
    /// Continues an execution that ended interrupted (its sandbox died after side effects): a new turn that tells the
    /// agent what already happened. Idempotent: resuming twice returns the same new execution.
    /// </summary>
    private static async Task<Results<Accepted<ExecutionResponse>, ProblemHttpResult>> ResumeAsync(
        long executionId, ExecutionStore executions, CancellationToken cancellationToken)
    {
        var previous = await executions.GetAsync(executionId, cancellationToken);
        if (previous is null)
        {
            return Problems.NotFound("unknown_execution", $"execution {executionId} does not exist");
        }

        if (previous.State != ExecutionStates.Interrupted)
        {
            return Problems.Conflict("not_interrupted", $"execution {executionId} is {previous.State}; only interrupted executions can be resumed");
        }

        var (resumed, _) = await executions.CreateAsync(previous.ThreadKey, $"resume-of-{executionId}", executionId, cancellationToken);
        return TypedResults.Accepted($"/agent/executions/{resumed.ExecutionId}", resumed);
    }
}
