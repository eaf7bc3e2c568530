using System.Text.Json.Serialization;
using Centaur.Api.Auth;
using Centaur.Api.Errors;
using Centaur.Api.Threads;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace Centaur.Api.Egress;

/// <summary>
/// Per-thread egress allowances (0013_egress_thread_allowances.sql): one thread's sandbox may reach one more exact host
/// on ports 443 and 80. Operators call it, and so does the Slack adapter (scope egress_grant) for a workspace admin who
/// pressed "Allow &lt;host&gt; for this thread"; granted_by names that person. Every grant and revoke is audited in the
/// same transaction, and the change bumps the policy version the proxies reload.
/// </summary>
internal static class ThreadAllowanceEndpoints
{
    private const int MaxHostLength = 253;
    private const int MaxActorLength = 256;

    public static RouteGroupBuilder MapThreadAllowances(this IEndpointRouteBuilder endpoints)
    {
        var threads = endpoints.MapGroup("/egress/threads/{threadKey}/hosts").WithTags("Egress")
            .RequireAuthorization(AuthExtensions.EgressGrantPolicy).AddEndpointFilter<TextInputFilter>();
        threads.MapGet("/", ListAsync);
        threads.MapPut("/{host}", GrantAsync);
        threads.MapDelete("/{host}", RevokeAsync);
        return threads;
    }

    private static async Task<Results<Ok<IReadOnlyList<ThreadAllowance>>, ProblemHttpResult>> ListAsync(
        string threadKey, NpgsqlDataSource db, CancellationToken cancellationToken)
    {
        threadKey = ThreadKey.FromRoute(threadKey);
        if (ThreadKey.Validate(threadKey) is { } keyError)
        {
            return Problems.BadRequest("invalid_thread_key", keyError, "thread_key");
        }

        const string Sql = "SELECT thread_key, host, granted_by, created_at FROM egress_thread_allowances WHERE thread_key = @thread_key ORDER BY host";
        await using var command = db.CreateCommand(Sql);
        command.Parameters.AddWithValue("thread_key", threadKey);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<ThreadAllowance>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new ThreadAllowance(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetFieldValue<DateTimeOffset>(3), null));
        }

        return TypedResults.Ok<IReadOnlyList<ThreadAllowance>>(rows);
    }

    /// <summary>Idempotent: granting an allowance that exists answers the existing one (its first granter) and audits nothing.</summary>
    private static async Task<Results<Ok<ThreadAllowance>, ProblemHttpResult>> GrantAsync(
        string threadKey, string host, ThreadAllowanceRequest request, HttpContext context, NpgsqlDataSource db, CancellationToken cancellationToken)
    {
        threadKey = ThreadKey.FromRoute(threadKey);
        host = host.ToLowerInvariant();
        if (Validate(threadKey, host) is { } problem)
        {
            return problem;
        }

        // A client that acts for someone else must say who; an operator's own key stands for the operator.
        var client = context.ClientName();
        var isAdmin = context.User.HasClaim(ApiKeyAuthenticationHandler.ScopeClaim, Scopes.Admin);
        var actor = request.GrantedBy ?? (isAdmin ? client : null);
        if (actor is null)
        {
            return Problems.BadRequest("egress_granted_by_required", "granted_by must name the person this allowance is granted for (e.g. slack:U123).", "granted_by");
        }

        if (actor.Length is 0 or > MaxActorLength || actor.Any(char.IsControl))
        {
            return Problems.BadRequest("egress_invalid_granted_by", $"granted_by must be 1-{MaxActorLength} characters without control characters.", "granted_by");
        }

        const string InsertSql = """
            WITH granted AS (
                INSERT INTO egress_thread_allowances (thread_key, host, granted_by) VALUES (@thread_key, @host, @actor)
                ON CONFLICT (thread_key, host) DO NOTHING
                RETURNING thread_key, host),
            audited AS (
                INSERT INTO egress_allowance_audit (action, thread_key, host, actor, client)
                SELECT 'grant', thread_key, host, @actor, @client FROM granted)
            SELECT count(*) FROM granted
            """;
        const string ReadSql = """
            SELECT a.thread_key, a.host, a.granted_by, a.created_at, s.version
            FROM egress_thread_allowances a, egress_settings s WHERE a.thread_key = @thread_key AND a.host = @host AND s.id = 1
            """;
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var insert = new NpgsqlCommand(InsertSql, connection, transaction))
        {
            insert.Parameters.AddWithValue("thread_key", threadKey);
            insert.Parameters.AddWithValue("host", host);
            insert.Parameters.AddWithValue("actor", actor);
            insert.Parameters.AddWithValue("client", client);
            await insert.ExecuteScalarAsync(cancellationToken);
        }

        ThreadAllowance allowance;
        await using (var read = new NpgsqlCommand(ReadSql, connection, transaction))
        {
            read.Parameters.AddWithValue("thread_key", threadKey);
            read.Parameters.AddWithValue("host", host);
            await using var reader = await read.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            allowance = new ThreadAllowance(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetFieldValue<DateTimeOffset>(3), reader.GetInt64(4));
        }

        await transaction.CommitAsync(cancellationToken);
        return TypedResults.Ok(allowance);
    }

    private static async Task<Results<Ok<EgressChange>, NotFound, ProblemHttpResult>> RevokeAsync(
        string threadKey, string host, HttpContext context, NpgsqlDataSource db, CancellationToken cancellationToken)
    {
        threadKey = ThreadKey.FromRoute(threadKey);
        host = host.ToLowerInvariant();
        if (Validate(threadKey, host) is { } problem)
        {
            return problem;
        }

        const string Sql = """
            WITH revoked AS (
                DELETE FROM egress_thread_allowances WHERE thread_key = @thread_key AND host = @host RETURNING thread_key, host),
            audited AS (
                INSERT INTO egress_allowance_audit (action, thread_key, host, actor, client)
                SELECT 'revoke', thread_key, host, @client, @client FROM revoked)
            SELECT count(*) FROM revoked
            """;
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var command = new NpgsqlCommand(Sql, connection, transaction);
        command.Parameters.AddWithValue("thread_key", threadKey);
        command.Parameters.AddWithValue("host", host);
        command.Parameters.AddWithValue("client", context.ClientName());
        var removed = (long)(await command.ExecuteScalarAsync(cancellationToken))!;
        await using var version = new NpgsqlCommand("SELECT version FROM egress_settings WHERE id = 1", connection, transaction);
        var change = new EgressChange((long)(await version.ExecuteScalarAsync(cancellationToken))!);
        await transaction.CommitAsync(cancellationToken);
        return removed == 0 ? TypedResults.NotFound() : TypedResults.Ok(change);
    }

    private static ProblemHttpResult? Validate(string threadKey, string host)
    {
        if (ThreadKey.Validate(threadKey) is { } keyError)
        {
            return Problems.BadRequest("invalid_thread_key", keyError, "thread_key");
        }

        // Exact names only: a wildcard or '*' for one thread would be a policy change, not an exception.
        return host.Length > MaxHostLength || host.Contains('*', StringComparison.Ordinal) || EgressValidation.Host(host, allowAny: false) is not null
            ? EgressValidation.Problem("egress_invalid_host", $"'{host}' is not an exact host name (lower case, no wildcards, at most {MaxHostLength} characters).")
            : null;
    }
}

internal sealed record ThreadAllowanceRequest([property: JsonPropertyName("granted_by")] string? GrantedBy);

internal sealed record ThreadAllowance(
    [property: JsonPropertyName("thread_key")] string ThreadKey,
    [property: JsonPropertyName("host")] string Host,
    [property: JsonPropertyName("granted_by")] string GrantedBy,
    [property: JsonPropertyName("created_at")] DateTimeOffset CreatedAt,
    [property: JsonPropertyName("policy_version")] long? PolicyVersion);
