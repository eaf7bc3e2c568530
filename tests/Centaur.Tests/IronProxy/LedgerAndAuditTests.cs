using System.Text.Json;

namespace Centaur.Tests.IronProxy;

/// <summary>Side effects are recorded before they happen; every request leaves one audit row and no secret anywhere.</summary>
[Collection(IronProxyCollection.Name)]
public sealed class LedgerAndAuditTests(IronProxyFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task APostLeavesALedgerRowBeforeTheUpstreamSeesIt()
    {
        var marker = Guid.NewGuid().ToString("N");
        var result = await Curl.RunAsync(Ct, "-x", fixture.ProxyArgument(fixture.Token("test:ledger:post")), "--cacert", fixture.ProxyCaFile,
            "-X", "POST", $"https://other.test/ledger-check/{marker}");

        Assert.True(result.ExitCode == 0, result.Stderr);
        using var json = JsonDocument.Parse(result.Stdout);
        Assert.True(json.RootElement.GetProperty("seen").GetBoolean(), "the upstream got the request before its ledger row existed");
        await using var command = fixture.Db.CreateCommand("SELECT thread_key, method, source FROM side_effects WHERE target LIKE '%' || @marker");
        command.Parameters.AddWithValue("marker", marker);
        await using var reader = await command.ExecuteReaderAsync(Ct);
        Assert.True(await reader.ReadAsync(Ct));
        Assert.Equal(("test:ledger:post", "POST", "egress"), (reader.GetString(0), reader.GetString(1), reader.GetString(2)));
    }

    [Fact]
    public async Task AGetLeavesNoLedgerRow()
    {
        var marker = Guid.NewGuid().ToString("N");
        await Curl.RunAsync(Ct, "-x", fixture.ProxyArgument(fixture.Token("test:ledger:get")), "--cacert", fixture.ProxyCaFile, $"https://other.test/echo/{marker}");

        await fixture.WaitForAuditAsync(marker, 1, Ct);
        await using var command = fixture.Db.CreateCommand("SELECT count(*) FROM side_effects WHERE target LIKE '%' || @marker");
        command.Parameters.AddWithValue("marker", marker);
        Assert.Equal(0L, (long)(await command.ExecuteScalarAsync(Ct))!);
    }

    [Fact]
    public async Task TheAuditHoldsOneRowPerRequestAndNoSecretValueAnywhere()
    {
        var marker = Guid.NewGuid().ToString("N");
        var token = fixture.Token("test:audit:rows", "sbx-audit");
        for (var i = 0; i < 5; i++)
        {
            var result = await Curl.RunAsync(Ct, "-x", fixture.ProxyArgument(token), "--cacert", fixture.ProxyCaFile,
                $"https://api.anthropic.test/echo/{marker}/{i}?secret_in_query=centaur-placeholder%3Aanthropic", "-H", "x-api-key: centaur-placeholder:anthropic",
                "-d", "{\"hello\":1}");
            Assert.True(result.ExitCode == 0, result.Stderr);
        }

        var rows = await fixture.WaitForAuditAsync(marker, 5, Ct);

        Assert.Equal(5, rows.Count);
        Assert.All(rows, row =>
        {
            Assert.Equal("test:audit:rows", row["thread_key"]);
            Assert.Equal("sbx-audit", row["sandbox_id"]);
            Assert.Equal("POST", row["method"]);
            Assert.Equal("api.anthropic.test", row["host"]);
            Assert.Equal(200, row["status"]);
            Assert.Equal(11L, row["bytes_in"]);
            Assert.True((long)row["bytes_out"]! > 0);
            Assert.Equal(new[] { "anthropic" }, (string[])row["bindings"]!);
            Assert.Equal("allow", row["decision"]);
            Assert.DoesNotContain("?", (string)row["path"]!, StringComparison.Ordinal);
        });

        await using var command = fixture.Db.CreateCommand("""
            SELECT (SELECT count(*) FROM egress_audit a WHERE a::text LIKE '%' || @secret || '%')
                 + (SELECT count(*) FROM side_effects s WHERE s::text LIKE '%' || @secret || '%')
            """);
        command.Parameters.AddWithValue("secret", IronProxyFixture.AnthropicKey);
        Assert.Equal(0L, (long)(await command.ExecuteScalarAsync(Ct))!);
        Assert.NotEmpty(fixture.ProxyLogs);
        Assert.DoesNotContain(fixture.ProxyLogs, line => line.Contains(IronProxyFixture.AnthropicKey, StringComparison.Ordinal));
    }

    [Fact]
    public async Task AuditRowsStillGatheringWhenTheProxyStopsAreWrittenBeforeItExits()
    {
        // Rows gather for a minute here, so the request's row is still queued when the proxy is told to stop.
        await using var proxy = await StandaloneProxy.StartWithOwnCaAsync(fixture, Ct,
            new Dictionary<string, string> { ["IronProxy__AuditFlushMilliseconds"] = "60000" });
        var marker = Guid.NewGuid().ToString("N");
        var result = await Curl.RunAsync(Ct, "-x", proxy.ProxyArgument(fixture.Token("test:audit:stop")), "--cacert", proxy.CaFile, $"https://other.test/echo/{marker}");
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal(0L, await CountAuditAsync(marker));

        Assert.Equal(0, await proxy.TerminateAsync(TimeSpan.FromSeconds(30)));

        Assert.Equal(1L, await CountAuditAsync(marker));
    }

    [Fact]
    public async Task TheApiServesTheAuditOfAThread()
    {
        var marker = Guid.NewGuid().ToString("N");
        var thread = $"test:audit:{marker}";
        await Curl.RunAsync(Ct, "-x", fixture.ProxyArgument(fixture.Token(thread)), "--cacert", fixture.ProxyCaFile, $"https://other.test/echo/{marker}");
        await fixture.WaitForAuditAsync(marker, 1, Ct);
        using var api = fixture.CreateApiClient();

        using var page = JsonDocument.Parse(await api.GetStringAsync($"/audit/egress?thread_key={Uri.EscapeDataString(thread)}", Ct));

        var item = Assert.Single(page.RootElement.GetProperty("items").EnumerateArray());
        Assert.Equal($"/echo/{marker}", item.GetProperty("path").GetString());
        Assert.Equal("other.test", item.GetProperty("host").GetString());
        Assert.Equal(200, item.GetProperty("status").GetInt32());
    }

    private async Task<long> CountAuditAsync(string marker)
    {
        await using var command = fixture.Db.CreateCommand("SELECT count(*) FROM egress_audit WHERE path LIKE '%' || @marker || '%'");
        command.Parameters.AddWithValue("marker", marker);
        return (long)(await command.ExecuteScalarAsync(Ct))!;
    }
}
