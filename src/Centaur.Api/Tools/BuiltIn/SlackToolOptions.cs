using System.ComponentModel.DataAnnotations;

namespace Centaur.Api.Tools.BuiltIn;

/// <summary>The slack tool's settings (section "Slack", shared in name with the Slack adapter's).</summary>
internal sealed class SlackToolOptions
{
    public const string Section = "Slack";

    /// <summary>Slack's Web API; a fake Slack's URL in tests.</summary>
    [Required]
    [Url]
    public string ApiBaseUrl { get; set; } = "https://slack.com/api/";

    /// <summary>The secret (by placeholder) that IronProxy binds to Slack's host: the bot token.</summary>
    [Required]
    public string TokenSecret { get; set; } = "slack-bot-token";
}
