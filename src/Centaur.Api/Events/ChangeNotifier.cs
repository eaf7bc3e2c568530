using System.Collections.Concurrent;
using Centaur.Api.Data;
using Npgsql;

namespace Centaur.Api.Events;

/// <summary>
/// One LISTEN connection per API process turns Postgres notifications into in-memory wake-ups: SSE streams wait
/// on their thread, the worker on new executions, drivers on cancel requests. Nothing polls in a tight loop, and a
/// waiting stream holds no Postgres connection. After a lost connection every waiter is woken to re-read.
/// </summary>
internal sealed partial class ChangeNotifier(NpgsqlDataSource db, DatabaseReadiness readiness, ILogger<ChangeNotifier> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _threads = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<long, Action> _cancelHandlers = new();
    private readonly SemaphoreSlim _executionsQueued = new(0, int.MaxValue);
    private readonly ConcurrentDictionary<string, long> _versions = new(StringComparer.Ordinal);
    private long _epoch;

    /// <summary>
    /// Grows whenever the thread may have new events: at each of its notifications, and for every thread when the
    /// LISTEN connection was lost (notifications may have been missed). Caches compare it to know they are current.
    /// </summary>
    public long ThreadVersion(string threadKey) => Interlocked.Read(ref _epoch) + (_versions.TryGetValue(threadKey, out var v) ? v : 0);

    /// <summary>A task that completes at the thread's next event. Take it BEFORE reading, then read, then await it.</summary>
    public Task NextThreadChange(string threadKey) =>
        _threads.GetOrAdd(threadKey, static _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    public Task WaitForQueuedAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        _executionsQueued.WaitAsync(timeout, cancellationToken);

    public void WakeWorker() => _executionsQueued.Release();

    public IDisposable OnCancel(long executionId, Action handler)
    {
        _cancelHandlers[executionId] = handler;
        return new Registration(() => _cancelHandlers.TryRemove(executionId, out _));
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await readiness.WaitAsync(stoppingToken);
        for (var attempt = 0; !stoppingToken.IsCancellationRequested; attempt++)
        {
            try
            {
                await using var connection = await db.OpenConnectionAsync(stoppingToken);
                connection.Notification += (_, e) => Dispatch(e.Channel, e.Payload);
                await using (var listen = new NpgsqlCommand("LISTEN centaur_events; LISTEN centaur_executions; LISTEN centaur_cancel", connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }

                attempt = 0;
                WakeEveryone();
                while (!stoppingToken.IsCancellationRequested)
                {
                    await connection.WaitAsync(TimeSpan.FromSeconds(30), stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or IOException or TimeoutException)
            {
                LogListenFailed(logger, ex);
                WakeEveryone();
                await Task.Delay(TimeSpan.FromSeconds(Math.Min(Math.Pow(2, attempt), 30)), stoppingToken);
            }
        }
    }

    private void Dispatch(string channel, string payload)
    {
        switch (channel)
        {
            case "centaur_events":
                _versions.AddOrUpdate(payload, 1, static (_, v) => v + 1);
                if (_threads.TryRemove(payload, out var waiter))
                {
                    waiter.TrySetResult();
                }

                break;
            case "centaur_executions":
                WakeWorker();
                break;
            case "centaur_cancel":
                if (long.TryParse(payload, out var id) && _cancelHandlers.TryGetValue(id, out var handler))
                {
                    handler();
                }

                break;
        }
    }

    private void WakeEveryone()
    {
        Interlocked.Increment(ref _epoch);
        foreach (var key in _threads.Keys)
        {
            if (_threads.TryRemove(key, out var waiter))
            {
                waiter.TrySetResult();
            }
        }

        WakeWorker();
    }

    public override void Dispose()
    {
        _executionsQueued.Dispose();
        base.Dispose();
    }

    private sealed class Registration(Action dispose) : IDisposable
    {
        public void Dispose() => dispose();
    }

    [LoggerMessage(1201, LogLevel.Warning, "LISTEN connection lost; reconnecting")]
    private static partial void LogListenFailed(ILogger logger, Exception exception);
}
