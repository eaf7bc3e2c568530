using System.ComponentModel.DataAnnotations;

namespace Centaur.Slack;

/// <summary>Configuration section "Slack". Secrets may be empty: the service then starts degraded instead of crashing.</summary>
internal sealed class SlackOptions
{
    public const string Section = "Slack";

    /// <summary>HTTP transport: verifies X-Slack-Signature. Empty → /slack/* answers 503.</summary>
    public string SigningSecret { get; set; } = "";

    /// <summary>xoxb-… for the Web API. Empty → nothing is processed or posted.</summary>
    public string BotToken { get; set; } = "";

    /// <summary>xapp-… (connections:write). Set → Socket Mode connections are kept open.</summary>
    public string AppToken { get; set; } = "";

    /// <summary>Only events for this app are accepted (api_app_id); empty accepts any.</summary>
    public string AppId { get; set; } = "";

    [Required]
    public Uri ApiBaseUrl { get; set; } = new("https://slack.com/api/");

    /// <summary>auto: chat.startStream/appendStream/stopStream, falling back to chat.update; update: only chat.update.</summary>
    public StreamingMode Streaming { get; set; } = StreamingMode.Auto;

    /// <summary>The shared workspace budget for chat.update (Tier 3 is about 50/min for the whole app).</summary>
    [Range(1, 600)]
    public int UpdatesPerMinute { get; set; } = 45;

    /// <summary>Never edit one message more often than this.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan MinEditInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Output is buffered this long before the first message, so short answers arrive as one message.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:30")]
    public TimeSpan FirstFlushDelay { get; set; } = TimeSpan.FromMilliseconds(750);

    /// <summary>chat.update rejects text over 4,000 characters; keep a margin for the closing of a split code block.</summary>
    [Range(500, 3990)]
    public int MaxMessageChars { get; set; } = 3900;

    /// <summary>chat.appendStream/startStream take at most 12,000 characters of markdown_text per stream message.</summary>
    [Range(1000, 12000)]
    public int MaxStreamChars { get; set; } = 11500;

    /// <summary>Inbound messages longer than this are refused with a polite reply.</summary>
    [Range(1, 1_000_000)]
    public int MaxInboundChars { get; set; } = 40_000;

    [Range(1, 10)]
    public int SocketConnections { get; set; } = 2;

    /// <summary>Delay between opening the Socket Mode connections, so they are not refreshed at the same moment.</summary>
    public TimeSpan SocketStagger { get; set; } = TimeSpan.FromSeconds(10);

    public string WorkingReaction { get; set; } = "hourglass_flowing_sand";

    /// <summary>How often the inbox and the delivery outbox are polled besides the in-process wake-ups.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a claimed final delivery stays the adapter's: long enough to post an answer through Slack's rate
    /// limits, and how late an answer is when the adapter crashed after claiming it (the row is claimed again then).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:05", "00:30:00")]
    public TimeSpan DeliveryLease { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Slack user ids who may press "Allow &lt;host&gt; for this thread". Empty: the workspace's admins and owners
    /// (users.info is_admin / is_owner) may; set: only these users, whatever their workspace role.
    /// </summary>
    public string[] EgressAdmins { get; set; } = [];

    public bool CanPost => !string.IsNullOrWhiteSpace(BotToken);
}

internal enum StreamingMode
{
    Auto,
    Update,
}
