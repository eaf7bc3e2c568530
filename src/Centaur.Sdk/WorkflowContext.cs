using System.Text.Json.Nodes;

namespace Centaur.Sdk;

/// <summary>
/// The durable primitives a workflow handler uses. Results are stored in Postgres under the step's name: a re-run
/// (after a crash, a restart or a sleep) gets the stored value back without running the step again. Effects inside a
/// step that completed but whose result was not stored yet can repeat, so give upstream calls idempotency keys
/// (<see cref="RunId"/> and the step name make a good one).
/// </summary>
public abstract class WorkflowContext
{
    private readonly Dictionary<string, int> _counters = new(StringComparer.Ordinal);

    public abstract long RunId { get; }

    public abstract string Workflow { get; }

    /// <summary>1 for the first time a worker runs this run, 2 after a crash or a sleep, and so on.</summary>
    public abstract int Attempt { get; }

    /// <summary>How the run was started: http, cron, slack or workflow.</summary>
    public abstract string Trigger { get; }

    public abstract IServiceProvider Services { get; }

    /// <summary>Runs <paramref name="action"/> once; later runs of the handler get its stored result. Names are unique per run.</summary>
    public abstract Task<T> StepAsync<T>(string name, Func<CancellationToken, Task<T>> action);

    public Task StepAsync(string name, Func<CancellationToken, Task> action) =>
        StepAsync<JsonNode?>(name, async cancellationToken =>
        {
            await action(cancellationToken);
            return null;
        });

    /// <summary>
    /// A durable sleep: the wake-up time is stored, so a restarted worker does not start the wait over. Long sleeps
    /// release the run; a worker picks it up again when it is due.
    /// </summary>
    public abstract Task SleepAsync(string name, TimeSpan duration);

    public Task SleepAsync(TimeSpan duration) => SleepAsync(NextName("sleep"), duration);

    /// <summary>
    /// A turn of the agent in <paramref name="threadKey"/>'s sandbox (spawn → message → execute, each idempotent for
    /// this run and name), awaited durably: a re-run waits for the same execution instead of starting another.
    /// </summary>
    public abstract Task<AgentTurnResult> StartAgentTurnAsync(string name, string threadKey, string text, string? persona = null);

    public Task<AgentTurnResult> StartAgentTurnAsync(string threadKey, string text) =>
        StartAgentTurnAsync(NextName("agent-turn"), threadKey, text);

    /// <summary>"sleep-1", "sleep-2", …: stable across re-runs as long as the handler reaches them in the same order.</summary>
    protected string NextName(string prefix)
    {
        var n = _counters.TryGetValue(prefix, out var count) ? count + 1 : 1;
        _counters[prefix] = n;
        return $"{prefix}-{n}";
    }
}

/// <summary>How an agent turn ended: state is succeeded, failed, cancelled or interrupted; result is the final answer.</summary>
public sealed record AgentTurnResult(long ExecutionId, string ThreadKey, string State, string? Result, JsonNode? Error);
