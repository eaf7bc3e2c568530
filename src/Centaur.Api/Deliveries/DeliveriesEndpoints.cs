using System.Text.Json.Nodes;
using Centaur.Api.Auth;
using Centaur.Api.Errors;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace Centaur.Api.Deliveries;

internal sealed record ClaimRequest(string? Client, int? Max, int? LeaseSeconds);

internal sealed record Delivery(long DeliveryId, long ExecutionId, string ThreadKey, string State, string? Result, JsonNode? Error,
    int Attempts, string LeaseToken);

internal sealed record AckRequest(string? LeaseToken, string? ExternalRef);

internal sealed record AckResponse(long DeliveryId, string State, string? ExternalRef);

/// <summary>
/// The final-delivery outbox: a client claims final answers under a lease, posts them, and acknowledges. A client
/// that crashes between "posted" and "acked" gets the row again after the lease, with the external_ref it may
/// have stored, so it can check before posting twice.
/// </summary>
internal static class DeliveriesEndpoints
{
    public static RouteGroupBuilder MapDeliveries(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/agent/deliveries").WithTags("Deliveries").RequireAuthorization(AuthExtensions.AgentPolicy)
            .AddEndpointFilter<TextInputFilter>();
        group.MapPost("/claim", ClaimAsync);
        group.MapPost("/{deliveryId:long}/ack", AckAsync);
        return group;
    }

    private static async Task<Results<Ok<IReadOnlyList<Delivery>>, ProblemHttpResult>> ClaimAsync(
        ClaimRequest request, NpgsqlDataSource db, HttpContext context, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(request.Client) || !Threads.ThreadsEndpoints.IsName(request.Client))
        {
            return Problems.BadRequest("missing_field", "client is required (a thread key source such as 'slack')", "client");
        }

        const string Sql = """
            WITH picked AS (
                SELECT o.id FROM agent_final_delivery_outbox o
                WHERE o.client = @client AND (o.state = 'pending' OR (o.state = 'claimed' AND o.lease_expires_at < now()))
                ORDER BY o.id LIMIT @max
                FOR UPDATE SKIP LOCKED
            )
            UPDATE agent_final_delivery_outbox o
            SET state = 'claimed', claimed_by = @claimer || ':' || md5(random()::text || o.id::text),
                lease_expires_at = now() + make_interval(secs => @lease), attempts = o.attempts + 1
            FROM picked, agent_execution_requests e
            WHERE o.id = picked.id AND e.id = o.execution_id
            RETURNING o.id, o.execution_id, o.thread_key, e.state, e.result_text, e.error::text, o.attempts, o.claimed_by
            """;
        await using var command = db.CreateCommand(Sql);
        command.Parameters.AddWithValue("client", request.Client);
        command.Parameters.AddWithValue("max", Math.Clamp(request.Max ?? 10, 1, 100));
        command.Parameters.AddWithValue("lease", (double)Math.Clamp(request.LeaseSeconds ?? 60, 5, 3600));
        command.Parameters.AddWithValue("claimer", context.ClientName());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var deliveries = new List<Delivery>();
        while (await reader.ReadAsync(cancellationToken))
        {
            deliveries.Add(new Delivery(reader.GetInt64(0), reader.GetInt64(1), reader.GetString(2), reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetString(4), reader.IsDBNull(5) ? null : JsonNode.Parse(reader.GetString(5)),
                reader.GetInt32(6), reader.GetString(7)));
        }

        deliveries.Sort((a, b) => a.DeliveryId.CompareTo(b.DeliveryId));
        return TypedResults.Ok<IReadOnlyList<Delivery>>(deliveries);
    }

    private static async Task<Results<Ok<AckResponse>, ProblemHttpResult>> AckAsync(
        long deliveryId, AckRequest request, NpgsqlDataSource db, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(request.LeaseToken))
        {
            return Problems.BadRequest("missing_field", "lease_token is required", "lease_token");
        }

        const string Sql = """
            UPDATE agent_final_delivery_outbox
            SET state = 'delivered', delivered_at = coalesce(delivered_at, now()), external_ref = coalesce(@external_ref, external_ref)
            WHERE id = @id AND claimed_by = @token AND state IN ('claimed', 'delivered')
            RETURNING id, state, external_ref
            """;
        await using var command = db.CreateCommand(Sql);
        command.Parameters.AddWithValue("id", deliveryId);
        command.Parameters.AddWithValue("token", request.LeaseToken);
        command.Parameters.Add(new NpgsqlParameter<string?>("external_ref", NpgsqlTypes.NpgsqlDbType.Text) { TypedValue = request.ExternalRef });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (await reader.ReadAsync(cancellationToken))
        {
            return TypedResults.Ok(new AckResponse(reader.GetInt64(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2)));
        }

        return Problems.Conflict("lease_lost", $"delivery {deliveryId} is not claimed with this lease token (it expired and was claimed again, or does not exist)");
    }
}
