using System.Net;
using System.Text.Json.Nodes;
using Centaur.Tests.ControlPlane;
using Centaur.Tests.Infrastructure;

namespace Centaur.Tests.Tools;

/// <summary>The sample overlay the README walks through (samples/overlay) loads cleanly, each kind in place.</summary>
[Collection(AppCollection.Name)]
public sealed class SampleOverlayTests(CentaurAppFixture fixture)
{
    [Fact]
    public async Task TheSampleOverlayLoadsItsToolWorkflowPersonaSkillAndPrompt()
    {
        await using var api = await fixture.StartApiProcessAsync(new Dictionary<string, string>
        {
            ["Overlay__Path"] = Path.Combine(RepositoryPaths.Root, "samples", "overlay"),
        });
        using var http = api.CreateClient();
        var thread = AgentClient.NewThreadKey();
        using var spawn = await http.PostAsync("/agent/spawn", JsonContent(new JsonObject { ["thread_key"] = thread, ["persona"] = "oncall" }));
        Assert.Equal(HttpStatusCode.OK, spawn.StatusCode);

        var summary = JsonNode.Parse(await http.GetStringAsync("/overlay"))!;
        var workflows = JsonNode.Parse(await http.GetStringAsync("/workflows"))!.AsArray();
        var (status, problem) = await new ToolCaller(api, thread).CallAsync("statuspage", "incidents", """{"page_id":"Not An Id"}""");
        using var sandbox = new ToolCaller(api, thread).CreateClient();
        var markdown = await sandbox.GetStringAsync("/tools/agents-md");

        Assert.Empty(summary["errors"]!.AsArray());
        Assert.Contains(summary["tools"]!.AsArray(), t => t!["name"]!.GetValue<string>() == "statuspage" && t["source"]!.GetValue<string>() == "org");
        Assert.Contains(summary["personas"]!.AsArray(), p => p!["name"]!.GetValue<string>() == "oncall" && p["source"]!.GetValue<string>() == "org");
        Assert.Equal("incident-review", Assert.Single(summary["skills"]!.AsArray())!["name"]!.GetValue<string>());
        var digest = workflows.Single(w => w!["name"]!.GetValue<string>() == "weekly_digest")!;
        Assert.Equal("0 9 * * MON", digest["schedule"]!["cron"]!.GetValue<string>());
        Assert.Equal("org", digest["source"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("page_id", problem["field"]!.GetValue<string>());
        Assert.StartsWith("## Acme\n", markdown, StringComparison.Ordinal);
        Assert.Contains("## Persona: on-call", markdown, StringComparison.Ordinal);
        Assert.Contains("- `call statuspage incidents '{\"page_id\":\"…\"}'`", markdown, StringComparison.Ordinal);
        Assert.DoesNotContain("### greeter", markdown, StringComparison.Ordinal);
    }

    private static StringContent JsonContent(JsonObject body) => new(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json");
}
