using System.Net;
using System.Text.Json.Nodes;
using Centaur.Tests.ControlPlane;
using Centaur.Tests.Infrastructure;
using Centaur.Tests.IronProxy;
using Npgsql;

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
        var (fetched, page) = await caller.CallAsync("web", "fetch", $$"""{"url":"https://other.test/echo/{{marker}}-web"}""");
        var (refused, problem) = await caller.CallAsync("web", "fetch", $$"""{"url":"https://not-allowed.test/{{marker}}"}""");
        var audit = await AuditOfThreadAsync(thread, 3);

        Assert.Equal(HttpStatusCode.OK, status);
        var echo = JsonNode.Parse(body["result"]!["body"]!.GetValue<string>())!;
        Assert.Equal(200, body["result"]!["status"]!.GetValue<int>());
        Assert.Equal(IronProxyFixture.AnthropicKey, echo["headers"]!["x-api-key"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, fetched);
        Assert.Equal("other.test", JsonNode.Parse(page["result"]!["text"]!.GetValue<string>())!["host"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, refused);
        Assert.Equal(403, problem["result"]!["status"]!.GetValue<int>());
        Assert.All(audit, row => Assert.Equal(thread, row["thread_key"]));
        Assert.All(audit, row => Assert.Equal("sbx-egress", row["sandbox_id"]));
        Assert.Equal(["anthropic"], (string[])audit.Single(r => ((string)r["host"]!) == "api.anthropic.test")["bindings"]!);
        Assert.Equal("deny", audit.Single(r => ((string)r["host"]!) == "not-allowed.test")["decision"]);
        Assert.DoesNotContain(IronProxyFixture.AnthropicKey, api.RecentLog, StringComparison.Ordinal);
        await using var db = NpgsqlDataSource.Create(api.ConnectionString);
        await using var leaked = db.CreateCommand("SELECT count(*) FROM tool_calls WHERE outcome LIKE '%' || @key || '%'");
        leaked.Parameters.AddWithValue("key", IronProxyFixture.AnthropicKey);
        Assert.Equal(0L, await leaked.ExecuteScalarAsync());
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
            await using var reader = await command.ExecuteReaderAsync(timeout.Token);
            var rows = new List<Dictionary<string, object?>>();
            while (await reader.ReadAsync(timeout.Token))
            {
                rows.Add(Enumerable.Range(0, reader.FieldCount).ToDictionary(reader.GetName, i => reader.IsDBNull(i) ? null : reader.GetValue(i)));
            }

            if (rows.Count >= count)
            {
                return rows;
            }

            await Task.Delay(100, timeout.Token);
        }
    }
}
