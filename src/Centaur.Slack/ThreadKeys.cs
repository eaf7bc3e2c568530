namespace Centaur.Slack;

/// <summary>Slack thread keys: slack:&lt;channel&gt;:&lt;thread_ts or ts&gt;; turns are keyed on the message, slack:&lt;channel&gt;:&lt;ts&gt;.</summary>
internal static class ThreadKeys
{
    public static string For(string channel, string threadTs) => $"slack:{channel}:{threadTs}";

    public static string ClientMessageId(string channel, string ts) => $"slack:{channel}:{ts}";

    public static (string Channel, string ThreadTs) Parse(string threadKey)
    {
        var parts = threadKey.Split(':');
        return parts is ["slack", var channel, var ts] ? (channel, ts) : throw new FormatException($"'{threadKey}' is not a Slack thread key");
    }
}
