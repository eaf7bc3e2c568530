namespace Centaur.Slack.WebApi;

/// <summary>A Slack Web API answer {ok:false,error} (or an HTTP failure), with the action the adapter takes for it.</summary>
internal sealed class SlackApiException(string method, string error, string? detail = null)
    : Exception($"Slack {method} failed: {error}{(detail is null ? "" : $" ({detail})")}")
{
    public string Method { get; } = method;

    public string Error { get; } = error;

    public SlackErrorKind Kind { get; } = Classify(error);

    public static SlackErrorKind Classify(string error) => error switch
    {
        "ratelimited" or "rate_limited" => SlackErrorKind.RateLimited,
        "msg_too_long" => SlackErrorKind.TooLong,
        "message_not_found" or "cant_update_message" or "edit_window_closed" => SlackErrorKind.MessageGone,
        "streaming_state_conflict" or "message_not_in_streaming_state" or "stopped_by_user" or "missing_recipient_user_id"
            or "missing_recipient_team_id" or "channel_type_not_supported" or "unknown_method" or "method_not_supported_for_channel_type"
            or "not_allowed_token_type" or "feature_not_enabled" => SlackErrorKind.StreamingUnavailable,
        "invalid_auth" or "not_authed" or "token_revoked" or "token_expired" or "account_inactive" or "missing_scope" => SlackErrorKind.Auth,
        "not_in_channel" or "channel_not_found" or "is_archived" => SlackErrorKind.Channel,
        "fatal_error" or "internal_error" or "service_unavailable" or "request_timeout" or "http_error" => SlackErrorKind.Transient,
        _ => SlackErrorKind.Other,
    };
}

internal enum SlackErrorKind
{
    Other,
    RateLimited,
    TooLong,
    MessageGone,
    StreamingUnavailable,
    Auth,
    Channel,
    Transient,
}
