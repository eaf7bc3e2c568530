// FakeSandbox: speaks the canonical NDJSON wire like Centaur.Sandbox with a harness behind it, scripted by
// directives in the turn text, so the control plane's tests can make a sandbox answer, stream, call a tool, hang or
// die on cue. Directives are lines of the form "[fake] key=value key=value":
//   deltas=N         stream the answer in N assistant deltas (default 3)
//   delay_ms=M       wait M ms between deltas (default 0)
//   tool=T.M         call the tool gateway (T/M) before answering: a recorded side effect
//   args=JSON        the tool call's arguments (JSON without spaces; default {}); the reply's body is in the tool_result
//   die=always       exit mid-turn (after the first delta)
//   die=once:PATH    exit mid-turn unless PATH exists (and create it), so the replay succeeds
//   hang=true        never answer (until turn.cancel)
//   llm=ROUTE        first call the fake LLM through IronProxy's reverse route ROUTE ($CENTAUR_PROXY_URL/ROUTE/v1/messages,
//                    the placeholder key in x-api-key, as a harness would); the answer ends with "[llm: <status>]"
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;

var home = Environment.GetEnvironmentVariable("HOME") ?? Directory.GetCurrentDirectory();
var apiUrl = Environment.GetEnvironmentVariable("CENTAUR_API_URL");
var stdout = Console.OpenStandardOutput();
var writeLock = new SemaphoreSlim(1, 1);
var turns = 0;
var sessionId = $"fake-session-{Environment.ProcessId}";
using var llmHttp = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
File.WriteAllText(Path.Combine(home, ".ready"), "");

var input = Channel.CreateUnbounded<JsonObject>();
var cancels = new System.Collections.Concurrent.ConcurrentDictionary<string, CancellationTokenSource>();
_ = Task.Run(async () =>
{
    using var reader = new StreamReader(Console.OpenStandardInput());
    while (await reader.ReadLineAsync() is { } line)
    {
        if (JsonNode.Parse(line) is not JsonObject message)
        {
            continue;
        }

        if (message["type"]?.GetValue<string>() == "turn.cancel" && cancels.TryGetValue(message["turn_id"]!.ToString(), out var cts))
        {
            await cts.CancelAsync();
        }
        else
        {
            input.Writer.TryWrite(message);
        }
    }

    input.Writer.TryComplete();
});

await foreach (var message in input.Reader.ReadAllAsync())
{
    if (message["type"]?.GetValue<string>() is "sandbox.setup" or "setup")
    {
        // Kept for tests (what the backend sent: prompt layers, skills); answered like Centaur.Sandbox does.
        File.AppendAllText(Path.Combine(home, ".setup-lines"), message.ToJsonString() + "\n");
        await WriteAsync(new JsonObject { ["type"] = "sandbox.ready", ["thread_key"] = message["thread_key"]?.GetValue<string>() });
        continue;
    }

    if (message["type"]?.GetValue<string>() != "turn.start")
    {
        continue;
    }

    var turnId = message["turn_id"]!.ToString();
    using var cancel = new CancellationTokenSource();
    cancels[turnId] = cancel;
    try
    {
        await RunTurnAsync(turnId, message["text"]?.GetValue<string>() ?? "", message["sandbox_token"]?.GetValue<string>(), cancel.Token);
    }
    catch (OperationCanceledException)
    {
        await WriteAsync(new JsonObject { ["type"] = "result", ["subtype"] = "error_cancelled", ["result"] = "cancelled", ["is_error"] = true });
        await WriteAsync(new JsonObject { ["type"] = "turn.done", ["turn_id"] = turnId, ["result"] = "cancelled" });
    }

    cancels.TryRemove(turnId, out _);
}

return 0;

async Task RunTurnAsync(string turnId, string text, string? token, CancellationToken cancellationToken)
{
    turns++;
    var directives = text.Split('\n').Where(l => l.StartsWith("[fake]", StringComparison.Ordinal))
        .SelectMany(l => l[6..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
        .Select(kv => kv.Split('=', 2))
        .Aggregate(new Dictionary<string, string>(), (all, kv) => { all[kv[0]] = kv.Length > 1 ? kv[1] : "true"; return all; });
    var prompt = string.Join('\n', text.Split('\n').Where(l => !l.StartsWith("[fake]", StringComparison.Ordinal))).Trim();
    var deltas = directives.TryGetValue("deltas", out var d) ? int.Parse(d) : 3;
    var delay = directives.TryGetValue("delay_ms", out var ms) ? int.Parse(ms) : 0;

    await WriteAsync(new JsonObject { ["type"] = "system", ["subtype"] = "init", ["session_id"] = sessionId });
    if (directives.TryGetValue("tool", out var tool))
    {
        var parts = tool.Split('.');
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{apiUrl}/tools/{parts[0]}/{parts[1]}")
        {
            Content = new StringContent(directives.TryGetValue("args", out var toolArgs) ? toolArgs : "{}", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request, cancellationToken);
        var reply = await response.Content.ReadAsStringAsync(cancellationToken);
        await WriteAsync(new JsonObject
        {
            ["type"] = "user",
            ["message"] = new JsonObject
            {
                ["role"] = "user",
                ["content"] = new JsonArray(new JsonObject
                {
                    ["type"] = "tool_result", ["tool_use_id"] = "toolu_fake", ["content"] = $"HTTP {(int)response.StatusCode} {reply}",
                    ["is_error"] = !response.IsSuccessStatusCode,
                }),
            },
        });
    }

    if (directives.ContainsKey("hang"))
    {
        await Task.Delay(Timeout.Infinite, cancellationToken);
    }

    var answer = $"turn {turns}: {prompt}";
    if (directives.TryGetValue("llm", out var route))
    {
        answer += $" [llm: {await CallLlmAsync(route, token, cancellationToken)}]";
    }

    var chunks = Split(answer, Math.Max(1, deltas));
    for (var i = 0; i < chunks.Count; i++)
    {
        await WriteAsync(new JsonObject
        {
            ["type"] = "stream_event",
            ["event"] = new JsonObject { ["type"] = "content_block_delta", ["delta"] = new JsonObject { ["type"] = "text_delta", ["text"] = chunks[i] } },
        });
        if (i == 0 && directives.TryGetValue("die", out var die) && ShouldDie(die))
        {
            Environment.Exit(137);
        }

        if (delay > 0)
        {
            await Task.Delay(delay, cancellationToken);
        }
    }

    await WriteAsync(new JsonObject
    {
        ["type"] = "assistant",
        ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = answer }) },
    });
    await WriteAsync(new JsonObject
    {
        ["type"] = "result", ["subtype"] = "success", ["result"] = answer, ["session_id"] = sessionId,
        ["usage"] = new JsonObject { ["input_tokens"] = prompt.Length, ["output_tokens"] = answer.Length },
    });
    await WriteAsync(new JsonObject { ["type"] = "turn.done", ["turn_id"] = turnId, ["result"] = answer });
}

async Task<int> CallLlmAsync(string route, string? token, CancellationToken cancellationToken)
{
    using var request = new HttpRequestMessage(HttpMethod.Post, $"{Environment.GetEnvironmentVariable("CENTAUR_PROXY_URL")}/{route}/v1/messages")
    {
        Content = new StringContent("""{"model":"fake","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
    };
    request.Headers.Add("X-Centaur-Sandbox-Token", token ?? Environment.GetEnvironmentVariable("CENTAUR_SANDBOX_TOKEN"));
    request.Headers.Add("x-api-key", Environment.GetEnvironmentVariable("ANTHROPIC_API_KEY"));
    using var response = await llmHttp.SendAsync(request, cancellationToken);
    await response.Content.ReadAsStringAsync(cancellationToken);
    return (int)response.StatusCode;
}

static bool ShouldDie(string die)
{
    if (die == "always")
    {
        return true;
    }

    var marker = die["once:".Length..];
    if (File.Exists(marker))
    {
        return false;
    }

    File.WriteAllText(marker, "");
    return true;
}

static List<string> Split(string text, int parts)
{
    var size = (int)Math.Ceiling(text.Length / (double)parts);
    var chunks = new List<string>();
    for (var i = 0; i < text.Length; i += Math.Max(1, size))
    {
        chunks.Add(text.Substring(i, Math.Min(Math.Max(1, size), text.Length - i)));
    }

    return chunks;
}

async Task WriteAsync(JsonObject line)
{
    var bytes = Encoding.UTF8.GetBytes(line.ToJsonString() + "\n");
    await writeLock.WaitAsync();
    try
    {
        await stdout.WriteAsync(bytes);
        await stdout.FlushAsync();
    }
    finally
    {
        writeLock.Release();
    }
}
