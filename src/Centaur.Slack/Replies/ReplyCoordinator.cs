using System.Collections.Concurrent;
using System.Text.Json;

namespace Centaur.Slack.Replies;

/// <summary>
/// The in-process side of replies: one streamer task per execution, one lock per execution (the streamer and the
/// final delivery never write the same message at once), and the terminal details the outbox row does not carry.
/// </summary>
internal sealed class ReplyCoordinator(IServiceProvider services, IHostApplicationLifetime lifetime, ILogger<ReplyCoordinator> logger)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<long, Task> _streamers = [];
    private readonly ConcurrentDictionary<long, SemaphoreSlim> _locks = new();
    private readonly ConcurrentDictionary<long, TerminalInfo> _terminals = new();

    /// <summary>False once Centaur.Api answered 404 to /agent/deliveries/claim: streamers then deliver directly.</summary>
    public bool OutboxSupported { get; set; } = true;

    /// <summary>False once Slack refused chat.startStream (older workspace, channel type): chat.update from then on.</summary>
    public bool NativeStreamingAvailable { get; set; } = true;

    public int ActiveStreamers
    {
        get
        {
            lock (_gate)
            {
                return _streamers.Count;
            }
        }
    }

    public SemaphoreSlim LockFor(long executionId) => _locks.GetOrAdd(executionId, _ => new SemaphoreSlim(1, 1));

    public void RecordTerminal(long executionId, TerminalInfo terminal) => _terminals[executionId] = terminal;

    public TerminalInfo? TerminalOf(long executionId) => _terminals.TryGetValue(executionId, out var terminal) ? terminal : null;

    public void Forget(long executionId)
    {
        _terminals.TryRemove(executionId, out _);
        _locks.TryRemove(executionId, out _);
    }

    /// <summary>Starts rendering the execution into its thread unless that already runs in this process.</summary>
    public void EnsureStreaming(long executionId)
    {
        lock (_gate)
        {
            if (!_streamers.ContainsKey(executionId))
            {
                _streamers[executionId] = Task.Run(() => RunStreamerAsync(executionId));
            }
        }
    }

    private async Task RunStreamerAsync(long executionId)
    {
        try
        {
            await services.GetRequiredService<ReplyStreamer>().RunAsync(executionId, lifetime.ApplicationStopping);
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            logger.StreamerFailed(ex, executionId);
        }
        finally
        {
            lock (_gate)
            {
                _streamers.Remove(executionId);
            }
        }
    }

    /// <summary>Waits for the running streamers (tests and shutdown).</summary>
    public Task WhenIdleAsync()
    {
        lock (_gate)
        {
            return Task.WhenAll(_streamers.Values);
        }
    }
}

/// <summary>How an execution ended, as its terminal execution_state event said.</summary>
internal sealed record TerminalInfo(string State, string? Result, string? Error, JsonElement? Effects);
