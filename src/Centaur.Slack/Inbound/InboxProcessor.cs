using System.Diagnostics;
using Centaur.Slack.ControlPlane;
using Centaur.Slack.WebApi;
using Microsoft.Extensions.Options;

namespace Centaur.Slack.Inbound;

/// <summary>
/// Works the inbox after Slack has had its acknowledgement: claims stored deliveries with a lease (a crashed
/// process's claims expire), handles them, and retries transient failures with capped, jittered backoff.
/// </summary>
internal sealed class InboxProcessor(
    SlackInbox inbox,
    InboxSignal signal,
    IServiceScopeFactory scopes,
    IOptions<SlackOptions> options,
    TimeProvider time,
    ILogger<InboxProcessor> logger) : BackgroundService
{
    private static readonly ActivitySource ActivitySource = new("Centaur.Slack");
    private const int MaxAttempts = 8;
    private static readonly TimeSpan s_lease = TimeSpan.FromSeconds(120);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.CanPost)
        {
            logger.NotConfigured("Slack__BotToken", "inbox processing");
            return;
        }

        for (var failures = 0; !stoppingToken.IsCancellationRequested;)
        {
            try
            {
                var items = await inbox.ClaimAsync(16, s_lease, stoppingToken);
                if (items.Count == 0)
                {
                    await signal.WaitAsync(options.Value.PollInterval, time, stoppingToken);
                    continue;
                }

                await Task.WhenAll(items.Select(item => ProcessAsync(item, stoppingToken)));
                failures = 0;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is Npgsql.NpgsqlException or TimeoutException)
            {
                failures++;
                var delay = TimeSpan.FromSeconds(Math.Pow(2, Math.Min(failures, 5))) + TimeSpan.FromMilliseconds(Random.Shared.Next(1000));
                logger.InboxUnavailable(ex, delay);
                await Task.Delay(delay, time, stoppingToken);
            }
        }
    }

    private async Task ProcessAsync(InboxItem item, CancellationToken stoppingToken)
    {
        using var scope = logger.BeginScope(new Dictionary<string, object> { ["SlackDelivery"] = item.DeliveryId });
        // Continue the trace of the request that delivered the event: its API calls (and so the turn) join it.
        var parent = item.TraceParent is { } traceparent && ActivityContext.TryParse(traceparent, null, out var context) ? context : default;
        using var activity = ActivitySource.StartActivity($"slack {item.Kind.ToString().ToLowerInvariant()}", ActivityKind.Consumer, parent);
        activity?.SetTag("centaur.slack.delivery_id", item.DeliveryId);
        await using var services = scopes.CreateAsyncScope();
        try
        {
            var outcome = await services.ServiceProvider.GetRequiredService<SlackEvents>().HandleAsync(item, stoppingToken);
            await inbox.CompleteAsync(item.Id, outcome, stoppingToken);
            logger.DeliveryHandled(item.DeliveryId, outcome);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (IsPermanent(ex) || item.Attempts >= MaxAttempts)
        {
            logger.DeliveryFailed(ex, item.DeliveryId, item.Attempts);
            await inbox.CompleteAsync(item.Id, "failed:" + Code(ex), stoppingToken);
        }
        catch (Exception ex)
        {
            var delay = TimeSpan.FromSeconds(Math.Pow(2, Math.Min(item.Attempts, 6))) + TimeSpan.FromMilliseconds(Random.Shared.Next(1000));
            logger.DeliveryRetry(ex, item.DeliveryId, item.Attempts, delay);
            await inbox.RetryLaterAsync(item.Id, delay, "retry:" + Code(ex), stoppingToken);
        }
    }

    private static bool IsPermanent(Exception ex) => ex switch
    {
        CentaurApiException api => api.IsPermanent,
        SlackApiException slack => slack.Kind is SlackErrorKind.Auth or SlackErrorKind.Channel or SlackErrorKind.Other,
        System.Text.Json.JsonException or InvalidOperationException or FormatException => true,
        _ => false,
    };

    private static string Code(Exception ex) => ex switch
    {
        CentaurApiException api => api.Code,
        SlackApiException slack => slack.Error,
        _ => ex.GetType().Name,
    };
}
