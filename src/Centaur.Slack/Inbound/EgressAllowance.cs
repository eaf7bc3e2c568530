using System.Text.Json;
using System.Text.Json.Nodes;
using Centaur.Slack.ControlPlane;
using Centaur.Slack.Formatting;
using Centaur.Slack.Replies;
using Centaur.Slack.WebApi;
using Microsoft.Extensions.Options;

namespace Centaur.Slack.Inbound;

/// <summary>
/// "Allow &lt;host&gt; for this thread" was pressed. Only an egress admin may (Slack:EgressAdmins when set, else the
/// workspace's admins and owners per users.info); anyone else gets an ephemeral refusal and nothing is called. For an
/// admin the API stores the allowance (granted_by slack:&lt;user&gt;, audited there) and the notice is edited into the
/// answer, so a second click or a retried delivery changes nothing.
/// </summary>
internal sealed class EgressAllowance(
    CentaurApiClient api, SlackApiClient slack, IOptions<SlackOptions> options, ILogger<EgressAllowance> logger)
{
    public async Task<string> HandleAsync(JsonObject payload, JsonObject action, CancellationToken cancellationToken)
    {
        var user = (string?)payload["user"]?["id"];
        var channel = (string?)payload["channel"]?["id"] ?? (string?)payload["container"]?["channel_id"];
        if (user is null || channel is null || Parse((string?)action["value"]) is not var (threadKey, host))
        {
            return "ignored:bad_allow_action";
        }

        // The value is ours (Slack signs the payload), but a button only ever acts on the thread it was posted in.
        var (threadChannel, threadTs) = ThreadKeys.Parse(threadKey);
        if (threadChannel != channel)
        {
            return "ignored:allow_other_channel";
        }

        if (!await MayAllowAsync(user, cancellationToken))
        {
            logger.EgressAllowRefused(user, host, threadKey);
            await slack.PostEphemeralAsync(channel, user,
                $"Sorry, only {(options.Value.EgressAdmins.Length > 0 ? "Centaur's egress admins" : "a workspace admin or owner")} can allow `{MrkdwnConverter.Escape(host)}` for this thread.",
                threadTs, cancellationToken);
            return "refused:not_egress_admin";
        }

        try
        {
            await api.AllowThreadHostAsync(threadKey, host, $"slack:{user}", cancellationToken);
        }
        catch (CentaurApiException ex) when (ex.IsPermanent)
        {
            logger.EgressAllowFailed(host, threadKey, ex.Code);
            await slack.PostEphemeralAsync(channel, user, $"Centaur could not allow `{MrkdwnConverter.Escape(host)}` ({ex.Code}).", threadTs, cancellationToken);
            return "refused:" + ex.Code;
        }

        logger.EgressAllowed(user, host, threadKey);
        var done = $":white_check_mark: <@{user}> allowed `{MrkdwnConverter.Escape(host)}` for this thread; the sandbox can reach it from its next request.";
        if ((string?)payload["container"]?["message_ts"] is not { } noticeTs)
        {
            await slack.PostMessageAsync(new SlackMessage(channel, threadTs, done), cancellationToken);
            return "egress_allowed";
        }

        try
        {
            // The notice becomes the answer (its button goes): editing is idempotent, a retried click posts nothing.
            await slack.UpdateAsync(channel, noticeTs, done, null, cancellationToken);
        }
        catch (SlackApiException ex)
        {
            logger.CosmeticCallFailed(ex.Method, ex.Error);
        }

        return "egress_allowed";
    }

    private async Task<bool> MayAllowAsync(string user, CancellationToken cancellationToken)
    {
        if (options.Value.EgressAdmins.Length > 0)
        {
            return options.Value.EgressAdmins.Contains(user, StringComparer.Ordinal);
        }

        var info = await slack.UserInfoAsync(user, cancellationToken);
        return info is not null && (bool?)info["deleted"] != true
            && ((bool?)info["is_admin"] == true || (bool?)info["is_owner"] == true || (bool?)info["is_primary_owner"] == true);
    }

    private static (string ThreadKey, string Host)? Parse(string? value)
    {
        try
        {
            return JsonNode.Parse(value ?? "") is JsonObject json && (string?)json["thread_key"] is { Length: > 0 } threadKey
                && threadKey.StartsWith("slack:", StringComparison.Ordinal) && threadKey.Split(':').Length == 3 && (string?)json["host"] is { Length: > 0 } host
                ? (threadKey, host)
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
