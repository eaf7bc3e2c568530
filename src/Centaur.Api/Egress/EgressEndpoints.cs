using Centaur.Api.Auth;
using Centaur.Api.Errors;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Npgsql;
using NpgsqlTypes;

namespace Centaur.Api.Egress;

/// <summary>
/// The egress policy Centaur.IronProxy enforces (0010_egress.sql): allowlist, credential bindings, reverse routes
/// and mode, plus the proxy's audit. Every write bumps the policy version in the same transaction and the proxies
/// reload on the NOTIFY; the answer carries that version (the proxy's /health names the version it has loaded).
/// </summary>
internal static class EgressEndpoints
{
    private const string VersionSql = "SELECT version FROM egress_settings WHERE id = 1";

    public static RouteGroupBuilder MapEgress(this IEndpointRouteBuilder endpoints)
    {
        // Operators only: the policy decides where credentials go, and the audit shows what every thread reached.
        endpoints.MapGet("/audit/egress", GetAuditAsync).WithTags("Egress").RequireAuthorization(AuthExtensions.AdminPolicy)
            .AddEndpointFilter<TextInputFilter>();

        var egress = endpoints.MapGroup("/egress").WithTags("Egress").RequireAuthorization(AuthExtensions.AdminPolicy)
            .AddEndpointFilter<TextInputFilter>();
        egress.MapGet("/policy", GetPolicyAsync);
        egress.MapPut("/settings", PutSettingsAsync);
        egress.MapPut("/hosts/{host}", PutHostAsync);
        egress.MapDelete("/hosts/{host}", DeleteHostAsync);
        egress.MapPut("/bindings/{name}", PutBindingAsync);
        egress.MapDelete("/bindings/{name}", DeleteBindingAsync);
        egress.MapPut("/routes/{prefix}", PutRouteAsync);
        egress.MapDelete("/routes/{prefix}", DeleteRouteAsync);
        // Per-thread exceptions, open to the egress_grant scope too (the Slack adapter's "Allow for this thread").
        endpoints.MapThreadAllowances();
        return egress;
    }

    private static async Task<Ok<EgressPolicyDocument>> GetPolicyAsync(NpgsqlDataSource db, CancellationToken cancellationToken)
    {
        const string Sql = """
            SELECT mode, deny_in_tunnel, version FROM egress_settings WHERE id = 1;
            SELECT host, ports, request_headers, allow_private, connect_to, trusted_ca_pem IS NOT NULL, note FROM egress_hosts ORDER BY host;
            SELECT name, host, headers, format, secret, allow_passthrough FROM egress_bindings ORDER BY name, host;
            SELECT prefix, destination FROM egress_routes ORDER BY prefix;
            """;
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken);
        await using var command = new NpgsqlCommand(Sql, connection, transaction);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var settings = new EgressSettings(reader.GetString(0), reader.GetBoolean(1), reader.GetInt64(2));
        await reader.NextResultAsync(cancellationToken);
        var hosts = new List<EgressHost>();
        while (await reader.ReadAsync(cancellationToken))
        {
            hosts.Add(ReadHost(reader));
        }

        await reader.NextResultAsync(cancellationToken);
        var bindings = new List<EgressBinding>();
        while (await reader.ReadAsync(cancellationToken))
        {
            bindings.Add(ReadBinding(reader));
        }

        await reader.NextResultAsync(cancellationToken);
        var routes = new List<EgressRoute>();
        while (await reader.ReadAsync(cancellationToken))
        {
            routes.Add(new EgressRoute(reader.GetString(0), reader.GetString(1)));
        }

        return TypedResults.Ok(new EgressPolicyDocument(settings, hosts, bindings, routes));
    }

    private static async Task<Results<Ok<EgressSettings>, ProblemHttpResult>> PutSettingsAsync(
        EgressSettingsRequest request, NpgsqlDataSource db, CancellationToken cancellationToken)
    {
        if (request.Mode is not (null or "enforce" or "report"))
        {
            return EgressValidation.Problem("egress_invalid_mode", "mode must be enforce or report.");
        }

        const string Sql = """
            UPDATE egress_settings SET mode = coalesce(@mode, mode), deny_in_tunnel = coalesce(@deny_in_tunnel, deny_in_tunnel)
            WHERE id = 1 RETURNING mode, deny_in_tunnel, version
            """;
        await using var command = db.CreateCommand(Sql);
        command.Parameters.Add(new NpgsqlParameter<string?>("mode", NpgsqlDbType.Text) { TypedValue = request.Mode });
        command.Parameters.Add(new NpgsqlParameter<bool?>("deny_in_tunnel", NpgsqlDbType.Boolean) { TypedValue = request.DenyInTunnel });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return TypedResults.Ok(new EgressSettings(reader.GetString(0), reader.GetBoolean(1), reader.GetInt64(2)));
    }

    private static async Task<Results<Ok<EgressChange>, ProblemHttpResult>> PutHostAsync(
        string host, EgressHostRequest request, NpgsqlDataSource db, CancellationToken cancellationToken)
    {
        host = host.ToLowerInvariant();
        if ((EgressValidation.Host(host, allowAny: true) ?? EgressValidation.HostRequest(request)) is { } problem)
        {
            return problem;
        }

        const string Sql = """
            INSERT INTO egress_hosts (host, ports, request_headers, allow_private, connect_to, trusted_ca_pem, note)
            VALUES (@host, @ports, @request_headers, @allow_private, @connect_to, @trusted_ca_pem, @note)
            ON CONFLICT (host) DO UPDATE SET ports = EXCLUDED.ports, request_headers = EXCLUDED.request_headers,
                allow_private = EXCLUDED.allow_private, connect_to = EXCLUDED.connect_to,
                trusted_ca_pem = EXCLUDED.trusted_ca_pem, note = EXCLUDED.note, updated_at = now()
            """;
        return TypedResults.Ok(await ChangeAsync(db, Sql, cancellationToken, command =>
        {
            command.Parameters.AddWithValue("host", host);
            command.Parameters.AddWithValue("ports", request.Ports ?? [443, 80]);
            command.Parameters.Add(new NpgsqlParameter<string[]?>("request_headers", NpgsqlDbType.Array | NpgsqlDbType.Text)
            {
                TypedValue = request.RequestHeaders?.Select(h => h.ToLowerInvariant()).ToArray(),
            });
            command.Parameters.AddWithValue("allow_private", request.AllowPrivate ?? false);
            command.Parameters.Add(new NpgsqlParameter<string?>("connect_to", NpgsqlDbType.Text) { TypedValue = request.ConnectTo });
            command.Parameters.Add(new NpgsqlParameter<string?>("trusted_ca_pem", NpgsqlDbType.Text) { TypedValue = request.TrustedCaPem });
            command.Parameters.Add(new NpgsqlParameter<string?>("note", NpgsqlDbType.Text) { TypedValue = request.Note });
        }));
    }

    private static async Task<Results<Ok<EgressChange>, NotFound>> DeleteHostAsync(string host, NpgsqlDataSource db, CancellationToken cancellationToken)
    {
        var change = await ChangeAsync(db, "DELETE FROM egress_hosts WHERE host = @host", cancellationToken,
            command => command.Parameters.AddWithValue("host", host.ToLowerInvariant()));
        return change is null ? TypedResults.NotFound() : TypedResults.Ok(change);
    }

    private static async Task<Results<Ok<EgressChange>, ProblemHttpResult>> PutBindingAsync(
        string name, EgressBindingRequest request, NpgsqlDataSource db, CancellationToken cancellationToken)
    {
        if (EgressValidation.BindingRequest(name, request with { Host = request.Host?.ToLowerInvariant() }) is { } problem)
        {
            return problem;
        }

        const string Sql = """
            INSERT INTO egress_bindings (name, host, headers, format, secret, allow_passthrough)
            VALUES (@name, @host, @headers, @format, @secret, @allow_passthrough)
            ON CONFLICT (name, host) DO UPDATE SET headers = EXCLUDED.headers, format = EXCLUDED.format,
                secret = EXCLUDED.secret, allow_passthrough = EXCLUDED.allow_passthrough, updated_at = now()
            """;
        return TypedResults.Ok(await ChangeAsync(db, Sql, cancellationToken, command =>
        {
            command.Parameters.AddWithValue("name", name);
            command.Parameters.AddWithValue("host", request.Host!.ToLowerInvariant());
            command.Parameters.AddWithValue("headers", request.Headers!.Select(h => h.ToLowerInvariant()).ToArray());
            command.Parameters.AddWithValue("format", request.Format!);
            command.Parameters.AddWithValue("secret", request.Secret!);
            command.Parameters.AddWithValue("allow_passthrough", request.AllowPassthrough ?? false);
        }));
    }

    private static async Task<Results<Ok<EgressChange>, NotFound>> DeleteBindingAsync(
        string name, string? host, NpgsqlDataSource db, CancellationToken cancellationToken)
    {
        var change = await ChangeAsync(db, "DELETE FROM egress_bindings WHERE name = @name AND (@host::text IS NULL OR host = @host)", cancellationToken,
            command =>
            {
                command.Parameters.AddWithValue("name", name);
                command.Parameters.Add(new NpgsqlParameter<string?>("host", NpgsqlDbType.Text) { TypedValue = host?.ToLowerInvariant() });
            });
        return change is null ? TypedResults.NotFound() : TypedResults.Ok(change);
    }

    private static async Task<Results<Ok<EgressChange>, ProblemHttpResult>> PutRouteAsync(
        string prefix, EgressRouteRequest request, NpgsqlDataSource db, CancellationToken cancellationToken)
    {
        if (EgressValidation.Route(prefix, request) is { } problem)
        {
            return problem;
        }

        const string Sql = """
            INSERT INTO egress_routes (prefix, destination) VALUES (@prefix, @destination)
            ON CONFLICT (prefix) DO UPDATE SET destination = EXCLUDED.destination
            """;
        return TypedResults.Ok(await ChangeAsync(db, Sql, cancellationToken, command =>
        {
            command.Parameters.AddWithValue("prefix", prefix);
            command.Parameters.AddWithValue("destination", request.Destination!);
        }));
    }

    private static async Task<Results<Ok<EgressChange>, NotFound>> DeleteRouteAsync(string prefix, NpgsqlDataSource db, CancellationToken cancellationToken)
    {
        var change = await ChangeAsync(db, "DELETE FROM egress_routes WHERE prefix = @prefix", cancellationToken,
            command => command.Parameters.AddWithValue("prefix", prefix));
        return change is null ? TypedResults.NotFound() : TypedResults.Ok(change);
    }

    private static async Task<Ok<EgressAuditPage>> GetAuditAsync(
        [FromQuery(Name = "thread_key")] string? threadKey, [FromQuery(Name = "after_id")] long? afterId, int? limit, NpgsqlDataSource db, CancellationToken cancellationToken)
    {
        const string Sql = """
            SELECT id, created_at, thread_key, sandbox_id, mode, method, scheme, host, port, path, status,
                   bytes_in, bytes_out, duration_ms, bindings, decision, reason
            FROM egress_audit
            WHERE (@thread_key::text IS NULL OR thread_key = @thread_key) AND id > @after_id
            ORDER BY id LIMIT @limit
            """;
        await using var command = db.CreateCommand(Sql);
        command.Parameters.Add(new NpgsqlParameter<string?>("thread_key", NpgsqlDbType.Text) { TypedValue = threadKey });
        command.Parameters.AddWithValue("after_id", afterId ?? 0);
        command.Parameters.AddWithValue("limit", Math.Clamp(limit ?? 100, 1, 1000));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<EgressAuditRow>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new EgressAuditRow(
                reader.GetInt64(0), reader.GetFieldValue<DateTimeOffset>(1),
                reader.IsDBNull(2) ? null : reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.GetString(4), reader.GetString(5), reader.GetString(6), reader.GetString(7), reader.GetInt32(8),
                reader.GetString(9), reader.GetInt32(10), reader.GetInt64(11), reader.GetInt64(12), reader.GetDouble(13),
                reader.GetFieldValue<string[]>(14), reader.GetString(15), reader.IsDBNull(16) ? null : reader.GetString(16)));
        }

        return TypedResults.Ok(new EgressAuditPage(rows, rows.Count > 0 ? rows[^1].Id : afterId ?? 0));
    }

    /// <summary>Runs one change and reads the version it produced, in one transaction; null when nothing matched.</summary>
    private static async Task<EgressChange?> ChangeAsync(NpgsqlDataSource db, string sql, CancellationToken cancellationToken, Action<NpgsqlCommand> bind)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        bind(command);
        var affected = await command.ExecuteNonQueryAsync(cancellationToken);
        await using var version = new NpgsqlCommand(VersionSql, connection, transaction);
        var result = new EgressChange((long)(await version.ExecuteScalarAsync(cancellationToken))!);
        await transaction.CommitAsync(cancellationToken);
        return affected == 0 ? null : result;
    }

    private static EgressHost ReadHost(NpgsqlDataReader reader) => new(
        reader.GetString(0), reader.GetFieldValue<int[]>(1), reader.IsDBNull(2) ? null : reader.GetFieldValue<string[]>(2),
        reader.GetBoolean(3), reader.IsDBNull(4) ? null : reader.GetString(4), reader.GetBoolean(5), reader.IsDBNull(6) ? null : reader.GetString(6));

    private static EgressBinding ReadBinding(NpgsqlDataReader reader) => new(
        reader.GetString(0), reader.GetString(1), reader.GetFieldValue<string[]>(2), reader.GetString(3), reader.GetString(4),
        reader.GetBoolean(5), "centaur-placeholder:" + reader.GetString(0));
}
