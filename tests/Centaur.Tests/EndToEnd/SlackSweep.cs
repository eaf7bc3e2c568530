using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Centaur.Slack.Inbound;
using Centaur.Tests.Slack;
using static Centaur.Tests.EndToEnd.SweepCase;

namespace Centaur.Tests.EndToEnd;

/// <summary>The bad requests every Centaur.Slack endpoint gets: Slack's signature is its only credential.</summary>
internal static class SlackSweep
{
    /// <summary>Slack's own limit is 1 MiB per request.</summary>
    private const long Oversize = 2L * 1024 * 1024;

    public static readonly IReadOnlyList<string> Endpoints = ["/slack/events", "/slack/interactivity", "/slack/commands"];

    public static IEnumerable<SweepCase> Cases() => Endpoints.SelectMany(For).Concat(Service());

    private static IEnumerable<SweepCase> For(string path)
    {
        var name = $"POST {path}";
        var (body, contentType) = WellFormed(path);
        var now = DateTimeOffset.UtcNow;

        yield return new(name, "unknown method", Signed("GET", path, "", contentType, now), 405, "method_not_allowed");
        yield return new(name, "unsigned", Http("POST", path, body: body, contentType: contentType), 401, "slack_signature_missing");
        yield return new(name, "timestamp without signature", Http("POST", path, body: body, contentType: contentType,
            headers: [("X-Slack-Request-Timestamp", Timestamp(now))]), 401, "slack_signature_missing");
        yield return new(name, "signed with another secret", Signed("POST", path, body, contentType, now, "not-the-signing-secret-0123456789"), 401, "slack_signature_invalid");
        yield return new(name, "signature of another body", Signed("POST", path, body, contentType, now, signedBody: body + " "), 401, "slack_signature_invalid");
        yield return new(name, "garbage signature", Http("POST", path, body: body, contentType: contentType,
            headers: [("X-Slack-Request-Timestamp", Timestamp(now)), ("X-Slack-Signature", "v0=zz")]), 401, "slack_signature_invalid");
        yield return new(name, "timestamp not a number", Http("POST", path, body: body, contentType: contentType,
            headers: [("X-Slack-Request-Timestamp", "yesterday"), ("X-Slack-Signature", "v0=00")]), 401, null);
        yield return new(name, "replayed after 10 minutes", Signed("POST", path, body, contentType, now.AddMinutes(-10)), 401, "slack_timestamp_stale");
        yield return new(name, "oversize, announced", Http("POST", path, body: "{", contentType: contentType, declaredLength: Oversize), 413, "slack_body_too_large");
        yield return new(name, "oversize, signed", Signed("POST", path, body + new string(' ', (int)Oversize), contentType, now), 413, "slack_body_too_large");
        yield return new(name, "another app", Signed("POST", path, ForApp(path, "A9999"), contentType, now), 400, "slack_wrong_app");
        yield return new(name, "path traversal", Signed("POST", path + "/..%2F..%2Fetc%2Fpasswd", body, contentType, now), 404, "not_found");

        foreach (var (what, malformed, code) in Malformed(path))
        {
            yield return new(name, what, Signed("POST", path, malformed, contentType, now), 400, code);
        }
    }

    private static IEnumerable<SweepCase> Service()
    {
        const string Name = "(any path)";
        yield return new(Name, "dot segments to /etc/passwd", Http("GET", "/slack/../../../etc/passwd"), 404, "not_found");
        yield return new(Name, "encoded dots", Http("GET", "/slack/%2e%2e/%2e%2e/appsettings.json"), 404, "not_found");
    }

    private static (string Body, string ContentType) WellFormed(string path) => path switch
    {
        "/slack/events" => (ForApp(path, "A0001"), "application/json"),
        _ => (ForApp(path, "A0001"), "application/x-www-form-urlencoded"),
    };

    private static string ForApp(string path, string appId)
    {
        var channel = SlackPayloads.NewChannel();
        return path switch
        {
            "/slack/events" => Callback(channel, appId).ToJsonString(),
            "/slack/interactivity" => "payload=" + Uri.EscapeDataString(Click(channel, appId).ToJsonString()),
            _ => $"command=%2Fcentaur&text=hello&trigger_id={Guid.NewGuid():N}&channel_id={channel}&user_id=UALICE&api_app_id={appId}",
        };
    }

    private static JsonObject Callback(string channel, string appId)
    {
        var callback = SlackPayloads.Callback(SlackPayloads.AppMention(channel, SlackPayloads.NewTs(), "sweep"));
        callback["api_app_id"] = appId;
        return callback;
    }

    private static JsonObject Click(string channel, string appId)
    {
        var click = SlackPayloads.StopClick(channel, SlackPayloads.NewTs(), 987654321);
        click["api_app_id"] = appId;
        return click;
    }

    private static IEnumerable<(string What, string Body, string Code)> Malformed(string path) => path switch
    {
        "/slack/events" =>
        [
            ("malformed JSON", """{"type":"event_callback","event_id":""", "slack_malformed_body"),
            ("event without id", """{"type":"event_callback","api_app_id":"A0001","event":{"type":"app_mention"}}""", "slack_missing_field"),
            ("event not an object", """{"type":"event_callback","event_id":"EvSWEEP","api_app_id":"A0001","event":"x"}""", "slack_missing_field"),
        ],
        "/slack/interactivity" =>
        [
            ("payload not JSON", "payload=%7B%22type%22", "slack_malformed_body"),
            ("no payload", "other=1", "slack_malformed_body"),
            ("payload not an object", "payload=%5B1%2C2%5D", "slack_malformed_body"),
        ],
        _ =>
        [
            ("command without trigger", "command=%2Fcentaur&text=hello&api_app_id=A0001", "slack_missing_field"),
            ("not a form", "%%%&&&===", "slack_missing_field"),
        ],
    };

    private static RawHttp.Request Signed(string method, string path, string body, string contentType, DateTimeOffset at,
        string secret = SignedSlackRequest.Secret, string? signedBody = null)
    {
        var timestamp = Timestamp(at);
        var signature = SlackSignature.Compute(secret, timestamp, Encoding.UTF8.GetBytes(signedBody ?? body));
        return Http(method, path, body: body, contentType: contentType,
            headers: [("X-Slack-Request-Timestamp", timestamp), ("X-Slack-Signature", signature)]);
    }

    private static string Timestamp(DateTimeOffset at) => at.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
}
