using System.Diagnostics;
using System.Text.Json.Nodes;
using Centaur.Tests.ControlPlane;
using Centaur.Tests.Infrastructure;

namespace Centaur.Tests.Tools;

/// <summary>The sandbox runtime's own `call` helper (centaur-sandbox call …) against the tool gateway of a real API.</summary>
[Collection(AppCollection.Name)]
public sealed class CallHelperTests(OverlayApi overlay) : IClassFixture<OverlayApi>
{
    [Fact]
    public async Task CallListPrintsTheToolsThePersonaMayCallAndCallReturnsAResult()
    {
        var api = overlay.Api;
        var thread = AgentClient.NewThreadKey();
        using var http = api.CreateClient();
        using var spawn = await http.PostAsync("/agent/spawn", new StringContent(
            new JsonObject { ["thread_key"] = thread, ["persona"] = "reviewer" }.ToJsonString(), System.Text.Encoding.UTF8, "application/json"));
        spawn.EnsureSuccessStatusCode();
        var token = new ToolCaller(api, thread).CreateClient().DefaultRequestHeaders.Authorization!.Parameter!;

        var (listExit, list, _) = await CallAsync(api, token, "--list");
        var (callExit, result, _) = await CallAsync(api, token, "greeter", "hello", """{"name":"shell"}""");
        var (refusedExit, _, refused) = await CallAsync(api, token, "web", "fetch", """{"url":"https://example.com/"}""");

        Assert.Equal(0, listExit);
        Assert.Contains("greeter: Greets people (a test overlay tool).", list, StringComparison.Ordinal);
        Assert.Contains("  call greeter hello '<json>'  Says hello to someone.", list, StringComparison.Ordinal);
        Assert.Contains("\"name\":{\"type\":\"string\",\"description\":\"Who to greet.\"", list, StringComparison.Ordinal);
        Assert.DoesNotContain("web:", list, StringComparison.Ordinal);
        Assert.Equal(0, callExit);
        Assert.Equal("hello shell from the overlay", JsonNode.Parse(result)!["result"]!["greeting"]!.GetValue<string>());
        Assert.Equal(4, refusedExit);
        Assert.Contains("HTTP 403: tool_not_allowed", refused, StringComparison.Ordinal);
    }

    private static async Task<(int Exit, string Stdout, string Stderr)> CallAsync(ApiProcess api, string token, params string[] args)
    {
        var start = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "sandbox-runtime", "centaur-sandbox")) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("call");
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["CENTAUR_API_URL"] = api.BaseAddress.ToString();
        start.Environment["CENTAUR_SANDBOX_TOKEN"] = token;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }
}
