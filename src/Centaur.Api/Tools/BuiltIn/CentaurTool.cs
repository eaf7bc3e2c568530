using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using Centaur.Api.Executions;
using Centaur.Api.Threads;
using Centaur.Sdk;

namespace Centaur.Api.Tools.BuiltIn;

/// <summary>The agent's view of Centaur itself: its own thread's status, the team's threads, and stopping a turn.</summary>
internal sealed class CentaurTool : ITool
{
    public string Name => "centaur";

    public string Description => "Centaur itself: this thread's status, the team's recent threads, and cancelling this thread's turn.";

    public IReadOnlyList<ToolMethod> Methods { get; } =
    [
        ToolMethod.Create("thread_status", "The state of this thread: sandbox, harness, persona, last activity.",
            (context, cancellationToken) => context.Services.GetRequiredService<ThreadStore>().GetSessionAsync(context.ThreadKey, cancellationToken)),
        ToolMethod.Create<ListThreadsArgs, IReadOnlyList<ThreadSummary>>("list_threads", "Recent threads of the team (newest first).",
            (context, args, cancellationToken) => context.Services.GetRequiredService<ThreadStore>().ListAsync(args.Limit, null, cancellationToken)),
        ToolMethod.Create<CancelArgs, ExecutionResponse>("cancel",
            "Cancels an execution of this thread (by default the one running or queued now).", CancelAsync),
    ];

    private static async Task<ExecutionResponse> CancelAsync(ToolContext context, CancelArgs args, CancellationToken cancellationToken)
    {
        var executions = context.Services.GetRequiredService<ExecutionStore>();
        var target = args.ExecutionId is { } id
            ? await executions.GetAsync(id, cancellationToken)
            : (await executions.ListForThreadAsync(context.ThreadKey, 20, cancellationToken)).FirstOrDefault(e => !ExecutionStates.IsTerminal(e.State));
        // Another thread's execution is reported as unknown: a sandbox only ever acts on its own thread.
        if (target is null || target.ThreadKey != context.ThreadKey)
        {
            throw new ToolException(StatusCodes.Status404NotFound, "unknown_execution",
                args.ExecutionId is null ? "this thread has no running or queued execution" : $"this thread has no execution {args.ExecutionId}");
        }

        return await executions.RequestCancelAsync(target.ExecutionId, cancellationToken) ?? target;
    }

    internal sealed record ListThreadsArgs([property: Description("How many threads (1-100, default 20)."), Range(1, 100)] int Limit = 20);

    internal sealed record CancelArgs([property: Description("The execution to cancel; default: this thread's running or queued one.")] long? ExecutionId = null);
}
