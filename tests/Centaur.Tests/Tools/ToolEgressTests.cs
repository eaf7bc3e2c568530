using System.Net;
using System.Text.Json.Nodes;
using Centaur.Tests.ControlPlane;
using Centaur.Tests.Infrastructure;
using Centaur.Tests.IronProxy;

namespace Centaur.Tests.Tools;

/// <summary>
/// Tools that call upstreams themselves leave through the real IronProxy (IronProxy:Url), as the calling sandbox:
/// the proxy audits the request under the thread, swaps the placeholder for the secret on the wire, and the API
/// process never holds the secret. Runs in the proxy tests' collection, whose AppHost has the fake upstream hosts
/// and the "anthropic" binding in its policy.
/// </summary>
[Collection(IronProxyCollection.Name)]
public sealed class ToolEgressTests(IronProxyFixture fixture)
{
    [Fact]
    public async Task AToolsUpstreamCallGoesThroughIronProxyAsItsSandboxWithTheSecretSwappedOnTheWire()
    {
        var overlay = TestOverlayFolder.Create();
        var settings = TestOverlayFolder.Settings(overlay);
        settings["IronProxy__Url"] = fixture.ProxyUrl.ToString();
        settings["Centaur__SandboxTokenKey"] = IronProxyFixture.TokenKey;
        await using var api = await fixture.StartApiProcessAsync(settings);
        using var http = api.CreateClient();
        var thread = AgentClient.NewThreadKey();
        await new AgentClient(http).SpawnAsync(thread);
        var caller = new ToolCaller(api, thread, sandboxId: "sbx-egress", tokenKey: IronProxyFixture.TokenKey);
        var marker = Guid.NewGuid().ToString("N");

        var (status, body) = await caller.CallAsync("upstream", "get",
            $$"""{"url":"https://api.anthropic.test/echo/{{marker}}","secret":"anthropic","header":"x-api-key"}""");
        var (_, wrongHost) = await caller.CallAsync("upstream", "get",
            $$"""{"url":"https://other.test/echo/{{marker}}","secret":"anthropic","header":"x-api-key"}""");
        var (_, unknownHost) = await caller.CallAsync("upstream", "get",
            $$"""{"url":"https://not-allowed.test/{{marker}}","secret":"anthropic","header":"x-api-key"}""");
        var audit = await AuditOfThreadAsync(thread, 3);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(200, body["result"]!["status"]!.GetValue<int>());
        // The upstream echoes what it received (the test tool passes that back): the proxy put the real key there.
        var echo = JsonNode.Parse(body["result"]!["body"]!.GetValue<string>())!;
        Assert.Equal(IronProxyFixture.AnthropicKey, echo["headers"]!["x-api-key"]!.GetValue<string>());
        Assert.Equal(403, wrongHost["result"]!["status"]!.GetValue<int>());
        Assert.DoesNotContain(IronProxyFixture.AnthropicKey, wrongHost.ToJsonString(), StringComparison.Ordinal);
        Assert.Equal(403, unknownHost["result"]!["status"]!.GetValue<int>());
        var rows = string.Join(" | ", audit.Select(r => string.Join(", ", r.Select(kv => $"{kv.Key}={kv.Value}"))));
        Assert.True(audit.Count == 3, rows);
        Assert.All(audit, row => Assert.Equal("sbx-egress", row["sandbox_id"]));
        Assert.Equal(["allow", "deny", "deny"], audit.Select(r => (string)r["decision"]!));
        Assert.Equal(["api.anthropic.test", "other.test", "not-allowed.test"], audit.Select(r => (string)r["host"]!));
        Assert.Equal(["anthropic"], (string[])audit[0]["bindings"]!);
        Assert.DoesNotContain(IronProxyFixture.AnthropicKey, api.RecentLog, StringComparison.Ordinal);
        Directory.Delete(overlay, recursive: true);
    }

    /// <summary>The proxy's audit rows for the thread (written in batches, so wait for them).</summary>
    private async Task<List<Dictionary<string, object?>>> AuditOfThreadAsync(string thread, int count)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            await using var command = fixture.Db.CreateCommand("SELECT host, thread_key, sandbox_id, bindings, decision FROM egress_audit WHERE thread_key = @t ORDER BY id");
            command.Parameters.AddWithValue("t", thread);
            await using var reader = await command.ExecuteReaderAsync();
            var rows = new List<Dictionary<string, object?>>();
            while (await reader.ReadAsync())
            {
                rows.Add(Enumerable.Range(0, reader.FieldCount).ToDictionary(reader.GetName, i => reader.IsDBNull(i) ? null : reader.GetValue(i)));
            }

            if (rows.Count >= count || timeout.IsCancellationRequested)
            {
                return rows;
            }

            await Task.Delay(100, CancellationToken.None);
        }
    }
}
