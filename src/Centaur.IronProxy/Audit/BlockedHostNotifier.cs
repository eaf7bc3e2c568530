using System.Collections.Concurrent;
using System.Threading.Channels;
using Npgsql;

namespace Centaur.IronProxy.Audit;

/// <summary>
/// Tells the thread a host was refused: an <c>egress_blocked {host, port}</c> event in the thread's event stream
/// (agent_execution_events, the log SSE clients read), so Slack can offer "Allow &lt;host&gt; for this thread". Only
/// while a turn runs (the event belongs to the sandbox session's in-flight execution), and once per host per
/// execution: the database decides under the thread's event lock. The hot path only queues; a harness retrying a
/// refused host in a loop is damped in memory first.
/// </summary>
internal sealed class BlockedHostNotifier(NpgsqlDataSource dataSource, TimeProvider time, ILogger<BlockedHostNotifier> logger) : BackgroundService
{
    private const int MaxRemembered = 10_000;
    private static readonly TimeSpan s_damping = TimeSpan.FromSeconds(5);

    // The same advisory lock EventLog.LockThreadAsync takes in Centaur.Api (hashtextextended(thread_key, 7)): event ids
    // of one thread must commit in order, whoever appends.
    private const string LockSql = "SELECT pg_advisory_xact_lock(hashtextextended(@thread_key, 7))";

    private const string InsertSql = """
        INSERT INTO agent_execution_events (thread_key, execution_id, type, data)
        SELECT s.thread_key, r.id, 'egress_blocked', jsonb_build_object('host', @host::text, 'port', @port::int)
        FROM sandbox_sessions s JOIN agent_execution_requests r ON r.id = s.inflight_execution_id AND r.state = 'running'
        WHERE s.thread_key = @thread_key
          AND NOT EXISTS (SELECT 1 FROM agent_execution_events e
                          WHERE e.execution_id = r.id AND e.type = 'egress_blocked' AND e.data->>'host' = @host::text)
        """;

    private readonly Channel<(string ThreadKey, string Host, int Port)> _queue = Channel.CreateBounded<(string, string, int)>(
        new BoundedChannelOptions(1000) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    private readonly ConcurrentDictionary<(string ThreadKey, string Host), DateTimeOffset> _recent = new();

    public void Report(string threadKey, string host, int port)
    {
        var now = time.GetUtcNow();
        if (_recent.TryGetValue((threadKey, host), out var last) && now - last < s_damping)
        {
            return;
        }

        if (_recent.Count >= MaxRemembered)
        {
            _recent.Clear();
        }

        _recent[(threadKey, host)] = now;
        _queue.Writer.TryWrite((threadKey, host, port));
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var (threadKey, host, port) in _queue.Reader.ReadAllAsync(stoppingToken))
            {
                try
                {
                    if (await WriteAsync(threadKey, host, port, stoppingToken))
                    {
                        logger.BlockedHostNotified(threadKey, host);
                    }
                }
                catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
                {
                    // A lost notice costs a button, never a request: the refusal itself is already answered and audited.
                    logger.BlockedHostNoticeFailed(ex, host);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task<bool> WriteAsync(string threadKey, string host, int port, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var lockCommand = new NpgsqlCommand(LockSql, connection, transaction))
        {
            lockCommand.Parameters.AddWithValue("thread_key", threadKey);
            await lockCommand.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var insert = new NpgsqlCommand(InsertSql, connection, transaction);
        insert.Parameters.AddWithValue("thread_key", threadKey);
        insert.Parameters.AddWithValue("host", host);
        insert.Parameters.AddWithValue("port", port);
        var written = await insert.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return written > 0;
    }
}
