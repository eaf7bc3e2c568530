using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Centaur.Cli.Api;

/// <summary>
/// The public API as any client uses it (invariant 1: the CLI is just another client). Every write carries an
/// idempotency key, so a call that failed on the way (the API restarting, a dropped connection) is simply sent again.
/// </summary>
internal sealed class CentaurApiClient : IDisposable
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };

    private static readonly TimeSpan s_requestTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan s_retryFor = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan s_firstContactRetryFor = TimeSpan.FromSeconds(3);
    private readonly HttpClient _http;
    private bool _contacted;

    public CentaurApiClient(Uri baseAddress, string? key, HttpMessageHandler? handler = null)
    {
        // No client-wide timeout: event streams stay open for as long as a turn runs; plain calls get their own.
        _http = new HttpClient(handler ?? new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(10) })
        {
            BaseAddress = baseAddress,
            Timeout = Timeout.InfiniteTimeSpan,
        };
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("centaur-cli", "0.1"));
        if (!string.IsNullOrEmpty(key))
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
    }

    public Uri BaseAddress => _http.BaseAddress!;

    public Task<Session> SpawnAsync(string threadKey, string? harness, CancellationToken cancellationToken) =>
        PostAsync<Session>("/agent/spawn", new JsonObject { ["thread_key"] = threadKey, ["harness"] = harness }, cancellationToken);

    public Task<MessageAccepted> MessageAsync(string threadKey, string text, string author, string clientMessageId, CancellationToken cancellationToken) =>
        PostAsync<MessageAccepted>("/agent/message", new JsonObject
        {
            ["thread_key"] = threadKey, ["text"] = text, ["author"] = author, ["client_message_id"] = clientMessageId,
        }, cancellationToken);

    public Task<Execution> ExecuteAsync(string threadKey, string idempotencyKey, CancellationToken cancellationToken) =>
        PostAsync<Execution>("/agent/execute", new JsonObject { ["thread_key"] = threadKey, ["idempotency_key"] = idempotencyKey }, cancellationToken);

    public Task<Execution> CancelAsync(long executionId, CancellationToken cancellationToken) =>
        PostAsync<Execution>($"/agent/executions/{executionId}/cancel", null, cancellationToken);

    /// <summary>Continues an interrupted execution with a new turn that is told what already happened.</summary>
    public Task<Execution> ResumeAsync(long executionId, CancellationToken cancellationToken) =>
        PostAsync<Execution>($"/agent/executions/{executionId}/resume", null, cancellationToken);

    public Task<Execution> GetExecutionAsync(long executionId, CancellationToken cancellationToken) =>
        GetAsync<Execution>($"/agent/executions/{executionId}", cancellationToken);

    public Task<List<ThreadSummary>> ThreadsAsync(int limit, string? source, CancellationToken cancellationToken) =>
        GetAsync<List<ThreadSummary>>($"/agent/threads?limit={limit}" + (source is null ? "" : $"&source={Uri.EscapeDataString(source)}"), cancellationToken);

    public Task<CreatedKey> CreateKeyAsync(string name, string[] scopes, CancellationToken cancellationToken) =>
        PostAsync<CreatedKey>("/admin/keys", new JsonObject { ["name"] = name, ["scopes"] = new JsonArray([.. scopes.Select(s => JsonValue.Create(s))]) },
            cancellationToken, retry: false);

    public async Task RevokeKeyAsync(string name, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Delete, $"/admin/keys/{Uri.EscapeDataString(name)}"),
            retry: true, cancellationToken);
    }

    public Task<EgressAuditPage> EgressAuditAsync(string threadKey, long afterId, int limit, CancellationToken cancellationToken) =>
        GetAsync<EgressAuditPage>($"/audit/egress?thread_key={Uri.EscapeDataString(threadKey)}&after_id={afterId}&limit={limit}", cancellationToken);

    /// <summary>Opens the thread's SSE stream after <paramref name="afterEventId"/>; the caller reads and disposes the response.</summary>
    public async Task<HttpResponseMessage> OpenEventStreamAsync(string threadKey, long? executionId, long afterEventId, CancellationToken cancellationToken)
    {
        var url = $"/agent/threads/{Uri.EscapeDataString(threadKey)}/events?after_event_id={afterEventId}"
            + (executionId is { } id ? $"&execution_id={id}" : "");
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        using var connect = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        connect.CancelAfter(s_requestTimeout);
        var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, connect.Token);
        _contacted = true;
        if (!response.IsSuccessStatusCode)
        {
            using (response)
            {
                throw await ErrorAsync(response, cancellationToken);
            }
        }

        return response;
    }

    private async Task<T> GetAsync<T>(string url, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get, url), retry: true, cancellationToken);
        return await ReadAsync<T>(response, cancellationToken);
    }

    private async Task<T> PostAsync<T>(string url, JsonObject? body, CancellationToken cancellationToken, bool retry = true)
    {
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Post, url)
        {
            Content = body is null ? null : JsonContent.Create(body, options: Json),
        }, retry, cancellationToken);
        return await ReadAsync<T>(response, cancellationToken);
    }

    /// <summary>
    /// Sends, retrying connection failures and 408/429/5xx with capped backoff: for up to 30 s once the API has
    /// answered (it is restarting), for 3 s before (a wrong --api should fail fast).
    /// </summary>
    private async Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> build, bool retry, CancellationToken cancellationToken)
    {
        var deadline = DateTimeOffset.UtcNow + (_contacted ? s_retryFor : s_firstContactRetryFor);
        for (var attempt = 0; ; attempt++)
        {
            using var request = build();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(s_requestTimeout);
            CentaurApiException? failure;
            try
            {
                var response = await _http.SendAsync(request, timeout.Token);
                _contacted = true;
                if (response.IsSuccessStatusCode)
                {
                    return response;
                }

                using (response)
                {
                    failure = await ErrorAsync(response, cancellationToken);
                }

                if (!retry || !failure.IsTransient || DateTimeOffset.UtcNow > deadline)
                {
                    throw failure;
                }
            }
            catch (Exception ex) when (retry && ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested
                                       && DateTimeOffset.UtcNow < deadline)
            {
                // connection refused or timed out: the API may be restarting
            }

            await Task.Delay(Backoff.Delay(attempt), cancellationToken);
        }
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, CancellationToken cancellationToken) =>
        await response.Content.ReadFromJsonAsync<T>(Json, cancellationToken)
        ?? throw new CentaurApiException(response.StatusCode, null, $"{response.RequestMessage?.RequestUri} answered an empty body");

    private static async Task<CentaurApiException> ErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        string? code = null, detail = null;
        try
        {
            if (JsonNode.Parse(body) is JsonObject problem)
            {
                code = problem["code"]?.GetValue<string>();
                detail = problem["detail"]?.GetValue<string>() ?? problem["title"]?.GetValue<string>();
            }
        }
        catch (JsonException)
        {
            // not a ProblemDetails body
        }

        var status = (int)response.StatusCode;
        var what = $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.PathAndQuery}";
        var message = response.StatusCode switch
        {
            HttpStatusCode.Unauthorized => "the API refused the key (401): pass --key or set CENTAUR_API_KEY to a valid API key",
            HttpStatusCode.Forbidden => $"this key may not do that (403 on {what}): it lacks the scope the call needs",
            _ => detail is null ? $"{what} answered {status} {response.ReasonPhrase}" : $"{detail} ({code ?? "error"}, HTTP {status})",
        };
        return new CentaurApiException(response.StatusCode, code, message);
    }

    public void Dispose() => _http.Dispose();
}
