using System.Text.Json.Nodes;

namespace Centaur.Slack.WebApi;

/// <summary>
/// A chat.postMessage. Metadata carries the execution and part, so a post whose answer was lost (crash, timeout)
/// can be found again in the thread instead of being posted twice.
/// </summary>
internal sealed record SlackMessage(string Channel, string? ThreadTs, string Text, JsonArray? Blocks = null, long? ExecutionId = null, int? Part = null, string? Notice = null)
{
    public const string MetadataType = "centaur_reply";

    public JsonObject ToJson()
    {
        var json = new JsonObject
        {
            ["channel"] = Channel,
            ["thread_ts"] = ThreadTs,
            ["text"] = Text,
            ["unfurl_links"] = false,
            ["unfurl_media"] = false,
        };
        if (Blocks is not null)
        {
            json["blocks"] = Blocks;
        }

        if (ExecutionId is { } executionId)
        {
            json["metadata"] = new JsonObject
            {
                ["event_type"] = MetadataType,
                ["event_payload"] = new JsonObject { ["execution_id"] = executionId, ["part"] = Part ?? 0 },
            };
            if (Notice is not null)
            {
                // Not a part of the answer: part -1 keeps it out of ReplyPoster's lookups.
                json["metadata"]!["event_payload"]!["part"] = -1;
                json["metadata"]!["event_payload"]!["notice"] = Notice;
            }
        }

        return json;
    }
}
