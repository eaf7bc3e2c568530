using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Centaur.Slack.Inbound;
using Centaur.Slack.WebApi;
using Microsoft.Extensions.Options;

namespace Centaur.Slack.SocketMode;

/// <summary>
/// Socket Mode (Slack__AppToken set): keeps SocketConnections WebSockets open, staggered so Slack does not refresh
/// them together. Each envelope is stored in the same inbox as the HTTP transport, THEN acknowledged on the socket
/// that received it (a failed store is not acknowledged, so Slack redelivers). A disconnect warning or refresh
/// opens a new connection; link_disabled backs off for minutes instead of hot-looping.
/// </summary>
internal sealed class SocketModeService(
    SlackApiClient slack,
    SlackInbox inbox,
    IOptions<SlackOptions> options,
    TimeProvider time,
    ILogger<SocketModeService> logger) : BackgroundService
{
    private static readonly TimeSpan s_linkDisabledDelay = TimeSpan.FromMinutes(5);
    private int _acks;

    /// <summary>Envelopes acknowledged since start (health and tests).</summary>
    public int Acknowledged => Volatile.Read(ref _acks);

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (string.IsNullOrWhiteSpace(settings.AppToken))
        {
            return Task.CompletedTask;
        }

        return Task.WhenAll(Enumerable.Range(0, settings.SocketConnections)
            .Select(i => RunConnectionAsync(i, settings.SocketStagger * i, stoppingToken)));
    }

    private async Task RunConnectionAsync(int connection, TimeSpan startDelay, CancellationToken stoppingToken)
    {
        try
        {
            await Task.Delay(startDelay, time, stoppingToken);
            for (var failures = 0; !stoppingToken.IsCancellationRequested;)
            {
                try
                {
                    var url = await slack.OpenConnectionAsync(stoppingToken);
                    using var socket = new ClientWebSocket();
                    socket.Options.KeepAliveInterval = TimeSpan.FromSeconds(20);
                    socket.Options.KeepAliveTimeout = TimeSpan.FromSeconds(20);
                    await socket.ConnectAsync(url, stoppingToken);
                    var (reason, greeted) = await ReceiveAsync(connection, url, socket, stoppingToken);
                    failures = greeted ? 0 : failures + 1;
                    if (reason == "link_disabled")
                    {
                        logger.SocketLinkDisabled(connection, s_linkDisabledDelay);
                        await Task.Delay(s_linkDisabledDelay, time, stoppingToken);
                    }
                    else if (failures > 0)
                    {
                        await Task.Delay(Backoff(failures), time, stoppingToken);
                    }
                }
                catch (Exception ex) when (ex is WebSocketException or HttpRequestException or SlackApiException or IOException or JsonException)
                {
                    failures++;
                    var delay = Backoff(failures);
                    logger.SocketFailed(ex, connection, delay);
                    await Task.Delay(delay, time, stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private static TimeSpan Backoff(int failures) =>
        TimeSpan.FromSeconds(Math.Min(60, Math.Pow(2, Math.Min(failures, 6)) / 2)) + TimeSpan.FromMilliseconds(Random.Shared.Next(1000));

    /// <summary>Reads until the socket closes or Slack asks for a new one; returns why and whether hello came.</summary>
    private async Task<(string Reason, bool Greeted)> ReceiveAsync(int connection, Uri url, ClientWebSocket socket, CancellationToken stoppingToken)
    {
        var greeted = false;
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        while (socket.State == WebSocketState.Open)
        {
            message.SetLength(0);
            WebSocketReceiveResult result;
            do
            {
                result = await socket.ReceiveAsync(buffer, stoppingToken);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    await CloseQuietlyAsync(socket);
                    return ("closed", greeted);
                }

                message.Write(buffer, 0, result.Count);
            }
            while (!result.EndOfMessage);

            if (JsonNode.Parse(message.ToArray()) is not JsonObject frame)
            {
                continue;
            }

            switch ((string?)frame["type"])
            {
                case "hello":
                    greeted = true;
                    logger.SocketConnected(connection, url.Host);
                    break;
                case "disconnect":
                    var reason = (string?)frame["reason"] ?? "unknown";
                    logger.SocketDisconnectRequested(connection, reason);
                    await CloseQuietlyAsync(socket);
                    return (reason, greeted);
                default:
                    if ((string?)frame["envelope_id"] is { Length: > 0 } envelopeId && await StoreAsync(frame, envelopeId, stoppingToken))
                    {
                        var ack = Encoding.UTF8.GetBytes(new JsonObject { ["envelope_id"] = envelopeId }.ToJsonString());
                        await socket.SendAsync(ack, WebSocketMessageType.Text, endOfMessage: true, stoppingToken);
                        Interlocked.Increment(ref _acks);
                    }

                    break;
            }
        }

        return ("closed", greeted);
    }

    /// <summary>true when the envelope is durable (stored now or before) or can never be stored (then ack it anyway).</summary>
    private async Task<bool> StoreAsync(JsonObject frame, string envelopeId, CancellationToken stoppingToken)
    {
        if (frame["payload"] is not JsonObject payload)
        {
            return true;
        }

        var appOk = SlackEndpoints.IsOurApp(options.Value, (string?)payload["api_app_id"]);
        var (deliveryId, kind) = (string?)frame["type"] switch
        {
            "events_api" when (string?)payload["type"] == "event_callback" => ((string?)payload["event_id"], InboxKind.Event),
            "interactive" => (SlackEndpoints.InteractiveDeliveryId(payload), InboxKind.Interactive),
            "slash_commands" => ((string?)payload["trigger_id"] is null ? null : SlackEndpoints.CommandDeliveryId(payload), InboxKind.Command),
            _ => (null, InboxKind.Event),
        };
        if (deliveryId is null || !appOk)
        {
            return true;
        }

        try
        {
            var retry = (int?)frame["retry_attempt"] ?? 0;
            await inbox.StoreAsync(deliveryId, kind, "socket", payload.ToJsonString(), retry, stoppingToken);
            return true;
        }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or TimeoutException or InvalidOperationException)
        {
            logger.EnvelopeNotStored(ex, envelopeId);
            return false;
        }
    }

    private static async Task CloseQuietlyAsync(ClientWebSocket socket)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "reconnecting", timeout.Token);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            // The peer is gone already.
        }
    }
}
