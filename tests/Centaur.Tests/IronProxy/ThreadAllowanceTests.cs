using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Centaur.Slack.Replies;
using Centaur.Tests.Fakes.FakeSlack;
using Centaur.Tests.Infrastructure;
using Centaur.Tests.Slack;

namespace Centaur.Tests.IronProxy;

/// <summary>
/// Per-thread egress allowances through the real API and the real proxy: PUT /egress/threads/{thread_key}/hosts/{host}
/// opens one host for one thread's sandbox (stored and audited), every other thread is still refused, and a host
/// refused during a running turn becomes one egress_blocked event in that thread's stream.
/// </summary>
[Collection(IronProxyCollection.Name)]
public sealed class ThreadAllowanceTests(IronProxyFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AnAllowanceOpensTheHostForThatThreadOnlyUntilItIsRevoked()
    {
        var allowed = $"test:allow:{Guid.NewGuid():N}";
        var other = $"test:allow-other:{Guid.NewGuid():N}";
        var host = $"thread-only-{Guid.NewGuid():N}"[..24] + ".test";
        using var api = fixture.CreateApiClient();
        var before = await GetAsync(allowed, host, "before");

        var version = await IronProxyFixture.PutAsync(api, $"/egress/threads/{Uri.EscapeDataString(allowed)}/hosts/{host}", new { granted_by = "slack:UADMIN" }, Ct);
        await fixture.WaitForPolicyAsync(version, Ct);
        var opened = await GetAsync(allowed, host, "opened");
        var stillClosed = await GetAsync(other, host, "other");

        using var revoke = await api.DeleteAsync($"/egress/threads/{Uri.EscapeDataString(allowed)}/hosts/{host}", Ct);
        revoke.EnsureSuccessStatusCode();
        using (var change = JsonDocument.Parse(await revoke.Content.ReadAsStringAsync(Ct)))
        {
            await fixture.WaitForPolicyAsync(change.RootElement.GetProperty("policy_version").GetInt64(), Ct);
        }

        var revoked = await GetAsync(allowed, host, "revoked");

        Assert.Equal(("403", "host_not_allowed"), before);
        // Past the allowlist: the proxy dialled the host, which does not resolve here (.test).
        Assert.Equal(("502", "upstream_unreachable"), opened);
        Assert.Equal(("403", "host_not_allowed"), stillClosed);
        Assert.Equal(("403", "host_not_allowed"), revoked);
        await using var audit = fixture.Db.CreateCommand(
            "SELECT string_agg(action || ' ' || actor || ' ' || client, ', ' ORDER BY id) FROM egress_allowance_audit WHERE thread_key = @thread AND host = @host");
        audit.Parameters.AddWithValue("thread", allowed);
        audit.Parameters.AddWithValue("host", host);
        Assert.Equal("grant slack:UADMIN tests-ironproxy-admin, revoke tests-ironproxy-admin tests-ironproxy-admin", await audit.ExecuteScalarAsync(Ct));
    }

    [Fact]
    public async Task AnAllowanceNeverOpensPrivateAddresses()
    {
        var thread = $"test:allow-private:{Guid.NewGuid():N}";
        using var api = fixture.CreateApiClient();
        var version = await IronProxyFixture.PutAsync(api, $"/egress/threads/{Uri.EscapeDataString(thread)}/hosts/localhost", new { granted_by = "slack:UADMIN" }, Ct);
        await fixture.WaitForPolicyAsync(version, Ct);

        var result = await GetAsync(thread, "localhost", "private");

        Assert.Equal(("403", "destination_address_not_allowed"), result);
    }

    [Fact]
    public async Task AGrantIsStoredWithWhoGrantedItAndGrantingAgainChangesNothing()
    {
        var thread = $"test:allow-twice:{Guid.NewGuid():N}";
        using var api = fixture.CreateApiClient();
        var path = $"/egress/threads/{Uri.EscapeDataString(thread)}/hosts/PyPI.org";

        using var first = await api.PutAsJsonAsync(path, new { granted_by = "slack:UFIRST" }, Ct);
        using var second = await api.PutAsJsonAsync(path, new { granted_by = "slack:USECOND" }, Ct);
        var list = await api.GetFromJsonAsync<JsonElement>($"/egress/threads/{Uri.EscapeDataString(thread)}/hosts", Ct);

        first.EnsureSuccessStatusCode();
        second.EnsureSuccessStatusCode();
        using var answer = JsonDocument.Parse(await second.Content.ReadAsStringAsync(Ct));
        Assert.Equal(thread, answer.RootElement.GetProperty("thread_key").GetString());
        Assert.Equal("pypi.org", answer.RootElement.GetProperty("host").GetString());
        Assert.Equal("slack:UFIRST", answer.RootElement.GetProperty("granted_by").GetString());
        var row = Assert.Single(list.EnumerateArray());
        Assert.Equal("slack:UFIRST", row.GetProperty("granted_by").GetString());
        Assert.Equal(1L, await CountAsync("SELECT count(*) FROM egress_allowance_audit WHERE thread_key = @thread", thread));
    }

    [Fact]
    public async Task BadAllowancesAreRefusedWithACodeAndNothingIsStored()
    {
        var thread = $"test:allow-bad:{Guid.NewGuid():N}";
        var key = Uri.EscapeDataString(thread);
        using var admin = fixture.CreateApiClient();
        using var granter = await CreateClientAsync("egress_grant");
        using var agent = await CreateClientAsync("agent");
        using var anonymous = fixture.App.CreateHttpClient("api");

        var cases = new (HttpClient Client, string Path, object Body, HttpStatusCode Status, string? Code)[]
        {
            (admin, $"/egress/threads/{key}/hosts/not%20a%20host", new { granted_by = "slack:U1" }, HttpStatusCode.BadRequest, "egress_invalid_host"),
            (admin, $"/egress/threads/{key}/hosts/*.example.com", new { granted_by = "slack:U1" }, HttpStatusCode.BadRequest, "egress_invalid_host"),
            (admin, $"/egress/threads/{key}/hosts/{new string('a', 254)}", new { granted_by = "slack:U1" }, HttpStatusCode.BadRequest, "egress_invalid_host"),
            (admin, "/egress/threads/no-colon/hosts/example.com", new { granted_by = "slack:U1" }, HttpStatusCode.BadRequest, "invalid_thread_key"),
            (admin, $"/egress/threads/{key}/hosts/example.com", new { granted_by = "slack:\nU1" }, HttpStatusCode.BadRequest, "egress_invalid_granted_by"),
            (granter, $"/egress/threads/{key}/hosts/example.com", new { }, HttpStatusCode.BadRequest, "egress_granted_by_required"),
            (agent, $"/egress/threads/{key}/hosts/example.com", new { granted_by = "slack:U1" }, HttpStatusCode.Forbidden, null),
            (anonymous, $"/egress/threads/{key}/hosts/example.com", new { granted_by = "slack:U1" }, HttpStatusCode.Unauthorized, null),
        };
        foreach (var (client, path, body, status, code) in cases)
        {
            using var response = await client.PutAsJsonAsync(path, body, Ct);
            var text = await response.Content.ReadAsStringAsync(Ct);
            Assert.True(status == response.StatusCode, $"PUT {path}: {(int)response.StatusCode} {text}");
            if (code is not null)
            {
                Assert.Contains($"\"code\":\"{code}\"", text, StringComparison.Ordinal);
            }
        }

        // The narrow scope grants thread allowances and nothing else of the policy.
        using var policy = await granter.GetAsync("/egress/policy", Ct);
        Assert.Equal(HttpStatusCode.Forbidden, policy.StatusCode);
        Assert.Equal(0L, await CountAsync("SELECT count(*) FROM egress_thread_allowances WHERE thread_key = @thread", thread));
        Assert.Equal(0L, await CountAsync("SELECT count(*) FROM egress_allowance_audit WHERE thread_key = @thread", thread));

        using var granted = await granter.PutAsJsonAsync($"/egress/threads/{key}/hosts/example.com", new { granted_by = "slack:UADMIN" }, Ct);
        granted.EnsureSuccessStatusCode();
        Assert.Equal(1L, await CountAsync("SELECT count(*) FROM egress_allowance_audit WHERE thread_key = @thread AND actor = 'slack:UADMIN'", thread));
    }

    [Fact]
    public async Task AHostRefusedDuringARunningTurnIsOneEgressBlockedEventInTheThreadsStream()
    {
        var thread = $"test:blocked:{Guid.NewGuid():N}";
        var idle = $"test:blocked-idle:{Guid.NewGuid():N}";
        var executionId = await StartRunningTurnAsync(thread);
        try
        {
            var first = $"blocked-{Guid.NewGuid():N}"[..20] + ".test";
            var second = $"blocked-{Guid.NewGuid():N}"[..20] + ".test";
            Assert.Equal(("403", "host_not_allowed"), await GetAsync(thread, first, "a"));
            Assert.Equal(("403", "host_not_allowed"), await GetAsync(thread, first, "b"));
            Assert.Equal(("403", "host_not_allowed"), await GetAsync(thread, second, "c"));
            Assert.Equal(("403", "host_not_allowed"), await GetAsync(idle, first, "d"));

            using var api = fixture.CreateApiClient();
            var seen = 0;
            var events = await EventStreamReader.ReadAsync(api, thread, afterEventId: 0,
                stopWhen: e => e.Type == "egress_blocked" && ++seen == 2, timeout: TimeSpan.FromSeconds(20));

            var blocked = events.Where(e => e.Type == "egress_blocked").ToList();
            Assert.Equal([first, second], blocked.Select(e => (string?)e.Data["host"]));
            Assert.All(blocked, e => Assert.Equal(executionId, e.ExecutionId));
            Assert.All(blocked, e => Assert.Equal(443, (int?)e.Data["port"]));
            Assert.Equal(0L, await CountAsync("SELECT count(*) FROM agent_execution_events WHERE thread_key = @thread", idle));
        }
        finally
        {
            await FinishTurnAsync(thread, executionId);
        }
    }

    [Fact]
    public async Task ARefusedHostIsOfferedInSlackAndAnAdminsClickThereOpensItForThatThreadOnly()
    {
        using var adapterKey = await CreateClientAsync("agent", "egress_grant");
        await using var bed = await SlackTestBed.StartAsync(fixture, new()
        {
            ["Api:BaseUrl"] = fixture.App.GetEndpoint("api", "http").ToString(),
            ["Api:Key"] = adapterKey.DefaultRequestHeaders.Authorization!.Parameter,
        });
        bed.Slack.WorkspaceAdmins.Add("UADMIN");
        var channel = SlackPayloads.NewChannel();
        var ts = SlackPayloads.NewTs();
        var thread = $"slack:{channel}:{ts}";
        var host = $"chain-{Guid.NewGuid():N}"[..18] + ".test";
        var executionId = await StartRunningTurnAsync(thread);
        try
        {
            // The adapter renders this execution as it would one it started from a mention.
            await bed.Adapter.Service<ReplyStore>().CreateReplyAsync(executionId, thread, channel, ts, null, "UALICE", Ct);
            bed.Adapter.Service<ReplyCoordinator>().EnsureStreaming(executionId);

            Assert.Equal(("403", "host_not_allowed"), await GetAsync(thread, host, "chain-before"));
            var notice = (await bed.WaitForBotRepliesAsync(channel, ts, r => r.Any(m => m.HasButton(ThreadNotices.AllowEgressAction)), "the proxy's refusal reaches the thread"))
                .Single(m => m.HasButton(ThreadNotices.AllowEgressAction));
            using (await bed.SendAsync(SignedSlackRequest.Interactivity(SlackPayloads.ButtonClick(notice, ThreadNotices.AllowEgressAction, "UBOB"))))
            {
            }

            await FakeSlackServer.WaitUntilAsync(() => bed.Slack.CallsTo("chat.postEphemeral").Count == 1, SlackTestBed.Timeout, "the member is refused");
            Assert.Equal(0L, await CountAsync("SELECT count(*) FROM egress_thread_allowances WHERE thread_key = @thread", thread));
            using (await bed.SendAsync(SignedSlackRequest.Interactivity(SlackPayloads.ButtonClick(notice, ThreadNotices.AllowEgressAction, "UADMIN"))))
            {
            }

            await FakeSlackServer.WaitUntilAsync(() => CountAsync("SELECT count(*) FROM egress_thread_allowances WHERE thread_key = @thread AND granted_by = 'slack:UADMIN'", thread).Result == 1,
                SlackTestBed.Timeout, "the admin's allowance is stored");
            await using (var version = fixture.Db.CreateCommand("SELECT version FROM egress_settings WHERE id = 1"))
            {
                await fixture.WaitForPolicyAsync((long)(await version.ExecuteScalarAsync(Ct))!, Ct);
            }

            Assert.Equal(("502", "upstream_unreachable"), await GetAsync(thread, host, "chain-after"));
            Assert.Equal(("403", "host_not_allowed"), await GetAsync($"slack:{channel}:{SlackPayloads.NewTs()}", host, "chain-other"));
            Assert.Equal(1L, await CountAsync("SELECT count(*) FROM egress_allowance_audit WHERE thread_key = @thread AND action = 'grant' AND actor = 'slack:UADMIN' AND client LIKE 'tests-%'", thread));
            await bed.WaitForBotRepliesAsync(channel, ts, r => r.Any(m => m.Ts == notice.Ts && m.Text.Contains("<@UADMIN> allowed", StringComparison.Ordinal)), "the thread is told");
        }
        finally
        {
            await FinishTurnAsync(thread, executionId);
        }
    }

    /// <summary>GET https://host/echo/marker through the proxy as the thread's sandbox: (HTTP status, refusal code).</summary>
    private async Task<(string Status, string? Code)> GetAsync(string thread, string host, string marker)
    {
        var result = await Curl.RunAsync(Ct, "-x", fixture.ProxyArgument(fixture.Token(thread)), "--cacert", fixture.ProxyCaFile,
            $"https://{host}/echo/{marker}", "--write-out", "%{stderr}%{http_code}");
        string? code = null;
        try
        {
            using var body = JsonDocument.Parse(result.Stdout);
            code = body.RootElement.GetProperty("error").GetProperty("type").GetString();
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
        }

        return (result.Stderr.Trim(), code);
    }

    private async Task<HttpClient> CreateClientAsync(params string[] scopes)
    {
        using var admin = fixture.CreateApiClient();
        using var response = await admin.PostAsJsonAsync("/admin/keys", new { name = $"tests-{scopes[^1].Replace('_', '-')}-{Guid.NewGuid():N}"[..40], scopes }, Ct);
        response.EnsureSuccessStatusCode();
        var key = (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("key").GetString();
        var client = fixture.App.CreateHttpClient("api");
        client.DefaultRequestHeaders.Authorization = new("Bearer", key);
        return client;
    }

    /// <summary>The rows Centaur.Api's worker writes for a turn in progress (the proxy reads them, nothing else runs it).</summary>
    private async Task<long> StartRunningTurnAsync(string thread)
    {
        await using var command = fixture.Db.CreateCommand("""
            WITH assignment AS (
                INSERT INTO agent_runtime_assignments (thread_key, harness, backend) VALUES (@thread, 'fake', 'process') RETURNING thread_key),
            execution AS (
                INSERT INTO agent_execution_requests (thread_key, idempotency_key, state, turn_id, lease_owner, lease_expires_at, started_at)
                SELECT thread_key, 'test', 'running', 'turn-1', 'tests', now() + interval '10 minutes', now() FROM assignment RETURNING id, thread_key),
            session AS (
                INSERT INTO sandbox_sessions (thread_key, backend, state, harness, inflight_turn_id, inflight_execution_id, inflight_started_at)
                SELECT thread_key, 'process', 'ready', 'fake', 'turn-1', id, now() FROM execution)
            SELECT id FROM execution
            """);
        command.Parameters.AddWithValue("thread", thread);
        return (long)(await command.ExecuteScalarAsync(Ct))!;
    }

    private async Task FinishTurnAsync(string thread, long executionId)
    {
        await using var command = fixture.Db.CreateCommand("""
            UPDATE sandbox_sessions SET inflight_turn_id = NULL, inflight_execution_id = NULL WHERE thread_key = @thread;
            UPDATE agent_execution_requests SET state = 'cancelled', lease_owner = NULL, lease_expires_at = NULL, finished_at = now() WHERE id = @id;
            """);
        command.Parameters.AddWithValue("thread", thread);
        command.Parameters.AddWithValue("id", executionId);
        await command.ExecuteNonQueryAsync(Ct);
    }

    private async Task<long> CountAsync(string sql, string thread)
    {
        await using var command = fixture.Db.CreateCommand(sql);
        command.Parameters.AddWithValue("thread", thread);
        return (long)(await command.ExecuteScalarAsync(Ct))!;
    }
}
