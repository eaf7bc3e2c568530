using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Centaur.Sandbox.Wire;

namespace Centaur.Sandbox.Tools;

/// <summary>
/// <c>call &lt;tool&gt; &lt;method&gt; '&lt;json&gt;'</c>: POST $CENTAUR_API_URL/tools/&lt;tool&gt;/&lt;method&gt; with the sandbox
/// token. Prints the JSON result on success; on failure prints the API's reason to stderr and exits non-zero, so an
/// agent's shell sees a clear error (2 = usage, 3 = no token or API, 4 = the API said no, 5 = unreachable).
/// </summary>
internal static class CallCommand
{
    private const string Usage = "usage: call <tool> <method> ['<json arguments>' | -]  |  call --list";

    public static async Task<int> RunAsync(string[] args, TextReader stdin, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        if (args is ["--list"])
        {
            return await ListAsync(stdout, stderr, cancellationToken);
        }

        if (args.Length is < 2 or > 3 || !IsName(args[0]) || !IsName(args[1]))
        {
            await stderr.WriteLineAsync(Usage);
            return 2;
        }

        var body = args.Length == 3 ? args[2] : "{}";
        if (body == "-")
        {
            body = await stdin.ReadToEndAsync(cancellationToken);
        }

        try
        {
            _ = JsonNode.Parse(body);
        }
        catch (JsonException ex)
        {
            await stderr.WriteLineAsync($"call: the arguments are not JSON: {ex.Message}");
            return 2;
        }

        var apiUrl = Environment.GetEnvironmentVariable("CENTAUR_API_URL");
        var token = ReadToken();
        if (string.IsNullOrEmpty(apiUrl) || token is null)
        {
            await stderr.WriteLineAsync("call: this sandbox has no CENTAUR_API_URL or sandbox token (is it set up?)");
            return 3;
        }

        // The API is reached directly (its forward on 127.0.0.1), never through the egress proxy.
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromMinutes(5) };
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{apiUrl.TrimEnd('/')}/tools/{args[0]}/{args[1]}")
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        try
        {
            using var response = await http.SendAsync(request, cancellationToken);
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                await stdout.WriteLineAsync(text);
                return 0;
            }

            await stderr.WriteLineAsync($"call: {args[0]} {args[1]} failed: HTTP {(int)response.StatusCode}: {Reason(text, response.ReasonPhrase)}");
            return 4;
        }
        catch (HttpRequestException ex)
        {
            await stderr.WriteLineAsync($"call: cannot reach the Centaur API at {apiUrl}: {ex.Message}");
            return 5;
        }
    }

    /// <summary><c>call --list</c>: the tools this thread may call (GET /tools), each method with its argument schema.</summary>
    private static async Task<int> ListAsync(TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        var apiUrl = Environment.GetEnvironmentVariable("CENTAUR_API_URL");
        var token = ReadToken();
        if (string.IsNullOrEmpty(apiUrl) || token is null)
        {
            await stderr.WriteLineAsync("call: this sandbox has no CENTAUR_API_URL or sandbox token (is it set up?)");
            return 3;
        }

        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromMinutes(1) };
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{apiUrl.TrimEnd('/')}/tools");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        try
        {
            using var response = await http.SendAsync(request, cancellationToken);
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            if (!response.IsSuccessStatusCode || JsonNode.Parse(text) is not JsonArray tools)
            {
                await stderr.WriteLineAsync($"call: listing the tools failed: HTTP {(int)response.StatusCode}: {Reason(text, response.ReasonPhrase)}");
                return 4;
            }

            foreach (var tool in tools.OfType<JsonObject>())
            {
                await stdout.WriteLineAsync($"{tool.GetString("name")}: {tool.GetString("description")}");
                foreach (var method in (tool["methods"] as JsonArray ?? []).OfType<JsonObject>())
                {
                    await stdout.WriteLineAsync($"  call {tool.GetString("name")} {method.GetString("name")} '<json>'  {method.GetString("description")}");
                    await stdout.WriteLineAsync($"    arguments: {method["arguments_schema"]?.ToJsonString()}");
                }
            }

            return 0;
        }
        catch (HttpRequestException ex)
        {
            await stderr.WriteLineAsync($"call: cannot reach the Centaur API at {apiUrl}: {ex.Message}");
            return 5;
        }
    }

    private static string? ReadToken()
    {
        if (Environment.GetEnvironmentVariable("CENTAUR_SANDBOX_TOKEN_FILE") is { Length: > 0 } file && File.Exists(file))
        {
            var fromFile = File.ReadAllText(file).Trim();
            if (fromFile.Length > 0)
            {
                return fromFile;
            }
        }

        return Environment.GetEnvironmentVariable("CENTAUR_SANDBOX_TOKEN") is { Length: > 0 } fromEnv ? fromEnv : null;
    }

    /// <summary>ProblemDetails (title, detail, code) when the API sent one, else the raw body.</summary>
    private static string Reason(string body, string? reasonPhrase)
    {
        if (WireJson.TryParseObject(body) is { } problem)
        {
            var parts = new[] { problem.GetString("code"), problem.GetString("title"), problem.GetString("detail") }.Where(p => !string.IsNullOrEmpty(p));
            var joined = string.Join(": ", parts);
            if (joined.Length > 0)
            {
                return joined;
            }
        }

        return body.Length > 0 ? (body.Length > 500 ? body[..500] : body) : reasonPhrase ?? "no reason given";
    }

    private static bool IsName(string s) =>
        s.Length is > 0 and <= 100 && s.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
}
