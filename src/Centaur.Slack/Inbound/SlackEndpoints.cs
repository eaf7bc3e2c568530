using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;

namespace Centaur.Slack.Inbound;

/// <summary>
/// The HTTP transport: every request is verified on its raw bytes, stored in the inbox, and acknowledged at once;
/// the work happens afterwards (Slack gives up after 3 s and retries).
/// </summary>
internal static class SlackEndpoints
{
    private const int MaxBodyBytes = 1024 * 1024;

    public static RouteGroupBuilder MapSlack(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/slack").WithTags("Slack").DisableAntiforgery();
        group.MapPost("/events", HandleEventsAsync);
        group.MapPost("/interactivity", HandleInteractivityAsync);
        group.MapPost("/commands", HandleCommandAsync);
        return group;
    }

    internal static async Task<Results<Ok, Ok<UrlVerificationResponse>, ProblemHttpResult>> HandleEventsAsync(HttpContext context, [AsParameters] SlackRequestServices services)
    {
        var (body, problem) = await ReadVerifiedBodyAsync(context, services);
        if (problem is not null)
        {
            return problem;
        }

        JsonNode? root;
        try
        {
            root = JsonNode.Parse(body);
        }
        catch (JsonException)
        {
            return NoRetry(context, SlackProblems.MalformedJson());
        }

        var type = (string?)root?["type"];
        switch (type)
        {
            case "url_verification":
                return TypedResults.Ok(new UrlVerificationResponse((string?)root!["challenge"] ?? ""));
            case "event_callback":
                break;
            default:
                services.Logger.IgnoredEnvelope(type ?? "(none)");
                return TypedResults.Ok();
        }

        var eventId = (string?)root!["event_id"];
        if (string.IsNullOrEmpty(eventId) || root["event"] is not JsonObject)
        {
            return NoRetry(context, SlackProblems.MissingField("event_id"));
        }

        if (!IsOurApp(services.Options.Value, (string?)root["api_app_id"]))
        {
            services.Logger.OtherApp(eventId);
            return NoRetry(context, SlackProblems.WrongApp());
        }

        _ = int.TryParse(context.Request.Headers["X-Slack-Retry-Num"], out var retryNum);
        var stored = await services.Inbox.StoreAsync(eventId, InboxKind.Event, "http", Encoding.UTF8.GetString(body), retryNum, context.RequestAborted);
        if (!stored)
        {
            services.Logger.DuplicateDelivery(eventId, retryNum);
        }

        return TypedResults.Ok();
    }

    internal static async Task<Results<Ok, ProblemHttpResult>> HandleInteractivityAsync(HttpContext context, [AsParameters] SlackRequestServices services)
    {
        var (body, problem) = await ReadVerifiedBodyAsync(context, services);
        if (problem is not null)
        {
            return problem;
        }

        var form = QueryHelpers.ParseQuery(Encoding.UTF8.GetString(body));
        JsonNode? payload;
        try
        {
            payload = form.TryGetValue("payload", out var raw) ? JsonNode.Parse(raw.ToString()) : null;
        }
        catch (JsonException)
        {
            payload = null;
        }

        if (payload is not JsonObject)
        {
            return NoRetry(context, SlackProblems.MalformedJson());
        }

        if (!IsOurApp(services.Options.Value, (string?)payload["api_app_id"]))
        {
            return NoRetry(context, SlackProblems.WrongApp());
        }

        await services.Inbox.StoreAsync(InteractiveDeliveryId(payload), InboxKind.Interactive, "http", payload.ToJsonString(), 0, context.RequestAborted);
        return TypedResults.Ok();
    }

    internal static async Task<Results<Ok, ProblemHttpResult>> HandleCommandAsync(HttpContext context, [AsParameters] SlackRequestServices services)
    {
        var (body, problem) = await ReadVerifiedBodyAsync(context, services);
        if (problem is not null)
        {
            return problem;
        }

        var form = QueryHelpers.ParseQuery(Encoding.UTF8.GetString(body));
        var payload = new JsonObject();
        foreach (var (key, value) in form)
        {
            payload[key] = value.ToString();
        }

        if (string.IsNullOrEmpty((string?)payload["command"]) || string.IsNullOrEmpty((string?)payload["trigger_id"]))
        {
            return NoRetry(context, SlackProblems.MissingField("command"));
        }

        if (!IsOurApp(services.Options.Value, (string?)payload["api_app_id"]))
        {
            return NoRetry(context, SlackProblems.WrongApp());
        }

        await services.Inbox.StoreAsync(CommandDeliveryId(payload), InboxKind.Command, "http", payload.ToJsonString(), 0, context.RequestAborted);
        return TypedResults.Ok();
    }

    /// <summary>A click has no event_id; its trigger_id is unique per click and the same on Slack's retries.</summary>
    internal static string InteractiveDeliveryId(JsonNode payload) =>
        "interactive:" + ((string?)payload["trigger_id"] ?? (string?)payload["actions"]?[0]?["action_ts"] ?? Guid.CreateVersion7().ToString());

    internal static string CommandDeliveryId(JsonNode payload) => "command:" + (string?)payload["trigger_id"];

    internal static bool IsOurApp(SlackOptions options, string? appId) =>
        string.IsNullOrEmpty(options.AppId) || string.Equals(options.AppId, appId, StringComparison.Ordinal);

    private static async Task<(byte[] Body, ProblemHttpResult? Problem)> ReadVerifiedBodyAsync(HttpContext context, SlackRequestServices services)
    {
        var options = services.Options.Value;
        if (string.IsNullOrEmpty(options.SigningSecret))
        {
            return ([], SlackProblems.NotConfigured());
        }

        if (context.Request.ContentLength > MaxBodyBytes)
        {
            return ([], SlackProblems.TooLarge());
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes)
            {
                return ([], SlackProblems.TooLarge());
            }

            buffer.Write(chunk, 0, read);
        }

        var body = buffer.ToArray();
        var result = SlackSignature.Verify(
            options.SigningSecret,
            context.Request.Headers["X-Slack-Request-Timestamp"],
            context.Request.Headers["X-Slack-Signature"],
            body,
            services.Time.GetUtcNow());
        if (result != SignatureResult.Valid)
        {
            services.Logger.SignatureRejected(context.Request.Path, result);
            return ([], SlackProblems.BadSignature(result));
        }

        return (body, null);
    }

    /// <summary>Slack retries any non-2xx answer unless told that this request can never succeed.</summary>
    private static ProblemHttpResult NoRetry(HttpContext context, ProblemHttpResult problem)
    {
        context.Response.Headers["X-Slack-No-Retry"] = "1";
        return problem;
    }
}

internal sealed record UrlVerificationResponse(string Challenge);

internal sealed record SlackRequestServices(IOptions<SlackOptions> Options, TimeProvider Time, SlackInbox Inbox, ILogger<SlackInbox> Logger);
