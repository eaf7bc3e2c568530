using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Centaur.Tests.Tools;

/// <summary>The workflow API as a client (the CLI, the console, a cron-less trigger) uses it.</summary>
public sealed class WorkflowClient(HttpClient http)
{
    public HttpClient Http => http;

    public async Task<JsonObject> StartAsync(string workflow, JsonObject input, string? idempotencyKey = null)
    {
        using var response = await http.PostAsJsonAsync($"/workflows/{workflow}/runs", new JsonObject { ["input"] = input, ["idempotency_key"] = idempotencyKey });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {body}");
        return JsonNode.Parse(body)!.AsObject();
    }

    /// <summary>GET /workflows/runs/{id}: {run, steps}.</summary>
    public async Task<JsonObject> GetAsync(long runId) =>
        JsonNode.Parse(await http.GetStringAsync($"/workflows/runs/{runId}"))!.AsObject();

    /// <summary>Polls the run until <paramref name="until"/> holds for it (default: a terminal state).</summary>
    public async Task<JsonObject> WaitAsync(long runId, Func<JsonObject, bool>? until = null, TimeSpan? timeout = null)
    {
        until ??= detail => detail["run"]!["state"]!.GetValue<string>() is "succeeded" or "failed" or "cancelled";
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            var detail = await GetAsync(runId);
            if (until(detail))
            {
                return detail;
            }

            if (cts.IsCancellationRequested)
            {
                throw new TimeoutException($"workflow run {runId} did not get there in time: {detail.ToJsonString()}");
            }

            await Task.Delay(100, CancellationToken.None);
        }
    }

    public static long RunId(JsonObject run) => run["run_id"]!.GetValue<long>();

    public static string State(JsonObject detail) => detail["run"]!["state"]!.GetValue<string>();

    public static JsonObject Step(JsonObject detail, string name) =>
        detail["steps"]!.AsArray().Single(s => s!["name"]!.GetValue<string>() == name)!.AsObject();
}
