using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Centaur.Slack.ControlPlane;

/// <summary>Centaur.Api's client protocol as the adapter uses it, authenticated with the adapter's own API key.</summary>
internal sealed class CentaurApiClient(IHttpClientFactory factory, IOptions<CentaurApiOptions> options)
{
    public const string HttpClientName = "centaur";
    public const string StreamClientName = "centaur-stream";

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public Task<SpawnResponse> SpawnAsync(string threadKey, CancellationToken cancellationToken) =>
        PostAsync<SpawnResponse>("agent/spawn", new SpawnRequest(threadKey), cancellationToken);

    public Task<MessageResponse> MessageAsync(MessageRequest message, CancellationToken cancellationToken) =>
        PostAsync<MessageResponse>("agent/message", message, cancellationToken);

    public Task<ExecuteResponse> ExecuteAsync(string threadKey, string idempotencyKey, CancellationToken cancellationToken) =>
        PostAsync<ExecuteResponse>("agent/execute", new ExecuteRequest(threadKey, idempotencyKey), cancellationToken);

    /// <summary>
    /// Starts a workflow from a slash command. The API refuses bad input with a ProblemDetails whose detail is written
    /// for the person who typed the command, so a 4xx comes back as the answer; anything else throws (and is retried).
    /// </summary>
    public async Task<SlashCommandAnswer> SlashCommandAsync(SlashCommand command, CancellationToken cancellationToken)
    {
        using var response = await Client().PostAsJsonAsync("workflows/slash-command", command, Json, cancellationToken);
        if ((int)response.StatusCode is >= 400 and < 500 and not 401 and not 403)
        {
            using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
            return new SlashCommandAnswer(problem.RootElement.TryGetProperty("detail", out var detail) ? detail.GetString() ?? "" : "That command was refused.");
        }

        await EnsureSuccessAsync(response, cancellationToken);
        return await response.Content.ReadFromJsonAsync<SlashCommandAnswer>(Json, cancellationToken)
            ?? throw new CentaurApiException("workflows/slash-command", response.StatusCode, "empty_body");
    }

    public async Task CancelAsync(long executionId, CancellationToken cancellationToken)
    {
        using var response = await Client().PostAsync($"agent/executions/{executionId}/cancel", null, cancellationToken);
        await EnsureSuccessAsync(response, cancellationToken);
    }

    public Task<ExecuteResponse> ResumeAsync(long executionId, CancellationToken cancellationToken) =>
        PostAsync<ExecuteResponse>($"agent/executions/{executionId}/resume", new { }, cancellationToken);

    /// <summary>PUT /egress/threads/{thread_key}/hosts/{host} for a person the adapter has checked (scope egress_grant).</summary>
    public async Task AllowThreadHostAsync(string threadKey, string host, string grantedBy, CancellationToken cancellationToken)
    {
        using var response = await Client().PutAsJsonAsync(
            $"egress/threads/{Uri.EscapeDataString(threadKey)}/hosts/{Uri.EscapeDataString(host)}", new ThreadAllowanceRequest(grantedBy), Json, cancellationToken);
        await EnsureSuccessAsync(response, cancellationToken);
    }

    public async Task<IReadOnlyList<Delivery>> ClaimDeliveriesAsync(int max, int leaseSeconds, CancellationToken cancellationToken) =>
        await PostAsync<List<Delivery>>("agent/deliveries/claim", new ClaimRequest("slack", max, leaseSeconds), cancellationToken);

    public async Task AckDeliveryAsync(long deliveryId, string leaseToken, string externalRef, CancellationToken cancellationToken)
    {
        using var response = await Client().PostAsJsonAsync($"agent/deliveries/{deliveryId}/ack", new AckRequest(leaseToken, externalRef), Json, cancellationToken);
        await EnsureSuccessAsync(response, cancellationToken);
    }

    /// <summary>
    /// The execution-scoped SSE stream from after_event_id; the server closes it after the execution's terminal event.
    /// </summary>
    public async IAsyncEnumerable<AgentEvent> StreamEventsAsync(string threadKey, long executionId, long afterEventId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var http = factory.CreateClient(StreamClientName);
        Configure(http);
        http.Timeout = Timeout.InfiniteTimeSpan;
        using var request = new HttpRequestMessage(HttpMethod.Get, $"agent/threads/{Uri.EscapeDataString(threadKey)}/events?after_event_id={afterEventId}&execution_id={executionId}");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        await EnsureSuccessAsync(response, cancellationToken);
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        await foreach (var item in SseParser.Create(stream).EnumerateAsync(cancellationToken))
        {
            if (string.IsNullOrWhiteSpace(item.Data))
            {
                continue;
            }

            AgentEvent? agentEvent;
            try
            {
                agentEvent = JsonSerializer.Deserialize<AgentEvent>(item.Data, Json);
            }
            catch (JsonException)
            {
                // Heartbeats and comments are not events.
                continue;
            }

            if (agentEvent is not null && agentEvent.EventId > 0)
            {
                yield return agentEvent;
            }
        }
    }

    private async Task<T> PostAsync<T>(string path, object body, CancellationToken cancellationToken)
    {
        using var response = await Client().PostAsJsonAsync(path, body, Json, cancellationToken);
        await EnsureSuccessAsync(response, cancellationToken);
        return await response.Content.ReadFromJsonAsync<T>(Json, cancellationToken)
            ?? throw new CentaurApiException(path, response.StatusCode, "empty_body");
    }

    private HttpClient Client()
    {
        var http = factory.CreateClient(HttpClientName);
        Configure(http);
        return http;
    }

    private void Configure(HttpClient http)
    {
        http.BaseAddress = options.Value.BaseUrl;
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", options.Value.Key);
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        string? code = null;
        try
        {
            using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
            code = problem.RootElement.TryGetProperty("code", out var c) ? c.GetString() : null;
        }
        catch (JsonException)
        {
        }

        throw new CentaurApiException(response.RequestMessage?.RequestUri?.AbsolutePath ?? "", response.StatusCode, code ?? "http_" + (int)response.StatusCode);
    }
}

internal sealed class CentaurApiException(string path, HttpStatusCode status, string code)
    : Exception($"Centaur API {path} answered {(int)status} ({code})")
{
    public HttpStatusCode Status { get; } = status;

    public string Code { get; } = code;

    /// <summary>4xx other than 408/429 will not get better by retrying.</summary>
    public bool IsPermanent => (int)Status is >= 400 and < 500 && Status is not (HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests);
}
