using System.Diagnostics;
using System.Text.Json.Nodes;
using Centaur.Api.Data;
using Centaur.Api.Overlay;
using Centaur.Sdk;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Centaur.Api.Workflows;

/// <summary>
/// Claims due workflow runs (FOR UPDATE SKIP LOCKED, with a lease renewed while the handler runs) and runs each
/// handler from the top on its own task, up to Workflows:Concurrency at once. A worker that dies stops renewing;
/// any replica re-claims the run after the lease and runs the handler again, its completed steps coming from the store.
/// </summary>
internal sealed class WorkflowWorker(
    WorkflowStore store, ExtensionCatalog catalog, IServiceProvider services, WorkflowSignal signal, DatabaseReadiness readiness,
    TimeProvider time, IOptions<WorkflowOptions> options, ILogger<WorkflowWorker> logger) : BackgroundService
{
    internal static readonly ActivitySource ActivitySource = new("Centaur.Api.Workflows");

    public string Owner { get; } = $"{Environment.MachineName}/{Environment.ProcessId}/workflows/{Guid.NewGuid():N}";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await readiness.WaitAsync(stoppingToken);
        var settings = options.Value;
        var lease = TimeSpan.FromSeconds(settings.LeaseSeconds);
        using var slots = new SemaphoreSlim(settings.Concurrency);
        var running = new List<Task>();
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await slots.WaitAsync(stoppingToken);
                var run = await store.ClaimAsync(Owner, lease, stoppingToken);
                failures = 0;
                if (run is null)
                {
                    slots.Release();
                    await signal.WaitAsync(TimeSpan.FromMilliseconds(settings.PollMilliseconds), stoppingToken);
                    continue;
                }

                running.RemoveAll(t => t.IsCompleted);
                running.Add(Task.Run(async () =>
                {
                    try
                    {
                        await DriveAsync(run, lease, stoppingToken);
                    }
                    finally
                    {
                        slots.Release();
                        signal.Wake();
                    }
                }, CancellationToken.None));
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
            {
                slots.Release();
                failures++;
                var delay = TimeSpan.FromSeconds(Math.Pow(2, Math.Min(failures, 5))) + TimeSpan.FromMilliseconds(Random.Shared.Next(1000));
                WorkflowsLog.ClaimFailed(logger, ex, delay);
                await Task.Delay(delay, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }

        // Shutdown: leases are left to expire, so another replica (or this one, restarted) re-runs the handlers.
        await Task.WhenAll(running).WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ContinueWith(_ => { }, TaskScheduler.Default);
    }

    private async Task DriveAsync(WorkflowRun run, TimeSpan lease, CancellationToken stoppingToken)
    {
        using var scope = logger.BeginScope(new Dictionary<string, object> { ["WorkflowRunId"] = run.RunId, ["Workflow"] = run.Workflow });
        using var activity = ActivitySource.StartActivity("workflow.run");
        activity?.SetTag("centaur.workflow", run.Workflow);
        activity?.SetTag("centaur.workflow_run_id", run.RunId);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var cancelRequested = false;
        var leaseLost = false;
        var renewal = RenewAsync(run.RunId, lease, stop, () => cancelRequested = true, () => leaseLost = true);
        var settings = options.Value;
        try
        {
            var workflow = catalog.Current.FindWorkflow(run.Workflow);
            if (workflow is null)
            {
                await FinishAsync(run, WorkflowStates.Failed, null, Error("unknown_workflow", $"no workflow '{run.Workflow}' is registered (was the overlay changed?)"));
                return;
            }

            if (run.Attempts > settings.MaxAttempts)
            {
                await FinishAsync(run, WorkflowStates.Failed, null, Error("too_many_attempts", $"the run was started {run.Attempts - 1} times without finishing"));
                return;
            }

            await using var unit = services.CreateAsyncScope();
            var completed = await store.CompletedStepsAsync(run.RunId, stop.Token);
            var context = new DurableWorkflowContext(run, Owner, completed, unit.ServiceProvider,
                TimeSpan.FromSeconds(settings.InlineSleepSeconds), stop.Token);
            WorkflowsLog.Running(logger, run.RunId, run.Workflow, run.Attempts, completed.Count);
            try
            {
                var result = await workflow.RunAsync(context, run.Input, stop.Token);
                await FinishAsync(run, WorkflowStates.Succeeded, result, null);
            }
            catch (WorkflowSuspendedException sleep)
            {
                await store.ReleaseAsync(run.RunId, Owner, WorkflowStates.Sleeping, sleep.WakeAt, null, CancellationToken.None);
                WorkflowsLog.Sleeping(logger, run.RunId, sleep.WakeAt);
            }
        }
        catch (OperationCanceledException) when (cancelRequested)
        {
            await FinishAsync(run, WorkflowStates.Cancelled, null, Error("cancelled", "the run was cancelled"));
        }
        catch (OperationCanceledException) when (leaseLost || stoppingToken.IsCancellationRequested)
        {
            WorkflowsLog.Stopped(logger, run.RunId);
        }
        catch (WorkflowLeaseLostException)
        {
            WorkflowsLog.Stopped(logger, run.RunId);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            var error = Error("handler_failed", $"{ex.GetType().Name}: {ex.Message}");
            if (run.Failures + 1 >= settings.MaxFailures)
            {
                await FinishAsync(run, WorkflowStates.Failed, null, error);
            }
            else
            {
                var backoff = TimeSpan.FromSeconds(Math.Pow(2, run.Failures + 1));
                await store.ReleaseAsync(run.RunId, Owner, WorkflowStates.Queued, time.GetUtcNow() + backoff, error, CancellationToken.None);
            }

            WorkflowsLog.HandlerFailed(logger, ex, run.RunId, run.Failures + 1, settings.MaxFailures);
        }
        finally
        {
            await stop.CancelAsync();
            await renewal;
        }
    }

    private async Task FinishAsync(WorkflowRun run, string state, JsonNode? result, JsonObject? error)
    {
        if (await store.FinishAsync(run.RunId, Owner, state, result, error, CancellationToken.None))
        {
            WorkflowsLog.Finished(logger, run.RunId, run.Workflow, state);
        }
    }

    private async Task RenewAsync(long runId, TimeSpan lease, CancellationTokenSource stop, Action onCancel, Action onLost)
    {
        var every = lease / 3;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                await Task.Delay(every, time, stop.Token);
                var (owned, cancel) = await store.RenewAsync(runId, Owner, lease, stop.Token);
                if (!owned || cancel)
                {
                    if (owned)
                    {
                        onCancel();
                    }
                    else
                    {
                        onLost();
                    }

                    await stop.CancelAsync();
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // the handler ended or the service is stopping
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            // Cannot prove ownership any more: stop rather than race a new owner.
            WorkflowsLog.RenewFailed(logger, ex, runId);
            onLost();
            await stop.CancelAsync();
        }
    }

    private static JsonObject Error(string code, string message) => new() { ["code"] = code, ["message"] = message };
}
