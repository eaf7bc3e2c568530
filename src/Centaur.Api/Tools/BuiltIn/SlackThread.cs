using Centaur.Sdk;

namespace Centaur.Api.Tools.BuiltIn;

/// <summary>The Slack thread behind a thread key: <c>slack:&lt;channel&gt;:&lt;ts&gt;</c> or <c>slack:&lt;team&gt;:&lt;channel&gt;:&lt;ts&gt;</c>.</summary>
internal sealed record SlackThread(string Channel, string ThreadTs)
{
    public static SlackThread From(string threadKey)
    {
        var parts = threadKey.Split(':');
        return parts switch
        {
            ["slack", var channel, var ts] when IsTs(ts) => new SlackThread(channel, ts),
            ["slack", _, var channel, var ts] when IsTs(ts) => new SlackThread(channel, ts),
            _ => throw new ToolException(StatusCodes.Status409Conflict, "not_a_slack_thread",
                "this thread did not come from Slack, so the slack tool has no thread to work on"),
        };
    }

    private static bool IsTs(string ts) => ts.Length is > 0 and <= 32 && ts.All(c => char.IsAsciiDigit(c) || c == '.');
}
