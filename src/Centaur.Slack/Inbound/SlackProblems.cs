using Microsoft.AspNetCore.Http.HttpResults;

namespace Centaur.Slack.Inbound;

/// <summary>Every refusal is a ProblemDetails with a stable code; nothing is stored for any of them.</summary>
internal static class SlackProblems
{
    public static ProblemHttpResult BadSignature(SignatureResult result) => Problem(
        StatusCodes.Status401Unauthorized,
        "Slack signature rejected",
        result switch
        {
            SignatureResult.Missing => "slack_signature_missing",
            SignatureResult.Stale => "slack_timestamp_stale",
            _ => "slack_signature_invalid",
        });

    public static ProblemHttpResult MalformedJson() => Problem(StatusCodes.Status400BadRequest, "The body is not the JSON Slack sends", "slack_malformed_body");

    public static ProblemHttpResult MissingField(string field) => Problem(StatusCodes.Status400BadRequest, $"The field '{field}' is missing", "slack_missing_field");

    public static ProblemHttpResult WrongApp() => Problem(StatusCodes.Status400BadRequest, "The request is for another Slack app", "slack_wrong_app");

    public static ProblemHttpResult TooLarge() => Problem(StatusCodes.Status413PayloadTooLarge, "The body is larger than 1 MiB", "slack_body_too_large");

    public static ProblemHttpResult NotConfigured() => Problem(StatusCodes.Status503ServiceUnavailable, "Slack__SigningSecret is not set", "slack_not_configured");

    /// <summary>
    /// Codes for the problems ASP.NET Core writes itself (no route, wrong method, a crash), so every answer of the
    /// adapter carries one; a 5xx says nothing about its cause (the trace id finds it in the logs).
    /// </summary>
    public static void AddStableCode(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        if (problem.Extensions.ContainsKey("code"))
        {
            return;
        }

        problem.Extensions["code"] = problem.Status switch
        {
            StatusCodes.Status400BadRequest => "invalid_request",
            StatusCodes.Status404NotFound => "not_found",
            StatusCodes.Status405MethodNotAllowed => "method_not_allowed",
            StatusCodes.Status413PayloadTooLarge => "slack_body_too_large",
            _ when problem.Status >= 500 => "internal_error",
            _ => "invalid_request",
        };
        if (problem.Status >= 500)
        {
            problem.Detail = null;
        }
    }

    private static ProblemHttpResult Problem(int status, string title, string code) =>
        TypedResults.Problem(statusCode: status, title: title, extensions: new Dictionary<string, object?> { ["code"] = code });
}
