using System.Net;
using Centaur.Slack.ControlPlane;
using Centaur.Slack.Inbound;
using Centaur.Slack.WebApi;
using Microsoft.Extensions.Options;

namespace Centaur.Slack.Replies;

/// <summary>
/// The exactly-once end of a turn: claims the adapter's rows of agent_final_delivery_outbox, writes each final answer
/// (idempotently) and acknowledges it with the message reference. A crash before the ack means the lease expires
/// and the row is claimed again; the finalizer then finds the reply already delivered and only acknowledges.
/// </summary>
internal sealed class DeliveryWorker(
    CentaurApiClient api,
    ReplyFinalizer finalizer,
    ReplyCoordinator coordinator,
    ReplyStore store,
    DeliverySignal signal,
    IServiceScopeFactory scopes,
    IOptions<SlackOptions> options,
    TimeProvider time,
    ILogger<DeliveryWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.CanPost)
        {
            logger.NotConfigured("Slack__BotToken", "final deliveries");
            return;
        }

        await ResumeOpenRepliesAsync(stoppingToken);
        for (var failures = 0; !stoppingToken.IsCancellationRequested;)
        {
            try
            {
                var claimed = coordinator.OutboxSupported ? await api.ClaimDeliveriesAsync(10, (int)options.Value.DeliveryLease.TotalSeconds, stoppingToken) : [];
                foreach (var delivery in claimed)
                {
                    await DeliverAsync(delivery, stoppingToken);
                }

                failures = 0;
                if (claimed.Count == 0)
                {
                    await signal.WaitAsync(options.Value.PollInterval, time, stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (CentaurApiException ex) when (ex.Status is HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed)
            {
                // A control plane without the outbox: streamers deliver their final answers themselves.
                coordinator.OutboxSupported = false;
                logger.OutboxUnsupported((int)ex.Status);
            }
            catch (Exception ex) when (ex is HttpRequestException or CentaurApiException or SlackApiException or Npgsql.NpgsqlException or TimeoutException)
            {
                failures++;
                var delay = TimeSpan.FromSeconds(Math.Pow(2, Math.Min(failures, 5))) + TimeSpan.FromMilliseconds(Random.Shared.Next(1000));
                logger.DeliveryLoopFailed(ex, delay);
                await Task.Delay(delay, time, stoppingToken);
            }
        }
    }

    private async Task DeliverAsync(Delivery delivery, CancellationToken cancellationToken)
    {
        using var scope = logger.BeginScope(new Dictionary<string, object> { ["ExecutionId"] = delivery.ExecutionId, ["ThreadKey"] = delivery.ThreadKey });
        if (!delivery.ThreadKey.StartsWith("slack:", StringComparison.Ordinal))
        {
            await api.AckDeliveryAsync(delivery.DeliveryId, delivery.LeaseToken, "not-a-slack-thread", cancellationToken);
            return;
        }

        var terminal = coordinator.TerminalOf(delivery.ExecutionId) is { } known
            ? known with { Result = delivery.ResultText ?? known.Result }
            : new TerminalInfo(delivery.State, delivery.ResultText, null, null);
        var reference = await finalizer.FinalizeAsync(delivery.ExecutionId, delivery.ThreadKey, terminal, cancellationToken);
        await api.AckDeliveryAsync(delivery.DeliveryId, delivery.LeaseToken, reference, cancellationToken);
        coordinator.Forget(delivery.ExecutionId);

        await using var services = scopes.CreateAsyncScope();
        await services.ServiceProvider.GetRequiredService<TurnStarter>().ContinueThreadAsync(delivery.ThreadKey, cancellationToken);
    }

    /// <summary>After a restart: every reply that was still being written resumes from its stored cursor and message.</summary>
    private async Task ResumeOpenRepliesAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var open = await store.OpenRepliesAsync(cancellationToken);
                foreach (var reply in open)
                {
                    coordinator.EnsureStreaming(reply.ExecutionId);
                }

                if (open.Count > 0)
                {
                    logger.RepliesResumed(open.Count);
                }

                return;
            }
            catch (Npgsql.NpgsqlException ex) when (attempt < 10)
            {
                logger.DeliveryLoopFailed(ex, TimeSpan.FromSeconds(attempt));
                await Task.Delay(TimeSpan.FromSeconds(attempt), time, cancellationToken);
            }
        }
    }
}
