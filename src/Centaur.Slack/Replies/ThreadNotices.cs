using System.Text.Json.Nodes;
using Centaur.Slack.Formatting;
using Centaur.Slack.WebApi;
using Npgsql;

namespace Centaur.Slack.Replies;

/// <summary>
/// The small messages posted beside an answer (slack_notices), each exactly once: the Stop controls of a natively
/// streamed answer, deleted when the turn ends, and one "Allow &lt;host&gt; for this thread" notice per host the proxy
/// refused. A row is written before the post; a row without ts after a crash is looked up by its metadata first.
/// </summary>
internal sealed class ThreadNotices(SlackApiClient slack, NpgsqlDataSource dataSource, ILogger<ThreadNotices> logger)
{
    public const string AllowEgressAction = "centaur.egress_allow";
    public const string ControlsKind = "controls";
    public const string EgressBlockedKind = "egress_blocked";

    private const string GetSql = "SELECT ts, removed FROM slack_notices WHERE execution_id = @execution_id AND kind = @kind AND key = @key";

    private const string IntentSql = """
        INSERT INTO slack_notices (execution_id, kind, key) VALUES (@execution_id, @kind, @key) ON CONFLICT DO NOTHING
        """;

    private const string PostedSql = "UPDATE slack_notices SET ts = @ts WHERE execution_id = @execution_id AND kind = @kind AND key = @key";

    private const string RemovedSql = "UPDATE slack_notices SET removed = true WHERE execution_id = @execution_id AND kind = @kind AND key = @key";

    /// <summary>
    /// Native streams cannot carry blocks while they stream, so Stop goes in a message of its own under the answer.
    /// Nothing is posted again once the controls were removed (the turn ended).
    /// </summary>
    public Task EnsureControlsAsync(ReplyRow reply, CancellationToken cancellationToken) =>
        EnsureAsync(reply, ControlsKind, "", "Working on it… press Stop to cancel.", ControlsBlocks(reply.ExecutionId), cancellationToken);

    /// <summary>Deletes the Stop controls of a finished turn, if it had any.</summary>
    public async Task RemoveControlsAsync(ReplyRow reply, CancellationToken cancellationToken)
    {
        var (exists, ts, removed) = await GetAsync(reply.ExecutionId, ControlsKind, "", cancellationToken);
        if (!exists || removed)
        {
            return;
        }

        ts ??= await FindAsync(reply, ControlsKind, "", cancellationToken);
        if (ts is not null)
        {
            await slack.DeleteAsync(reply.Channel, ts, cancellationToken);
        }

        await ExecuteAsync(RemovedSql, reply.ExecutionId, ControlsKind, "", null, cancellationToken);
    }

    /// <summary>The proxy refused <paramref name="host"/> during this turn: say so once, with the allow button.</summary>
    public Task EgressBlockedAsync(ReplyRow reply, string host, CancellationToken cancellationToken)
    {
        var shown = MrkdwnConverter.Escape(host);
        var text = $":no_entry: The sandbox was refused `{shown}`: it is not on the egress allowlist.";
        JsonArray blocks =
        [
            new JsonObject { ["type"] = "section", ["text"] = new JsonObject { ["type"] = "mrkdwn", ["text"] = text } },
            new JsonObject
            {
                ["type"] = "actions",
                ["block_id"] = "centaur.egress",
                ["elements"] = new JsonArray(new JsonObject
                {
                    ["type"] = "button",
                    ["action_id"] = AllowEgressAction,
                    ["text"] = new JsonObject { ["type"] = "plain_text", ["text"] = AllowLabel(host) },
                    ["value"] = new JsonObject { ["thread_key"] = reply.ThreadKey, ["host"] = host }.ToJsonString(),
                }),
            },
            new JsonObject
            {
                ["type"] = "context",
                ["elements"] = new JsonArray(new JsonObject { ["type"] = "mrkdwn", ["text"] = "A workspace admin can allow it for this thread only." }),
            },
        ];
        return EnsureAsync(reply, EgressBlockedKind, host, text, blocks, cancellationToken);
    }

    /// <summary>Slack caps a button label at 75 characters; long host names are shortened in the label only.</summary>
    internal static string AllowLabel(string host) =>
        $"Allow {(host.Length > 40 ? host[..18] + "…" + host[^18..] : host)} for this thread";

    private static JsonArray ControlsBlocks(long executionId) =>
    [
        new JsonObject
        {
            ["type"] = "context",
            ["elements"] = new JsonArray(new JsonObject { ["type"] = "mrkdwn", ["text"] = ":hourglass_flowing_sand: Working on it…" }),
        },
        ReplyPoster.StopControls(executionId),
    ];

    private async Task EnsureAsync(ReplyRow reply, string kind, string key, string text, JsonArray blocks, CancellationToken cancellationToken)
    {
        var (exists, ts, removed) = await GetAsync(reply.ExecutionId, kind, key, cancellationToken);
        if (ts is not null || removed)
        {
            return;
        }

        if (exists && await FindAsync(reply, kind, key, cancellationToken) is { } found)
        {
            await ExecuteAsync(PostedSql, reply.ExecutionId, kind, key, found, cancellationToken);
            return;
        }

        await ExecuteAsync(IntentSql, reply.ExecutionId, kind, key, null, cancellationToken);
        var posted = await slack.PostMessageAsync(
            new SlackMessage(reply.Channel, reply.ThreadTs, text, blocks, reply.ExecutionId, Notice: NoticeId(kind, key)), cancellationToken);
        await ExecuteAsync(PostedSql, reply.ExecutionId, kind, key, posted, cancellationToken);
        logger.NoticePosted(reply.ExecutionId, kind);
    }

    private async Task<string?> FindAsync(ReplyRow reply, string kind, string key, CancellationToken cancellationToken)
    {
        var notice = NoticeId(kind, key);
        var messages = await slack.RepliesAsync(reply.Channel, reply.ThreadTs, null, cancellationToken);
        return messages
            .Where(m => (string?)m["metadata"]?["event_type"] == SlackMessage.MetadataType
                && (long?)m["metadata"]?["event_payload"]?["execution_id"] == reply.ExecutionId
                && (string?)m["metadata"]?["event_payload"]?["notice"] == notice)
            .Select(m => (string?)m["ts"])
            .FirstOrDefault();
    }

    private static string NoticeId(string kind, string key) => key.Length == 0 ? kind : $"{kind}:{key}";

    private async Task<(bool Exists, string? Ts, bool Removed)> GetAsync(long executionId, string kind, string key, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(GetSql);
        Bind(command, executionId, kind, key);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? (true, reader.IsDBNull(0) ? null : reader.GetString(0), reader.GetBoolean(1))
            : (false, null, false);
    }

    private async Task ExecuteAsync(string sql, long executionId, string kind, string key, string? ts, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(sql);
        Bind(command, executionId, kind, key);
        if (ts is not null)
        {
            command.Parameters.AddWithValue("ts", ts);
        }

        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static void Bind(NpgsqlCommand command, long executionId, string kind, string key)
    {
        command.Parameters.AddWithValue("execution_id", executionId);
        command.Parameters.AddWithValue("kind", kind);
        command.Parameters.AddWithValue("key", key);
    }
}
