using System.Collections.Concurrent;
using System.Diagnostics;
using Npgsql;

namespace Centaur.IronProxy.Tracing;

/// <summary>
/// Puts a sandbox's outgoing calls inside the trace of the turn that made them. Harness CLIs do not propagate trace
/// context, but the proxy knows the thread from the sandbox token, and the API stores the running turn's trace
/// context on its execution. Looked up once per thread every few seconds, only while someone listens to the spans.
/// </summary>
internal sealed class TurnTraces(NpgsqlDataSource dataSource, TimeProvider time)
{
    public static readonly ActivitySource Source = new("Centaur.IronProxy");

    private const string Sql = """
        SELECT turn_traceparent FROM agent_execution_requests
        WHERE thread_key = @thread AND state = 'running' AND turn_traceparent IS NOT NULL ORDER BY id DESC LIMIT 1
        """;

    private const int MaxThreads = 10_000;
    private static readonly TimeSpan s_fresh = TimeSpan.FromSeconds(2);

    private readonly ConcurrentDictionary<string, (ActivityContext Context, DateTimeOffset At)> _byThread = new(StringComparer.Ordinal);

    /// <summary>Starts the egress span for one request: a child of the thread's running turn when there is one.</summary>
    public async ValueTask<Activity?> StartEgressAsync(string threadKey, string host, CancellationToken cancellationToken)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var parent = await TurnOfAsync(threadKey, cancellationToken);
        var activity = Source.StartActivity($"egress {host}", ActivityKind.Client, parent);
        activity?.SetTag("server.address", host);
        activity?.SetTag("centaur.thread_key", threadKey);
        return activity;
    }

    private async ValueTask<ActivityContext> TurnOfAsync(string threadKey, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (_byThread.TryGetValue(threadKey, out var cached) && now - cached.At < s_fresh)
        {
            return cached.Context;
        }

        ActivityContext context = default;
        try
        {
            await using var command = dataSource.CreateCommand(Sql);
            command.Parameters.AddWithValue("thread", threadKey);
            if (await command.ExecuteScalarAsync(cancellationToken) is string traceparent)
            {
                ActivityContext.TryParse(traceparent, null, out context);
            }
            else
            {
                // No turn running yet (a harness calling out while it starts): ask again next time, the turn is near.
                return default;
            }
        }
        catch (PostgresException)
        {
            // No control-plane schema in this database (a proxy with a policy-only database): spans start new traces.
        }

        if (_byThread.Count >= MaxThreads)
        {
            _byThread.Clear();
        }

        _byThread[threadKey] = (context, now);
        return context;
    }
}
