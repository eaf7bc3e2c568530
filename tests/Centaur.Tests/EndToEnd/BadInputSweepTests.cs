using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Centaur.Tests.Infrastructure;
using Centaur.Tests.Slack;
using Npgsql;

namespace Centaur.Tests.EndToEnd;

/// <summary>
/// Malformed, oversize, wrongly signed, wrongly authenticated and path-traversing requests to every public endpoint
/// of every service of the AppHost. Each must get a 4xx (never a 5xx) with a stable code, write nothing, and show none
/// of the AppHost's secrets. Field-level validation of the control plane is in ControlPlane/BadInputTests.
/// </summary>
[Collection(AppCollection.Name)]
public sealed class BadInputSweepTests(CentaurAppFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void EveryApiEndpointHasASweepRow()
    {
        using var catalog = new ApiEndpointCatalog();

        var mapped = catalog.Endpoints().Select(e => $"{e.Method} {e.Pattern}").ToHashSet(StringComparer.Ordinal);
        var swept = ApiRoute.All.Select(r => r.ToString()).ToHashSet(StringComparer.Ordinal);

        Assert.True(mapped.SetEquals(swept),
            $"mapped but not swept: [{string.Join(", ", mapped.Except(swept))}]; swept but not mapped: [{string.Join(", ", swept.Except(mapped))}]");
        Assert.All(catalog.StaticAssets(), a => Assert.True(a.Anonymous && a.Methods.All(m => m is "GET" or "HEAD"), "static files are read-only"));
    }

    [Fact]
    public async Task EveryApiEndpointRefusesBadInputWithACodeAndWritesNothing()
    {
        var credentials = await SweepCredentials.FromAsync(fixture, Ct);
        var revokedKey = await CreateRevokedKeyAsync(credentials);
        await using var db = NpgsqlDataSource.Create((await fixture.App.GetConnectionStringAsync("postgres", Ct))!);
        var tables = await TableCounts.ForAsync(db, Ct);
        await tables.SettleAsync(Ct);
        var runner = new SweepRunner(fixture.App.GetEndpoint("api", "http"), tables, [.. credentials.Secrets, revokedKey], ProblemCode);

        var failures = await runner.RunAsync(ApiSweep.Cases(credentials, revokedKey), Ct);

        TestContext.Current.TestOutputHelper?.WriteLine($"{runner.Sent} requests");
        Assert.True(failures.Count == 0, $"{failures.Count} of {runner.Sent} requests:\n{string.Join('\n', failures)}");
        Assert.True(runner.Sent > ApiRoute.All.Count * 3, $"only {runner.Sent} requests were sent");
    }

    [Fact]
    public async Task EverySlackEndpointRefusesBadInputWithACodeAndWritesNothing()
    {
        await using var bed = await SlackTestBed.StartAsync(fixture);
        await using var db = NpgsqlDataSource.Create((await fixture.App.GetConnectionStringAsync("postgres", Ct))!);
        var tables = await TableCounts.ForAsync(db, Ct);
        await tables.SettleAsync(Ct);
        string[] secrets = [SignedSlackRequest.Secret, "xoxb-test-token", Centaur.Tests.Fakes.FakeCentaurApi.FakeCentaurApi.Key];
        var runner = new SweepRunner(bed.Http.BaseAddress!, tables, secrets, ProblemCode);

        var failures = await runner.RunAsync(SlackSweep.Cases(), Ct);

        TestContext.Current.TestOutputHelper?.WriteLine($"{runner.Sent} requests");
        Assert.True(failures.Count == 0, $"{failures.Count} of {runner.Sent} requests:\n{string.Join('\n', failures)}");
        Assert.Empty(bed.Api.Spawns);
        Assert.Empty(bed.Api.Messages);
    }

    [Fact]
    public async Task EveryWayIntoTheProxyRefusesBadInputWithACodeAndWritesNothing()
    {
        var credentials = await SweepCredentials.FromAsync(fixture, Ct);
        using var api = fixture.App.CreateHttpClient("api");
        api.DefaultRequestHeaders.Authorization = new("Bearer", credentials.AdminKey);
        await using var db = NpgsqlDataSource.Create((await fixture.App.GetConnectionStringAsync("postgres", Ct))!);
        var auditBefore = await MaxAuditIdAsync(db);
        await PutRouteAsync(api);
        try
        {
            var tables = await TableCounts.ForAsync(db, Ct);
            await tables.SettleAsync(Ct);
            var runner = new SweepRunner(fixture.App.GetEndpoint("ironproxy", "http"), tables, credentials.Secrets, ProxySweep.CodeOf);

            var failures = await runner.RunAsync(ProxySweep.Cases(credentials), Ct);

            TestContext.Current.TestOutputHelper?.WriteLine($"{runner.Sent} requests");
        Assert.True(failures.Count == 0, $"{failures.Count} of {runner.Sent} requests:\n{string.Join('\n', failures)}");
            var audit = await AuditSinceAsync(db, auditBefore);
            Assert.DoesNotContain(audit, row => row.Contains("\"allow\"", StringComparison.Ordinal));
            Assert.DoesNotContain(audit, row => credentials.Secrets.Any(s => row.Contains(s, StringComparison.Ordinal)));
        }
        finally
        {
            using var removed = await api.DeleteAsync($"/egress/routes/{ProxySweep.Route}", Ct);
        }
    }

    /// <summary>
    /// The sweep's own AppHost: its Slack adapter has no signing secret (the AppHost's default), so it cannot tell a
    /// real request from a forged one and answers every one 503 slack_not_configured, stores nothing and says nothing
    /// more. (The signed cases run against the same adapter with a secret, in the test above.)
    /// </summary>
    [Fact]
    public async Task TheAppHostsSlackWithoutASigningSecretRefusesEverythingAndWritesNothing()
    {
        var credentials = await SweepCredentials.FromAsync(fixture, Ct);
        Assert.SkipWhen(credentials.SlackSigningSecretIsSet, "the AppHost was given a Slack signing secret (user secrets or environment)");
        await using var db = NpgsqlDataSource.Create((await fixture.App.GetConnectionStringAsync("postgres", Ct))!);
        var tables = await TableCounts.ForAsync(db, Ct);
        await tables.SettleAsync(Ct);
        var runner = new SweepRunner(fixture.App.GetEndpoint("slack", "http"), tables, credentials.Secrets, ProblemCode);
        var unconfigured = SlackSweep.Cases().Select(c => c.Status is 404 or 405 ? c : c with { Status = 503, Code = "slack_not_configured" });

        var failures = await runner.RunAsync(unconfigured, Ct);

        TestContext.Current.TestOutputHelper?.WriteLine($"{runner.Sent} requests");
        Assert.True(failures.Count == 0, $"{failures.Count} of {runner.Sent} requests:\n{string.Join('\n', failures)}");
    }

    /// <summary>An agent key that worked until an operator revoked it.</summary>
    private async Task<string> CreateRevokedKeyAsync(SweepCredentials credentials)
    {
        using var api = fixture.App.CreateHttpClient("api");
        api.DefaultRequestHeaders.Authorization = new("Bearer", credentials.AdminKey);
        var name = $"sweep-revoked-{Guid.NewGuid():N}"[..30];
        using var created = await api.PostAsJsonAsync("/admin/keys", new { name, scopes = new[] { "agent" } }, Ct);
        var key = JsonNode.Parse(await created.Content.ReadAsStringAsync(Ct))!["key"]!.GetValue<string>();
        using var revoked = await api.DeleteAsync($"/admin/keys/{name}", Ct);
        Assert.Equal(System.Net.HttpStatusCode.NoContent, revoked.StatusCode);
        return key;
    }

    /// <summary>The <c>code</c> extension of a ProblemDetails (null for anything else).</summary>
    private static string? ProblemCode(RawHttp.Response response)
    {
        if (response.Header("Content-Type")?.StartsWith("application/problem+json", StringComparison.Ordinal) != true)
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(response.Body)?["code"]?.GetValue<string>();
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    /// <summary>A reverse route whose destination is never reached (every request to it is refused first).</summary>
    private async Task PutRouteAsync(HttpClient api)
    {
        using var response = await api.PutAsJsonAsync($"/egress/routes/{ProxySweep.Route}", new { destination = "https://sweep-destination.invalid" }, Ct);
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.IsSuccessStatusCode, body);
        var version = JsonNode.Parse(body)!["policy_version"]!.GetValue<long>();
        using var proxy = fixture.App.CreateHttpClient("ironproxy");
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!(await proxy.GetStringAsync("/health", Ct)).Contains($"policy version {version} loaded", StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, $"the proxy did not load policy version {version}");
            await Task.Delay(100, Ct);
        }
    }

    private static async Task<long> MaxAuditIdAsync(NpgsqlDataSource db)
    {
        await using var command = db.CreateCommand("SELECT coalesce(max(id), 0) FROM egress_audit");
        return (long)(await command.ExecuteScalarAsync(Ct))!;
    }

    /// <summary>The proxy's audit rows written since <paramref name="after"/>, as JSON text (written asynchronously: waits a moment).</summary>
    private static async Task<List<string>> AuditSinceAsync(NpgsqlDataSource db, long after)
    {
        await Task.Delay(1500, Ct);
        await using var command = db.CreateCommand("SELECT row_to_json(a)::text FROM egress_audit a WHERE id > @after");
        command.Parameters.AddWithValue("after", after);
        var rows = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(Ct);
        while (await reader.ReadAsync(Ct))
        {
            rows.Add(reader.GetString(0));
        }

        return rows;
    }
}
