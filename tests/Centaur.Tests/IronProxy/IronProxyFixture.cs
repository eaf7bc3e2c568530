using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Centaur.Api.Auth;
using Centaur.Tests.Fakes.FakeUpstream;
using Centaur.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Centaur.Tests.IronProxy;

/// <summary>
/// The AppHost with a known Anthropic key (and an empty OpenAI key), a Unix socket for the proxy, and a fake
/// upstream the policy points at: api.anthropic.test, other.test, git.test and passthrough.test all dial it.
/// </summary>
public sealed partial class IronProxyFixture : CentaurAppFixture, IAsyncLifetime
{
    /// <summary>The "real" secret: it must reach the fake upstream and never appear anywhere else.</summary>
    public const string AnthropicKey = "sk-ant-api03-REALtestKEY-9f8e7d6c5b4a";

    public const string TokenKey = "ironproxy-tests-sandbox-token-key-0123456789";

    /// <summary>An operator's key (admin scope) for the egress policy endpoints, seeded into api_clients.</summary>
    public const string AdminKey = "ck_ironproxy_tests_admin_0123456789abcdef";

    private readonly ConcurrentQueue<string> _proxyLogs = new();
    private readonly CancellationTokenSource _stop = new();
    private int[] _orchestrator = [];

    public string SocketPath { get; } = Path.Combine(Path.GetTempPath(), $"centaur-proxy-{Guid.NewGuid():N}"[..30] + ".sock");

    public FakeUpstreamServer Upstream { get; private set; } = null!;

    public Uri ProxyUrl { get; private set; } = null!;

    public string ProxyCaFile { get; } = Path.Combine(Path.GetTempPath(), $"centaur-proxy-ca-{Guid.NewGuid():N}.pem");

    public X509Certificate2 ProxyCa { get; private set; } = null!;

    public NpgsqlDataSource Db { get; private set; } = null!;

    public IEnumerable<string> ProxyLogs => _proxyLogs;

    protected override IEnumerable<string> AppHostArguments =>
    [
        $"Parameters:anthropic-api-key={AnthropicKey}",
        "Parameters:openai-api-key=",
        $"Parameters:sandbox-token-key={TokenKey}",
        $"IronProxy:UnixSocketPath={SocketPath}",
    ];

    async ValueTask IAsyncLifetime.InitializeAsync()
    {
        using var cts = new CancellationTokenSource(StartTimeout);
        Upstream = await FakeUpstreamServer.StartAsync(cts.Token);
        Upstream.GitToken = AnthropicKey;
        var before = OrchestratorProcesses();
        await InitializeAsync();
        _orchestrator = [.. OrchestratorProcesses().Except(before)];
        Db = await CreateDataSourceAsync();
        await SeedAdminKeyAsync(cts.Token);
        Upstream.LedgerCheck = LedgerHasRowAsync;
        ProxyUrl = App.GetEndpoint("ironproxy", "http");
        _ = CollectProxyLogsAsync(_stop.Token);

        using var api = CreateApiClient();
        foreach (var host in new[] { "api.anthropic.test", "other.test", "git.test", "passthrough.test" })
        {
            await PutAsync(api, $"/egress/hosts/{host}", new { connect_to = Upstream.ConnectTo, allow_private = true, trusted_ca_pem = Upstream.CaPem }, cts.Token);
        }

        await PutAsync(api, "/egress/hosts/plain.test", new { connect_to = $"127.0.0.1:{Upstream.PlainPort}", allow_private = true }, cts.Token);
        await PutAsync(api, "/egress/bindings/anthropic", new { host = "api.anthropic.test", headers = new[] { "x-api-key", "authorization" }, format = "bearer", secret = "anthropic-api-key" }, cts.Token);
        await PutAsync(api, "/egress/bindings/git", new { host = "git.test", headers = new[] { "authorization" }, format = "basic", secret = "anthropic-api-key" }, cts.Token);
        await PutAsync(api, "/egress/bindings/passthru", new { host = "passthrough.test", headers = new[] { "x-api-key" }, format = "raw", secret = "anthropic-api-key", allow_passthrough = true }, cts.Token);
        var version = await PutAsync(api, "/egress/routes/fake-anthropic", new { destination = "https://api.anthropic.test" }, cts.Token);
        await WaitForPolicyAsync(version, cts.Token);

        using var proxy = new HttpClient { BaseAddress = ProxyUrl };
        var pem = await proxy.GetStringAsync("/ca.pem", cts.Token);
        await File.WriteAllTextAsync(ProxyCaFile, pem, cts.Token);
        ProxyCa = X509Certificate2.CreateFromPem(pem);
    }

    /// <summary>A sandbox token as the API issues it; with <paramref name="address"/>, bound to it as a Kubernetes pod's is.</summary>
    public string Token(string threadKey, string sandboxId = "sbx-test", TimeSpan? lifetime = null, string? address = null) =>
        new SandboxToken(threadKey, sandboxId, DateTimeOffset.UtcNow + (lifetime ?? TimeSpan.FromHours(1)), address).Sign(Encoding.UTF8.GetBytes(TokenKey));

    /// <summary>-x URL with the token as userinfo, as a sandbox's HTTPS_PROXY carries it.</summary>
    public string ProxyArgument(string token) => ProxyArgument(ProxyUrl, token);

    /// <summary>-x URL for the proxy at <paramref name="proxy"/> with the token as userinfo.</summary>
    public static string ProxyArgument(Uri proxy, string token) => $"http://sandbox:{token}@{proxy.Host}:{proxy.Port}";

    /// <summary>PUT to the API's egress endpoints; returns the policy version the change produced.</summary>
    public static async Task<long> PutAsync(HttpClient api, string path, object body, CancellationToken cancellationToken)
    {
        using var response = await api.PutAsJsonAsync(path, body, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        Assert.True(response.IsSuccessStatusCode, $"PUT {path}: {(int)response.StatusCode} {text}");
        using var json = JsonDocument.Parse(text);
        return json.RootElement.GetProperty("policy_version").GetInt64();
    }

    /// <summary>The AppHost's API, as an operator.</summary>
    public HttpClient CreateApiClient()
    {
        var api = App.CreateHttpClient("api");
        api.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", AdminKey);
        return api;
    }

    public async Task<long> ChangePolicyAsync(string path, object body, CancellationToken cancellationToken)
    {
        using var api = CreateApiClient();
        var version = await PutAsync(api, path, body, cancellationToken);
        await WaitForPolicyAsync(version, cancellationToken);
        return version;
    }

    /// <summary>The proxy's /health names the policy version it has loaded.</summary>
    public async Task WaitForPolicyAsync(long version, CancellationToken cancellationToken)
    {
        using var proxy = new HttpClient { BaseAddress = ProxyUrl };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        while (true)
        {
            try
            {
                var health = await proxy.GetStringAsync("/health", timeout.Token);
                if (PolicyVersion().Match(health) is { Success: true } match && long.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) >= version)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // restarting
            }

            await Task.Delay(100, timeout.Token);
        }
    }

    public HttpClient CreateProxiedClient(string? token, bool trustProxyCa = true, Version? version = null)
    {
        var handler = new SocketsHttpHandler
        {
            Proxy = new WebProxy(ProxyUrl) { Credentials = token is null ? null : new NetworkCredential("sandbox", token) },
            UseProxy = true,
            SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = trustProxyCa ? TrustProxyCa : null },
        };
        return new HttpClient(handler)
        {
            DefaultRequestVersion = version ?? HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = TimeSpan.FromSeconds(60),
        };
    }

    public bool TrustProxyCa(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors) =>
        TrustsOnly(ProxyCa, certificate, errors);

    /// <summary>What a sandbox does: the host name must match and the chain must end at <paramref name="ca"/>, the proxy's CA.</summary>
    public static bool TrustsOnly(X509Certificate2 ca, X509Certificate? certificate, SslPolicyErrors errors)
    {
        if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
        {
            return false;
        }

        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.Add(ca);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return custom.Build(X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
    }

    /// <summary>Audit rows whose path contains <paramref name="marker"/>, once at least <paramref name="count"/> are written.</summary>
    public async Task<List<Dictionary<string, object?>>> WaitForAuditAsync(string marker, int count, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        while (true)
        {
            await using var command = Db.CreateCommand("SELECT * FROM egress_audit WHERE path LIKE '%' || @marker || '%' ORDER BY id");
            command.Parameters.AddWithValue("marker", marker);
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

    /// <summary>The proxy's process, found by the Unix socket path only this fixture's proxy was given.</summary>
    public int FindProxyProcessId()
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }

            try
            {
                var environ = File.ReadAllText(Path.Combine(dir, "environ"));
                var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline"));
                if (environ.Contains($"IronProxy__UnixSocketPath={SocketPath}", StringComparison.Ordinal)
                    && cmdline.Contains("Centaur.IronProxy", StringComparison.Ordinal) && !cmdline.Contains("dotnet\0run", StringComparison.Ordinal))
                {
                    return pid;
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // a process that ended or is not ours
            }
        }

        throw new InvalidOperationException("the proxy's process was not found");
    }

    /// <summary>DCP processes watching this test process (one set per started AppHost).</summary>
    private static int[] OrchestratorProcesses()
    {
        var self = $"--monitor {Environment.ProcessId}";
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), out var pid))
            {
                try
                {
                    var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                    if (cmdline.Contains("/dcp", StringComparison.Ordinal) && cmdline.Contains(self, StringComparison.Ordinal))
                    {
                        found.Add(pid);
                    }
                }
                catch (IOException)
                {
                    // ended meanwhile
                }
            }
        }

        return [.. found];
    }

    private async Task SeedAdminKeyAsync(CancellationToken cancellationToken)
    {
        await using var command = Db.CreateCommand("""
            INSERT INTO api_clients (name, key_prefix, key_hash, scopes) VALUES ('tests-ironproxy-admin', 'ck_iron', @hash, '{admin,agent}')
            ON CONFLICT (name) DO UPDATE SET key_hash = excluded.key_hash, scopes = excluded.scopes
            """);
        command.Parameters.AddWithValue("hash", System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(AdminKey)));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task<bool> LedgerHasRowAsync(string marker)
    {
        await using var command = Db.CreateCommand("SELECT count(*) FROM side_effects WHERE source = 'egress' AND target LIKE '%' || @marker");
        command.Parameters.AddWithValue("marker", marker);
        return (long)(await command.ExecuteScalarAsync())! > 0;
    }

    private async Task CollectProxyLogsAsync(CancellationToken cancellationToken)
    {
        var logs = App.Services.GetRequiredService<ResourceLoggerService>();
        var proxy = App.Services.GetRequiredService<DistributedApplicationModel>().Resources.Single(r => r.Name == "ironproxy");
        try
        {
            await foreach (var batch in logs.WatchAsync(proxy).WithCancellation(cancellationToken))
            {
                foreach (var line in batch)
                {
                    _proxyLogs.Enqueue(line.Content);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // fixture disposed
        }
    }

    async ValueTask IAsyncDisposable.DisposeAsync()
    {
        await _stop.CancelAsync();
        await DisposeAsync();
        // DCP tears the app down after DisposeAsync returns; the next collection (and its "no process left behind"
        // checks) should start on a machine this fixture has left.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (_orchestrator.Any(pid => Directory.Exists($"/proc/{pid}")) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(250);
        }

        if (Db is not null)
        {
            await Db.DisposeAsync();
        }

        if (Upstream is not null)
        {
            await Upstream.DisposeAsync();
        }

        File.Delete(ProxyCaFile);
        _stop.Dispose();
    }

    [GeneratedRegex(@"policy version (\d+) loaded")]
    private static partial Regex PolicyVersion();
}

[CollectionDefinition(Name)]
public sealed class IronProxyCollection : ICollectionFixture<IronProxyFixture>
{
    public const string Name = "ironproxy";
}
