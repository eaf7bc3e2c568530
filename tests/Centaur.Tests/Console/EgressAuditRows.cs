using Npgsql;

namespace Centaur.Tests.Clients;

/// <summary>
/// Rows as Centaur.IronProxy's audit writer stores them (0010_egress.sql), for tests of the surfaces that read the
/// audit: the CLI's <c>audit</c> and the console's egress card. The proxy's own tests cover writing them.
/// </summary>
internal static class EgressAuditRows
{
    public const string AllowedHost = "api.anthropic.com";

    public static async Task InsertAsync(string connectionString, string threadKey)
    {
        const string Sql = """
            INSERT INTO egress_audit (created_at, thread_key, sandbox_id, mode, method, scheme, host, port, path, status,
                                      bytes_in, bytes_out, duration_ms, bindings, decision, reason)
            VALUES (now(), @thread_key, 'sbx-test', 'tunnel', 'POST', 'https', 'api.anthropic.com', 443, '/v1/messages', 200,
                    2048, 12288, 812.5, '{anthropic}', 'allow', NULL),
                   (now(), @thread_key, 'sbx-test', 'tunnel', 'GET', 'https', 'evil.example', 8443, '/', 403,
                    0, 96, 3.1, '{}', 'deny', 'host not allowed')
            """;
        await using var db = NpgsqlDataSource.Create(connectionString);
        await using var command = db.CreateCommand(Sql);
        command.Parameters.AddWithValue("thread_key", threadKey);
        await command.ExecuteNonQueryAsync();
    }
}
