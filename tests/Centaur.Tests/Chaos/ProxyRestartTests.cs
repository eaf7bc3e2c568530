using System.Net;
using System.Net.Http.Json;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Centaur.Api.Auth;
using Centaur.Tests.Fakes.FakeUpstream;
using Centaur.Tests.Infrastructure;

namespace Centaur.Tests.Chaos;

/// <summary>
/// Centaur.IronProxy SIGKILLed while a sandbox's client streams an LLM response through it (MITM, credential
/// swapped in), and started again on the same address: the client's retry completes against the restarted proxy.
/// </summary>
[Collection(ChaosCollection.Name)]
public sealed class ProxyRestartTests(ChaosFixture fixture) : IAsyncLifetime
{
    private const string AnthropicKey = "sk-ant-api03-CHAOStestKEY-0a1b2c3d4e5f";
    private const string Stream = "https://api.anthropic.test/sse?n=30&intervalMs=100&echo=x-api-key";
    private readonly string _caDirectory = Path.Combine(Path.GetTempPath(), $"centaur-chaos-ca-{Guid.NewGuid():N}");
    private FakeUpstreamServer _upstream = null!;

    public async ValueTask InitializeAsync() => _upstream = await FakeUpstreamServer.StartAsync(TestContext.Current.CancellationToken);

    [Fact]
    public async Task AProxyRestartedMidStreamKeepsItsCaAndTheRetriedRequestGetsTheSameStream()
    {
        await using var api = await fixture.StartApiAsync();
        await ConfigurePolicyAsync(api);
        await using var proxy = await fixture.StartProxyAsync(api, _caDirectory, AnthropicKey);
        using var caClient = proxy.CreateClient();
        var caBefore = await caClient.GetStringAsync("/ca.pem", TestContext.Current.CancellationToken);
        using var pinned = X509Certificate2.CreateFromPem(caBefore);
        using var client = SandboxClient(proxy.BaseAddress, pinned);
        var undisturbed = await ReadStreamAsync(client, onEvent: null);

        var cut = new List<string>();
        Task? restart = null;
        try
        {
            await ReadStreamAsync(client, onEvent: data =>
            {
                cut.Add(data);
                if (cut.Count == 5)
                {
                    proxy.Kill();
                    restart = Task.Run(async () =>
                    {
                        await Task.Delay(TimeSpan.FromSeconds(1));
                        await proxy.StartAsync(TestContext.Current.CancellationToken);
                    });
                }
            });
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            // the proxy died under the stream
        }

        var retried = await RetryAsync(() => ReadStreamAsync(client, onEvent: null), TimeSpan.FromSeconds(40));
        await restart!;
        var caAfter = await caClient.GetStringAsync("/ca.pem", TestContext.Current.CancellationToken);

        Assert.InRange(cut.Count, 5, 29);
        Assert.Equal(30, undisturbed.Count);
        Assert.Equal(undisturbed, retried);
        Assert.All(retried, data => Assert.Contains($"\"echo\":\"{AnthropicKey}\"", data, StringComparison.Ordinal));
        Assert.Equal(caBefore, caAfter);
    }

    /// <summary>
    /// What a harness's SDK does (Anthropic's retries connection errors, 429 and 5xx): try the request again after
    /// a short pause until the budget is spent. A 403 is final.
    /// </summary>
    private static async Task<T> RetryAsync<T>(Func<Task<T>> request, TimeSpan budget)
    {
        using var deadline = new CancellationTokenSource(budget);
        while (true)
        {
            try
            {
                return await request();
            }
            catch (Exception ex) when (Retryable(ex) && !deadline.IsCancellationRequested)
            {
                await Task.Delay(500, CancellationToken.None);
            }
        }
    }

    private static bool Retryable(Exception ex) => ex switch
    {
        HttpRequestException { StatusCode: null } => true,
        HttpRequestException { StatusCode: { } status } => status == HttpStatusCode.TooManyRequests || (int)status >= 500,
        _ => ex is IOException,
    };

    /// <summary>Streams the SSE response; returns each event's data line.</summary>
    private static async Task<List<string>> ReadStreamAsync(HttpClient client, Action<string>? onEvent)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, Stream);
        request.Headers.Add("x-api-key", "centaur-placeholder:anthropic");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        response.EnsureSuccessStatusCode();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(timeout.Token));
        var events = new List<string>();
        while (await reader.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                events.Add(line[6..]);
                onEvent?.Invoke(line[6..]);
            }
        }

        return events;
    }

    /// <summary>A sandbox's HTTP client: HTTPS_PROXY with its token, trusting only the proxy's CA as first seen.</summary>
    private static HttpClient SandboxClient(Uri proxy, X509Certificate2 ca)
    {
        var token = new SandboxToken("chaos:proxy", "sbx-chaos", DateTimeOffset.UtcNow.AddHours(1)).Sign(Encoding.UTF8.GetBytes(ChaosFixture.SandboxTokenKey));
        var handler = new SocketsHttpHandler
        {
            Proxy = new WebProxy(proxy) { Credentials = new NetworkCredential("sandbox", token) },
            UseProxy = true,
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, errors) => IronProxy.IronProxyFixture.TrustsOnly(ca, certificate, errors),
            },
        };
        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>The policy an operator sets through the API: the fake upstream stands in for api.anthropic.test.</summary>
    private async Task ConfigurePolicyAsync(ApiProcess api)
    {
        using var admin = api.CreateClient(ApiProcess.AdminKey);
        foreach (var (path, body) in new (string, object)[]
        {
            ("/egress/hosts/api.anthropic.test", new { connect_to = _upstream.ConnectTo, allow_private = true, trusted_ca_pem = _upstream.CaPem }),
            ("/egress/bindings/anthropic", new { host = "api.anthropic.test", headers = new[] { "x-api-key" }, format = "raw", secret = "anthropic-api-key" }),
        })
        {
            using var response = await admin.PutAsJsonAsync(path, body, TestContext.Current.CancellationToken);
            Assert.True(response.IsSuccessStatusCode, $"PUT {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _upstream.DisposeAsync();
        if (Directory.Exists(_caDirectory))
        {
            Directory.Delete(_caDirectory, recursive: true);
        }
    }
}
