using System.Collections.Concurrent;
using System.Diagnostics;
using Npgsql;

namespace Centaur.IronProxy.Tracing;

/// <summary>
/// Puts a sandbox's outgoing calls inside the trace of the turn that made them. Harness CLIs do not propagate trace
/// context, but the proxy knows the thread from the sandbox token, and the API stores the running turn's trace
/// context on its execution. Each thread's answer (a turn, or none yet) is kept in memory and dropped when
/// Postgres notifies that the thread's executions changed (<see cref="TurnTraceListener"/>), so a busy sandbox costs
/// one query per turn, not one per request. Only while someone listens to the spans.
/// </summary>
internal sealed class TurnTraces(NpgsqlDataSource dataSource, TimeProvider time)
{
    public static readonly ActivitySource Source = new("Centaur.IronProxy");

    private const string Sql = """
        SELECT turn_traceparent FROM agent_execution_requests
        WHERE thread_key = @thread AND state = 'running' AND turn_traceparent IS NOT NULL ORDER BY id DESC LIMIT 1
        """;

    private const int MaxThreads = 10_000;

    // A backstop for a notification lost in flight; while the listener is down (or Postgres did not answer),
    // answers are kept briefly only.
    private static readonly TimeSpan s_notifiedFresh = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan s_briefly = TimeSpan.FromSeconds(2);

    // Tracing must never hold up egress for long: past this the span starts a trace of its own.
    private static readonly TimeSpan s_lookupTimeout = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<string, (ActivityContext Context, DateTimeOffset Until)> _byThread = new(StringComparer.Ordinal);
    private long _epoch;
    private volatile bool _notified;

    /// <summary>Starts the egress span for one request: a child of the thread's running turn when there is one.</summary>
    /// <param name="clientTraceParent">The request's own <c>traceparent</c>, if the client sent one.</param>
    public async ValueTask<Activity?> StartEgressAsync(string threadKey, string host, string? clientTraceParent, CancellationToken cancellationToken)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var parent = await TurnOfAsync(threadKey, cancellationToken);
        if (parent == default && clientTraceParent is not null && ActivityContext.TryParse(clientTraceParent, null, isRemote: true, out var client))
        {
            // No turn running: a client that sent its own trace context keeps the call in its trace.
            parent = client;
        }

        // The proxy records no server spans (Program.cs), so nothing else is a parent: without a turn or a client's
        // context the egress span starts a trace. (Only this async method's context changes.)
        Activity.Current = null;
        var activity = Source.StartActivity($"egress {host}", ActivityKind.Client, parent);
        activity?.SetTag("server.address", host);
        activity?.SetTag("centaur.thread_key", threadKey);
        return activity;
    }

    /// <summary>The listener is connected (true) or lost (false): either way nothing cached so far can be trusted.</summary>
    public void ListenerChanged(bool notified)
    {
        _notified = notified;
        Interlocked.Increment(ref _epoch);
        _byThread.Clear();
    }

    /// <summary>The thread's executions changed (a turn started, an execution finished).</summary>
    public void Invalidate(string threadKey)
    {
        Interlocked.Increment(ref _epoch);
        _byThread.TryRemove(threadKey, out _);
    }

    private async ValueTask<ActivityContext> TurnOfAsync(string threadKey, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var notified = _notified;
        if (_byThread.TryGetValue(threadKey, out var cached) && now < cached.Until)
        {
            return cached.Context;
        }

        // A change notified while the query runs may not be in its answer: then the answer is used once, not kept.
        var epoch = Interlocked.Read(ref _epoch);
        ActivityContext context = default;
        var found = false;
        var keep = notified ? s_notifiedFresh : s_briefly;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(s_lookupTimeout);
            await using var command = dataSource.CreateCommand(Sql);
            command.Parameters.AddWithValue("thread", threadKey);
            if (await command.ExecuteScalarAsync(timeout.Token) is string traceparent)
            {
                found = ActivityContext.TryParse(traceparent, null, out context);
            }
        }
        catch (PostgresException)
        {
            // No control-plane schema in this database (a proxy with a policy-only database): spans start new traces.
            found = true;
        }
        catch (Exception ex) when ((ex is NpgsqlException or OperationCanceledException) && !cancellationToken.IsCancellationRequested)
        {
            // Postgres unreachable or slow: this span starts a trace of its own, the request goes on, and the
            // next requests of the thread do not wait on Postgres again for a while.
            found = true;
            keep = s_briefly;
        }

        // "No turn yet" is kept only while notifications arrive: without them the turn that is about to start would
        // go unseen (a harness calling out while it starts).
        if ((found || notified) && Interlocked.Read(ref _epoch) == epoch)
        {
            if (_byThread.Count >= MaxThreads)
            {
                _byThread.Clear();
            }

            _byThread[threadKey] = (context, now + keep);
        }

        return context;
    }
}
