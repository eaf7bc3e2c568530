using Centaur.IronProxy.Forwarding;
using Npgsql;

namespace Centaur.IronProxy.Audit;

/// <summary>
/// Records a non-GET/HEAD request in side_effects BEFORE it is forwarded, with the thread's inflight execution and
/// turn, so the control plane never blindly replays a turn whose effects may already have happened.
/// </summary>
internal sealed class SideEffectLedger(NpgsqlDataSource dataSource)
{
    private const string InsertSql = """
        INSERT INTO side_effects (thread_key, execution_id, turn_id, source, method, target)
        SELECT @thread_key, s.inflight_execution_id, s.inflight_turn_id, 'egress', @method, @target
        FROM (SELECT 1) AS one LEFT JOIN sandbox_sessions s ON s.thread_key = @thread_key
        """;

    public static bool IsSideEffect(string method) => !HttpMethods.IsGet(method) && !HttpMethods.IsHead(method);

    public async Task RecordAsync(EgressContext egress, string method, string path, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(InsertSql);
        command.Parameters.AddWithValue("thread_key", egress.Identity.ThreadKey);
        command.Parameters.AddWithValue("method", method);
        // No query string: it may carry tokens.
        command.Parameters.AddWithValue("target", $"{egress.Scheme}://{egress.Host}:{egress.Port}{path}");
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
