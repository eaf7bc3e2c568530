using System.Text.Json;
using System.Text.Json.Nodes;
using Centaur.Api.Events;
using Centaur.Api.Executions;
using Centaur.Api.Overlay;
using Centaur.Api.Sandboxes;
using Centaur.Api.Threads;
using Centaur.Sdk;
using Microsoft.Extensions.Options;

namespace Centaur.Api.Workflows;

/// <summary>
/// The durable primitives over Postgres for one claimed run. A step's result is stored before the handler moves
/// on; on a re-run (after a crash, a restart or a long sleep) completed steps return their stored results.
/// </summary>
internal sealed class DurableWorkflowContext(
    WorkflowRun run, string owner, Dictionary<string, JsonNode?> completed, IServiceProvider services,
    TimeSpan inlineSleep, CancellationToken cancellationToken) : WorkflowContext
{
    private static readonly TimeSpan s_executionPoll = TimeSpan.FromSeconds(2);
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
    private readonly WorkflowStore _store = services.GetRequiredService<WorkflowStore>();
    private readonly TimeProvider _time = services.GetRequiredService<TimeProvider>();

    public override long RunId => run.RunId;

    public override string Workflow => run.Workflow;

    public override int Attempt => run.Attempts;

    public override string Trigger => run.Trigger;

    public override IServiceProvider Services => services;

    /// <summary>How many steps ran their code in this attempt (the others came from the store).</summary>
    public int Executed { get; private set; }

    public override async Task<T> StepAsync<T>(string name, Func<CancellationToken, Task<T>> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        if (string.IsNullOrWhiteSpace(name) || name.Length > 200)
        {
            throw new ArgumentException("a step name is 1-200 characters", nameof(name));
        }

        if (!_seen.Add(name))
        {
            throw new InvalidOperationException($"step '{name}' was reached twice in one run; step names must be unique within a run");
        }

        if (completed.TryGetValue(name, out var stored))
        {
            return stored is null ? default! : stored.Deserialize<T>(ToolJson.Options)!;
        }

        cancellationToken.ThrowIfCancellationRequested();
        if (!await _store.BeginStepAsync(run.RunId, owner, name, cancellationToken))
        {
            throw new WorkflowLeaseLostException();
        }

        Executed++;
        T result;
        try
        {
            result = await action(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            await _store.FailStepAsync(run.RunId, owner, name, $"{ex.GetType().Name}: {ex.Message}", CancellationToken.None);
            throw;
        }

        var json = JsonSerializer.SerializeToNode(result, ToolJson.Options);
        if (!await _store.CompleteStepAsync(run.RunId, owner, name, json, cancellationToken))
        {
            throw new WorkflowLeaseLostException();
        }

        completed[name] = json;
        return result;
    }

    /// <summary>The wake-up time is itself a step, so a re-run sleeps only for what is left.</summary>
    public override async Task SleepAsync(string name, TimeSpan duration)
    {
        var wakeAt = await StepAsync($"sleep:{name}", _ => Task.FromResult(_time.GetUtcNow() + duration));
        var remaining = wakeAt - _time.GetUtcNow();
        if (remaining <= TimeSpan.Zero)
        {
            return;
        }

        if (remaining <= inlineSleep)
        {
            await Task.Delay(remaining, _time, cancellationToken);
            return;
        }

        throw new WorkflowSuspendedException(wakeAt);
    }

    /// <summary>
    /// spawn → message → execute through the same stores the endpoints use, each idempotent on this run and name;
    /// the execution id is a step, and its end is awaited from the durable execution row (woken by the thread's events).
    /// </summary>
    public override async Task<AgentTurnResult> StartAgentTurnAsync(string name, string threadKey, string text, string? persona = null)
    {
        if (ThreadKey.Validate(threadKey) is { } keyError)
        {
            throw new ArgumentException(keyError, nameof(threadKey));
        }

        ArgumentException.ThrowIfNullOrWhiteSpace(text);
        var personaProfile = persona is null ? null : services.GetRequiredService<ExtensionCatalog>().Current.FindPersona(persona)
            ?? throw new ArgumentException($"there is no persona '{persona}'", nameof(persona));

        var executionId = await StepAsync($"agent-turn:{name}", async token =>
        {
            var threads = services.GetRequiredService<ThreadStore>();
            var sandbox = services.GetRequiredService<IOptions<SandboxOptions>>().Value;
            var backend = services.GetRequiredService<SandboxManager>().BackendName;
            await threads.SpawnAsync(threadKey, personaProfile?.Harness, persona, null, sandbox.DefaultHarness, backend, token);
            var key = $"workflow-{run.RunId}-{name}";
            await threads.AppendMessageAsync(new MessageRequest(threadKey, text, $"workflow:{run.Workflow}", key, null), token);
            var (execution, _) = await services.GetRequiredService<ExecutionStore>().CreateAsync(threadKey, key, resumeOf: null, token);
            return execution.ExecutionId;
        });

        var executions = services.GetRequiredService<ExecutionStore>();
        var notifier = services.GetRequiredService<ChangeNotifier>();
        while (true)
        {
            // Take the wake-up before reading, so an event between the read and the wait is not missed.
            var changed = notifier.NextThreadChange(threadKey);
            var execution = await executions.GetAsync(executionId, cancellationToken)
                ?? throw new InvalidOperationException($"execution {executionId} vanished");
            if (ExecutionStates.IsTerminal(execution.State))
            {
                return new AgentTurnResult(execution.ExecutionId, threadKey, execution.State, execution.Result, execution.Error);
            }

            await Task.WhenAny(changed, Task.Delay(s_executionPoll, _time, cancellationToken));
            cancellationToken.ThrowIfCancellationRequested();
        }
    }
}
