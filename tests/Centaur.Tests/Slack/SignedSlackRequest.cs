using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Centaur.Slack.Inbound;

namespace Centaur.Tests.Slack;

/// <summary>Builds requests exactly as Slack sends them: raw body, X-Slack-Request-Timestamp, v0 signature.</summary>
internal static class SignedSlackRequest
{
    public const string Secret = "8f742231b10e8888abcd99yyyzzz85a5";

    public static HttpRequestMessage Event(JsonObject body, DateTimeOffset? at = null, string secret = Secret, int? retryNum = null) =>
        Build("/slack/events", body.ToJsonString(), "application/json", at, secret, retryNum);

    public static HttpRequestMessage Build(string path, string body, string contentType, DateTimeOffset? at = null, string secret = Secret, int? retryNum = null)
    {
        var timestamp = (at ?? DateTimeOffset.UtcNow).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var bytes = Encoding.UTF8.GetBytes(body);
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(bytes) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(contentType);
        request.Headers.Add("X-Slack-Request-Timestamp", timestamp);
        request.Headers.Add("X-Slack-Signature", SlackSignature.Compute(secret, timestamp, bytes));
        if (retryNum is { } retry)
        {
            request.Headers.Add("X-Slack-Retry-Num", retry.ToString(CultureInfo.InvariantCulture));
            request.Headers.Add("X-Slack-Retry-Reason", "http_timeout");
        }

        return request;
    }

    public static HttpRequestMessage Interactivity(JsonObject payload) =>
        Build("/slack/interactivity", "payload=" + Uri.EscapeDataString(payload.ToJsonString()), "application/x-www-form-urlencoded");
}

/// <summary>Slack payloads shaped like the fixtures in the Slack reference (§10).</summary>
internal static class SlackPayloads
{
    private static long s_counter = 1_710_000_000;

    /// <summary>A fresh channel id per test, so tests sharing one database never see each other's threads.</summary>
    public static string NewChannel() => "C" + Guid.NewGuid().ToString("N")[..10].ToUpperInvariant();

    public static string NewTs() => $"{Interlocked.Increment(ref s_counter)}.000100";

    public static string NewEventId() => "Ev" + Guid.NewGuid().ToString("N")[..12].ToUpperInvariant();

    public static JsonObject Callback(JsonObject inner, string? eventId = null) => new()
    {
        ["token"] = "fixed-value",
        ["team_id"] = "T0001",
        ["api_app_id"] = "A0001",
        ["event"] = inner.DeepClone(),
        ["type"] = "event_callback",
        ["event_id"] = eventId ?? NewEventId(),
        ["event_time"] = 1_605_853_844,
        ["authorizations"] = new JsonArray(new JsonObject { ["team_id"] = "T0001", ["user_id"] = "UCENTAUR", ["is_bot"] = true }),
    };

    public static JsonObject AppMention(string channel, string ts, string text, string user = "UALICE", string? threadTs = null)
    {
        var inner = new JsonObject
        {
            ["type"] = "app_mention", ["user"] = user, ["text"] = $"<@UCENTAUR> {text}", ["ts"] = ts, ["channel"] = channel, ["event_ts"] = ts,
        };
        if (threadTs is not null)
        {
            inner["thread_ts"] = threadTs;
        }

        return inner;
    }

    public static JsonObject Message(string channel, string ts, string text, string user = "UALICE", string channelType = "channel", string? threadTs = null)
    {
        var inner = new JsonObject
        {
            ["type"] = "message", ["user"] = user, ["text"] = text, ["ts"] = ts, ["channel"] = channel, ["event_ts"] = ts, ["channel_type"] = channelType,
        };
        if (threadTs is not null)
        {
            inner["thread_ts"] = threadTs;
        }

        return inner;
    }

    public static JsonObject StopClick(string channel, string messageTs, long executionId) => new()
    {
        ["type"] = "block_actions",
        ["user"] = new JsonObject { ["id"] = "UALICE" },
        ["api_app_id"] = "A0001",
        ["container"] = new JsonObject { ["type"] = "message", ["message_ts"] = messageTs, ["channel_id"] = channel },
        ["trigger_id"] = $"{Guid.NewGuid():N}",
        ["channel"] = new JsonObject { ["id"] = channel },
        ["actions"] = new JsonArray(new JsonObject
        {
            ["action_id"] = "centaur.stop", ["block_id"] = "centaur.controls", ["value"] = executionId.ToString(CultureInfo.InvariantCulture),
            ["type"] = "button", ["action_ts"] = "1605853645.582706",
        }),
    };

    /// <summary>A click on a button of <paramref name="message"/> (a message the fake holds), by <paramref name="user"/>.</summary>
    public static JsonObject ButtonClick(Fakes.FakeSlack.FakeSlackMessage message, string actionId, string user)
    {
        var button = message.Blocks!.OfType<JsonObject>().SelectMany(b => b["elements"]?.AsArray().OfType<JsonObject>() ?? [])
            .Single(e => (string?)e["action_id"] == actionId);
        return new JsonObject
        {
            ["type"] = "block_actions",
            ["user"] = new JsonObject { ["id"] = user },
            ["api_app_id"] = "A0001",
            ["container"] = new JsonObject { ["type"] = "message", ["message_ts"] = message.Ts, ["channel_id"] = message.Channel },
            ["trigger_id"] = $"{Guid.NewGuid():N}",
            ["channel"] = new JsonObject { ["id"] = message.Channel },
            ["message"] = new JsonObject { ["ts"] = message.Ts, ["thread_ts"] = message.ThreadTs },
            ["actions"] = new JsonArray(new JsonObject
            {
                ["action_id"] = actionId, ["block_id"] = "centaur.egress", ["value"] = (string?)button["value"],
                ["type"] = "button", ["action_ts"] = "1605853645.582706",
            }),
        };
    }
}
