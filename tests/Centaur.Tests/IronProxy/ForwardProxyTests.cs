using System.Text.Json;

namespace Centaur.Tests.IronProxy;

/// <summary>HTTPS_PROXY clients (curl here) through CONNECT with TLS interception: the secret reaches only its host.</summary>
[Collection(IronProxyCollection.Name)]
public sealed class ForwardProxyTests(IronProxyFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("--http1.1", "1.1")]
    [InlineData("--http2", "2")]
    public async Task CurlReachesTheBoundHostWithTheRealKeyAndGetsTheResponseIntact(string httpVersion, string tunnelProtocol)
    {
        var body = "{\"model\":\"claude\",\"messages\":[" + new string('x', 5000) + "]}";

        var result = await Curl.RunAsync(Ct, httpVersion, "-x", fixture.ProxyArgument(fixture.Token("test:forward:1")), "--cacert", fixture.ProxyCaFile,
            "https://api.anthropic.test/echo/v1/messages?beta=true", "-H", "x-api-key: centaur-placeholder:anthropic",
            "-H", "Cookie: session=1", "-H", "X-Forwarded-For: 6.6.6.6", "-H", "content-type: application/json", "--data-binary", body, "--write-out", "%{stderr}%{http_version}");

        Assert.True(result.ExitCode == 0, result.Stderr);
        using var echo = JsonDocument.Parse(result.Stdout);
        var headers = echo.RootElement.GetProperty("headers");
        Assert.Equal(IronProxyFixture.AnthropicKey, headers.GetProperty("x-api-key").GetString());
        Assert.Equal("api.anthropic.test", echo.RootElement.GetProperty("host").GetString());
        Assert.Equal("/echo/v1/messages", echo.RootElement.GetProperty("path").GetString());
        Assert.Equal("?beta=true", echo.RootElement.GetProperty("query").GetString());
        Assert.Equal(body.Length, echo.RootElement.GetProperty("body_length").GetInt64());
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(body))),
            echo.RootElement.GetProperty("body_sha256").GetString());
        Assert.False(headers.TryGetProperty("x-forwarded-for", out _));
        Assert.False(headers.TryGetProperty("traceparent", out _));
        Assert.False(headers.TryGetProperty("proxy-authorization", out _));
        Assert.Equal(tunnelProtocol, result.Stderr);
        Assert.Equal("HTTP/2", echo.RootElement.GetProperty("protocol").GetString()); // the proxy speaks h2 upstream
    }
}
