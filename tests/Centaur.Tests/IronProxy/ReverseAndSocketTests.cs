using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Centaur.Tests.IronProxy;

/// <summary>Reverse routes for base-URL clients, and the Unix socket local sandboxes reach the proxy through.</summary>
[Collection(IronProxyCollection.Name)]
public sealed class ReverseAndSocketTests(IronProxyFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AReverseRouteInjectsTheKeyForATokenInAHeaderOrInThePath()
    {
        var token = fixture.Token("test:reverse:1");
        var marker = Guid.NewGuid().ToString("N");
        var viaHeader = await Curl.RunAsync(Ct, $"{fixture.ProxyUrl}fake-anthropic/echo/v1/messages/{marker}",
            "-H", $"X-Centaur-Sandbox-Token: {token}", "-H", "x-api-key: centaur-placeholder:anthropic", "-H", "X-Forwarded-For: 6.6.6.6");
        var viaPath = await Curl.RunAsync(Ct, $"{fixture.ProxyUrl}_t/{token}/fake-anthropic/echo/v1/messages/{marker}",
            "-H", "Authorization: Bearer centaur-placeholder:anthropic");

        foreach (var result in new[] { viaHeader, viaPath })
        {
            Assert.True(result.ExitCode == 0, result.Stderr);
            using var echo = JsonDocument.Parse(result.Stdout);
            Assert.Equal($"/echo/v1/messages/{marker}", echo.RootElement.GetProperty("path").GetString());
            Assert.Equal("api.anthropic.test", echo.RootElement.GetProperty("host").GetString());
            var headers = echo.RootElement.GetProperty("headers");
            Assert.False(headers.TryGetProperty("x-forwarded-for", out _));
            Assert.False(headers.TryGetProperty("x-centaur-sandbox-token", out _));
            Assert.Contains(IronProxyFixture.AnthropicKey, headers.GetRawText(), StringComparison.Ordinal);
        }

        var rows = await fixture.WaitForAuditAsync(marker, 2, Ct);
        Assert.All(rows, row => Assert.Equal($"/fake-anthropic/echo/v1/messages/{marker}", row["path"]));
        Assert.All(rows, row => Assert.Equal("reverse", row["mode"]));
    }

    [Fact]
    public async Task ATokenThatWorkedIsRefusedOnceItExpires()
    {
        // The proxy remembers tokens it verified (reverse mode checks one per request): never past their expiry.
        var token = fixture.Token("test:reverse:expiry", lifetime: TimeSpan.FromSeconds(3));
        var url = $"{fixture.ProxyUrl}fake-anthropic/echo/expiry";
        string[] headers = ["-H", $"X-Centaur-Sandbox-Token: {token}", "-H", "x-api-key: centaur-placeholder:anthropic", "--write-out", "%{stderr}%{http_code}"];

        var fresh = await Curl.RunAsync(Ct, [url, .. headers]);
        var again = await Curl.RunAsync(Ct, [url, .. headers]);
        await Task.Delay(TimeSpan.FromSeconds(4), Ct);
        var expired = await Curl.RunAsync(Ct, [url, .. headers]);

        Assert.Equal("200", fresh.Stderr);
        Assert.Equal("200", again.Stderr);
        Assert.Equal("407", expired.Stderr);
    }

    [Fact]
    public async Task AReverseRouteWithoutATokenGets407AndAnUnknownRouteGets404()
    {
        var anonymous = await Curl.RunAsync(Ct, $"{fixture.ProxyUrl}fake-anthropic/echo/x", "--write-out", "%{stderr}%{http_code}");
        var unknown = await Curl.RunAsync(Ct, $"{fixture.ProxyUrl}nowhere/x", "--write-out", "%{stderr}%{http_code}");

        Assert.Equal("407", anonymous.Stderr);
        Assert.Equal("404", unknown.Stderr);
        Assert.Contains("no_route", unknown.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheUnixSocketServesTunnelsLikeTheTcpPort()
    {
        var handler = new SocketsHttpHandler
        {
            Proxy = new WebProxy("http://ironproxy.sock") { Credentials = new NetworkCredential("sandbox", fixture.Token("test:socket:1")) },
            UseProxy = true,
            // Whatever the proxy's name, the bytes go to the socket bind-mounted into the sandbox.
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(fixture.SocketPath), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        handler.SslOptions.RemoteCertificateValidationCallback = fixture.TrustProxyCa;
        using var client = new HttpClient(handler);
        using var request = new HttpRequestMessage(HttpMethod.Get, "https://api.anthropic.test/echo/over-the-socket");
        request.Headers.TryAddWithoutValidation("x-api-key", "centaur-placeholder:anthropic");

        using var response = await client.SendAsync(request, Ct);

        response.EnsureSuccessStatusCode();
        using var echo = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        Assert.Equal(IronProxyFixture.AnthropicKey, echo.RootElement.GetProperty("headers").GetProperty("x-api-key").GetString());
    }
}
