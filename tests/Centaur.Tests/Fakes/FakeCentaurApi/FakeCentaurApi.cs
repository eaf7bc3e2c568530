using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Centaur.Tests.Fakes.FakeCentaurApi;

/// <summary>
/// A stand-in for Centaur.Api's client protocol (the contract in the team notes), used by the Slack adapter's tests
/// only while the real control plane cannot run turns yet: spawn, message (idempotent on client_message_id),
/// execute (idempotent on idempotency_key; the running execution while one runs), cancel, resume, the
/// execution-scoped SSE stream with after_event_id, and the final-delivery outbox (claim with lease, ack). Turns
/// are scripted by the test. Every request is recorded.
/// </summary>
public sealed class FakeCentaurApi : IAsyncDisposable
{
    public const string Key = "fake-slack-api-key";

    // Execution ids are unique across every fake instance of a test run: the adapter's tables outlive one test.
    private static long s_nextExecutionId = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 100;
    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
    private readonly WebApplication _app;
    private readonly Lock _lock = new();
    private readonly List<FakeApiMessage> _messages = [];
    private readonly List<FakeExecution> _executions = [];
    private readonly List<FakeAgentEvent> _events = [];
    private readonly List<FakeDelivery> _deliveries = [];
    private readonly List<string> _spawns = [];
    private readonly List<long> _cancels = [];
    private readonly List<FakeThreadAllowance> _allowances = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private CancellationTokenSource _streams = new();

    private FakeCentaurApi(WebApplication app) => _app = app;

    public Uri BaseUrl { get; private set; } = null!;

    /// <summary>What the agent does in a turn; the default answers at once.</summary>
    public Func<FakeTurn, Task<FakeOutcome>> Script { get; set; } = _ => Task.FromResult(FakeOutcome.Succeeded("Hello from the fake agent."));

    /// <summary>Off: /agent/deliveries/claim answers 404 like a control plane without the outbox.</summary>
    public bool OutboxEnabled { get; set; } = true;

    public static async Task<FakeCentaurApi> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var fake = new FakeCentaurApi(app);
        app.Use(async (context, next) =>
        {
            if (context.Request.Headers.Authorization != $"Bearer {Key}")
            {
                context.Response.StatusCode = 401;
                await context.Response.WriteAsJsonAsync(new { code = "unauthorized" });
                return;
            }

            await next();
        });
        app.MapPost("/agent/spawn", fake.Spawn);
        app.MapPost("/agent/message", fake.Message);
        app.MapPost("/agent/execute", fake.Execute);
        app.MapPost("/agent/executions/{id:long}/cancel", fake.Cancel);
        app.MapPost("/agent/executions/{id:long}/resume", fake.Resume);
        app.MapGet("/agent/threads/{threadKey}/events", fake.StreamAsync);
        app.MapPost("/agent/deliveries/claim", fake.Claim);
        app.MapPost("/agent/deliveries/{id:long}/ack", fake.Ack);
        app.MapPut("/egress/threads/{threadKey}/hosts/{host}", fake.AllowThreadHost);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        fake.BaseUrl = new Uri(address.TrimEnd('/') + "/");
        return fake;
    }

    public IReadOnlyList<string> Spawns => Snapshot(_spawns);

    public IReadOnlyList<FakeApiMessage> Messages => Snapshot(_messages);

    public IReadOnlyList<FakeExecution> Executions => Snapshot(_executions);

    public IReadOnlyList<long> Cancels => Snapshot(_cancels);

    public IReadOnlyList<FakeDelivery> Deliveries => Snapshot(_deliveries);

    public IReadOnlyList<FakeAgentEvent> Events => Snapshot(_events);

    /// <summary>PUT /egress/threads/{thread_key}/hosts/{host} calls, as the API received them.</summary>
    public IReadOnlyList<FakeThreadAllowance> ThreadAllowances => Snapshot(_allowances);

    /// <summary>Cuts every open SSE stream (the adapter must reconnect with after_event_id).</summary>
    public void BreakStreams()
    {
        lock (_lock)
        {
            _streams.Cancel();
            _streams = new CancellationTokenSource();
        }
    }

    private List<T> Snapshot<T>(List<T> list)
    {
        lock (_lock)
        {
            return [.. list];
        }
    }

    private IResult AllowThreadHost(string threadKey, string host, JsonObject body)
    {
        lock (_lock)
        {
            _allowances.Add(new FakeThreadAllowance(Uri.UnescapeDataString(threadKey), Uri.UnescapeDataString(host), (string?)body["granted_by"]));
        }

        return Results.Json(new { thread_key = threadKey, host, granted_by = (string?)body["granted_by"], policy_version = 2 });
    }

    private IResult Spawn(JsonObject body)
    {
        var threadKey = (string?)body["thread_key"];
        if (string.IsNullOrEmpty(threadKey) || !threadKey.StartsWith("slack:", StringComparison.Ordinal))
        {
            return Results.Problem(statusCode: 400, extensions: new Dictionary<string, object?> { ["code"] = "invalid_thread_key" });
        }

        lock (_lock)
        {
            _spawns.Add(threadKey);
        }

        return Results.Json(new { thread_key = threadKey, state = "ready", backend = "fake", harness = "fake", assignment_generation = 1 });
    }

    private IResult Message(JsonObject body)
    {
        var threadKey = (string)body["thread_key"]!;
        var clientMessageId = (string)body["client_message_id"]!;
        lock (_lock)
        {
            var existing = _messages.FindIndex(m => m.ThreadKey == threadKey && m.ClientMessageId == clientMessageId);
            if (existing >= 0)
            {
                return Results.Json(new { message_id = existing + 1, thread_key = threadKey, duplicate = true });
            }

            _messages.Add(new FakeApiMessage(threadKey, (string)body["text"]!, (string)body["author"]!, clientMessageId));
            return Results.Json(new { message_id = _messages.Count, thread_key = threadKey, duplicate = false });
        }
    }

    private IResult Execute(JsonObject body)
    {
        var threadKey = (string)body["thread_key"]!;
        var idempotencyKey = (string)body["idempotency_key"]!;
        FakeExecution execution;
        lock (_lock)
        {
            var known = _executions.FirstOrDefault(e => e.ThreadKey == threadKey && e.IdempotencyKey == idempotencyKey)
                ?? _executions.FirstOrDefault(e => e.ThreadKey == threadKey && e.State is "queued" or "running");
            if (known is not null)
            {
                return Results.Json(new { execution_id = known.Id, thread_key = threadKey, state = known.State }, statusCode: 202);
            }

            execution = new FakeExecution(Interlocked.Increment(ref s_nextExecutionId), threadKey, idempotencyKey);
            _executions.Add(execution);
            foreach (var message in _messages.Where(m => m.ThreadKey == threadKey && m.ExecutionId is null))
            {
                message.ExecutionId = execution.Id;
            }
        }

        _ = Task.Run(() => RunAsync(execution));
        return Results.Json(new { execution_id = execution.Id, thread_key = threadKey, state = "queued" }, statusCode: 202);
    }

    private IResult Cancel(long id)
    {
        lock (_lock)
        {
            _cancels.Add(id);
            if (_executions.FirstOrDefault(e => e.Id == id) is not { } execution)
            {
                return Results.NotFound();
            }

            execution.Cancel.Cancel();
        }

        return Results.Json(new { execution_id = id }, statusCode: 202);
    }

    private IResult Resume(long id)
    {
        string threadKey;
        lock (_lock)
        {
            threadKey = _executions.First(e => e.Id == id).ThreadKey;
        }

        return Execute(new JsonObject { ["thread_key"] = threadKey, ["idempotency_key"] = $"resume:{id}" });
    }

    private async Task RunAsync(FakeExecution execution)
    {
        execution.State = "running";
        Append(execution, "execution_state", new JsonObject { ["state"] = "running" });
        List<string> texts;
        lock (_lock)
        {
            texts = [.. _messages.Where(m => m.ExecutionId == execution.Id).Select(m => m.Text)];
        }

        FakeOutcome outcome;
        try
        {
            outcome = await Script(new FakeTurn(this, execution, texts));
        }
        catch (OperationCanceledException) when (execution.Cancel.IsCancellationRequested)
        {
            outcome = new FakeOutcome("cancelled", null, null, null);
        }
        catch (Exception ex)
        {
            outcome = FakeOutcome.Failed(ex.Message);
        }

        var data = new JsonObject { ["state"] = outcome.State, ["result"] = outcome.Result };
        if (outcome.Error is not null)
        {
            data["error"] = new JsonObject { ["message"] = outcome.Error };
        }

        if (outcome.Effects is not null)
        {
            data["effects"] = outcome.Effects.DeepClone();
        }

        lock (_lock)
        {
            execution.State = outcome.State;
            if (OutboxEnabled)
            {
                _deliveries.Add(new FakeDelivery(_deliveries.Count + 1, execution.Id, execution.ThreadKey, outcome.State, outcome.Result));
            }
        }

        Append(execution, "execution_state", data);
    }

    internal void Append(FakeExecution execution, string type, JsonObject data)
    {
        TaskCompletionSource changed;
        lock (_lock)
        {
            _events.Add(new FakeAgentEvent(_events.Count + 1, execution.Id, execution.ThreadKey, type, data, DateTimeOffset.UtcNow));
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
    }

    private async Task StreamAsync(HttpContext context, string threadKey, long? after_event_id, long? execution_id)
    {
        var after = after_event_id ?? (long.TryParse(context.Request.Headers["Last-Event-ID"], out var last) ? last : 0);
        context.Response.ContentType = "text/event-stream";
        CancellationToken broken;
        lock (_lock)
        {
            broken = _streams.Token;
        }

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, broken);
        try
        {
            while (true)
            {
                List<FakeAgentEvent> batch;
                Task changed;
                FakeAgentEvent? terminal;
                lock (_lock)
                {
                    var scoped = _events.Where(e => e.ThreadKey == threadKey && (execution_id is null || e.ExecutionId == execution_id)).ToList();
                    batch = [.. scoped.Where(e => e.Id > after)];
                    terminal = scoped.LastOrDefault(e => e.IsTerminal);
                    changed = _changed.Task;
                }

                // A late joiner after the end still gets the terminal snapshot.
                if (batch.Count == 0 && terminal is not null && execution_id is not null)
                {
                    batch.Add(terminal);
                }

                foreach (var item in batch)
                {
                    var data = JsonSerializer.Serialize(new { event_id = item.Id, execution_id = item.ExecutionId, type = item.Type, data = item.Data, created_at = item.At }, s_json);
                    await context.Response.WriteAsync($"id: {item.Id}\nevent: {item.Type}\ndata: {data}\n\n", linked.Token);
                    after = Math.Max(after, item.Id);
                    if (item.IsTerminal && item.ExecutionId == execution_id)
                    {
                        await context.Response.Body.FlushAsync(linked.Token);
                        return;
                    }
                }

                await context.Response.Body.FlushAsync(linked.Token);
                await Task.WhenAny(changed, Task.Delay(TimeSpan.FromSeconds(10), linked.Token));
                linked.Token.ThrowIfCancellationRequested();
            }
        }
        catch (OperationCanceledException)
        {
            context.Abort();
        }
    }

    private IResult Claim(JsonObject body)
    {
        if (!OutboxEnabled)
        {
            return Results.NotFound();
        }

        var max = (int?)body["max"] ?? 10;
        var lease = TimeSpan.FromSeconds((int?)body["lease_seconds"] ?? 60);
        lock (_lock)
        {
            var claimed = _deliveries.Where(d => d.ExternalRef is null && (d.LeaseUntil is null || d.LeaseUntil < DateTimeOffset.UtcNow)).Take(max).ToList();
            foreach (var delivery in claimed)
            {
                delivery.LeaseToken = Guid.NewGuid().ToString("N");
                delivery.LeaseUntil = DateTimeOffset.UtcNow + lease;
                delivery.Claims++;
            }

            return Results.Json(claimed.Select(d => new { delivery_id = d.Id, execution_id = d.ExecutionId, thread_key = d.ThreadKey, state = d.State, result = d.Result, lease_token = d.LeaseToken }));
        }
    }

    private IResult Ack(long id, JsonObject body)
    {
        lock (_lock)
        {
            var delivery = _deliveries.FirstOrDefault(d => d.Id == id);
            if (delivery is null)
            {
                return Results.NotFound();
            }

            if (delivery.ExternalRef is null && delivery.LeaseToken != (string?)body["lease_token"])
            {
                return Results.Problem(statusCode: 409, extensions: new Dictionary<string, object?> { ["code"] = "lease_lost" });
            }

            delivery.ExternalRef ??= (string?)body["external_ref"];
            delivery.Acks++;
            return Results.Ok();
        }
    }

    public async ValueTask DisposeAsync()
    {
        BreakStreams();
        using (var stop = new CancellationTokenSource(TimeSpan.FromSeconds(2)))
        {
            await _app.StopAsync(stop.Token);
        }

        await _app.DisposeAsync();
    }
}

public sealed record FakeThreadAllowance(string ThreadKey, string Host, string? GrantedBy);

public sealed record FakeApiMessage(string ThreadKey, string Text, string Author, string ClientMessageId)
{
    public long? ExecutionId { get; set; }
}

public sealed class FakeExecution(long id, string threadKey, string idempotencyKey)
{
    public long Id { get; } = id;

    public string ThreadKey { get; } = threadKey;

    public string IdempotencyKey { get; } = idempotencyKey;

    public string State { get; set; } = "queued";

    internal CancellationTokenSource Cancel { get; } = new();
}

public sealed record FakeAgentEvent(long Id, long ExecutionId, string ThreadKey, string Type, JsonObject Data, DateTimeOffset At)
{
    public bool IsTerminal => Type == "execution_state" && (string?)Data["state"] is "succeeded" or "failed" or "cancelled" or "interrupted";
}

public sealed record FakeDelivery(long Id, long ExecutionId, string ThreadKey, string State, string? Result)
{
    public string? LeaseToken { get; set; }

    public DateTimeOffset? LeaseUntil { get; set; }

    public string? ExternalRef { get; set; }

    public int Claims { get; set; }

    public int Acks { get; set; }
}

public sealed record FakeOutcome(string State, string? Result, string? Error, JsonArray? Effects)
{
    public static FakeOutcome Succeeded(string result) => new("succeeded", result, null, null);

    public static FakeOutcome Failed(string error) => new("failed", null, error, null);
}

/// <summary>The turn a script drives: emit events, wait, observe cancellation.</summary>
public sealed class FakeTurn(FakeCentaurApi api, FakeExecution execution, IReadOnlyList<string> texts)
{
    public long ExecutionId => execution.Id;

    public string ThreadKey => execution.ThreadKey;

    /// <summary>The messages this turn consumed (folded messages arrive together).</summary>
    public IReadOnlyList<string> Texts => texts;

    public CancellationToken Cancelled => execution.Cancel.Token;

    public void Delta(string text) => api.Append(execution, "assistant_delta", new JsonObject { ["text"] = text });

    public void Message(string text) => api.Append(execution, "assistant_message", new JsonObject { ["text"] = text });

    public void ToolUse(string name, JsonObject input) =>
        api.Append(execution, "tool_use", new JsonObject { ["id"] = "toolu_1", ["name"] = name, ["input"] = input });

    public void Status(string text) => api.Append(execution, "status", new JsonObject { ["text"] = text });

    /// <summary>What IronProxy writes into the thread when it refuses a host during the turn.</summary>
    public void EgressBlocked(string host, int port = 443) => api.Append(execution, "egress_blocked", new JsonObject { ["host"] = host, ["port"] = port });
}
