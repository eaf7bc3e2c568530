using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;

namespace Centaur.Tests.IronProxy;

/// <summary>Policy comes from Postgres through the API, survives proxy restarts, and has a report mode.</summary>
[Collection(IronProxyCollection.Name)]
public sealed class PolicyTests(IronProxyFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ReportModeLetsWouldBeDenialsThroughAndAuditsThem()
    {
        var marker = Guid.NewGuid().ToString("N");
        await fixture.ChangePolicyAsync("/egress/settings", new { mode = "report" }, Ct);
        Curl.Result result;
        try
        {
            result = await Curl.RunAsync(Ct, "-x", fixture.ProxyArgument(fixture.Token("test:policy:report")), "--cacert", fixture.ProxyCaFile,
                $"https://other.test/echo/{marker}", "-H", "x-api-key: centaur-placeholder:anthropic");
        }
        finally
        {
            await fixture.ChangePolicyAsync("/egress/settings", new { mode = "enforce" }, Ct);
        }

        Assert.True(result.ExitCode == 0, result.Stderr);
        using var echo = JsonDocument.Parse(result.Stdout);
        Assert.Equal("centaur-placeholder:anthropic", echo.RootElement.GetProperty("headers").GetProperty("x-api-key").GetString()); // never swapped
        var row = Assert.Single(await fixture.WaitForAuditAsync(marker, 1, Ct));
        Assert.Equal("report", row["decision"]);
        Assert.Equal("placeholder_wrong_host", row["reason"]);
    }

    [Fact]
    public async Task AProxyRestartKeepsTheCaAndReloadsBindingsChangedWhileItWasDown()
    {
        var caDirectory = Path.Combine(Path.GetTempPath(), $"centaur-proxy-ca-{Guid.NewGuid():N}");
        try
        {
            string caBefore;
            await using (var first = await StandaloneProxy.StartAsync(fixture, caDirectory, Ct))
            {
                using var http = new HttpClient { BaseAddress = first.Url };
                caBefore = await http.GetStringAsync("/ca.pem", Ct);
            }

            using var api = fixture.CreateApiClient();
            await IronProxyFixture.PutAsync(api, "/egress/hosts/restart.test", new { connect_to = fixture.Upstream.ConnectTo, allow_private = true, trusted_ca_pem = fixture.Upstream.CaPem }, Ct);
            await IronProxyFixture.PutAsync(api, "/egress/bindings/restart", new { host = "restart.test", headers = new[] { "x-api-key" }, format = "raw", secret = "anthropic-api-key" }, Ct);

            await using var second = await StandaloneProxy.StartAsync(fixture, caDirectory, Ct);
            using var secondHttp = new HttpClient { BaseAddress = second.Url };
            var caAfter = await secondHttp.GetStringAsync("/ca.pem", Ct);
            var caFile = Path.Combine(caDirectory, "client-copy.pem");
            await File.WriteAllTextAsync(caFile, caBefore, Ct);
            var result = await Curl.RunAsync(Ct, "-x", $"http://sandbox:{fixture.Token("test:policy:restart")}@127.0.0.1:{second.Url.Port}", "--cacert", caFile,
                "https://restart.test/echo/after-restart", "-H", "x-api-key: centaur-placeholder:restart");

            Assert.Equal(caBefore, caAfter);
            Assert.True(result.ExitCode == 0, result.Stderr);
            Assert.Contains(IronProxyFixture.AnthropicKey, result.Stdout, StringComparison.Ordinal);
            using var echo = JsonDocument.Parse(result.Stdout);
            Assert.Equal(IronProxyFixture.AnthropicKey, echo.RootElement.GetProperty("headers").GetProperty("x-api-key").GetString());
        }
        finally
        {
            Directory.Delete(caDirectory, recursive: true);
        }
    }

    [Fact]
    public async Task ABindingWhoseSecretHasNoValueFailsClosed()
    {
        await fixture.ChangePolicyAsync("/egress/hosts/openai.test", new { connect_to = fixture.Upstream.ConnectTo, allow_private = true, trusted_ca_pem = fixture.Upstream.CaPem }, Ct);
        await fixture.ChangePolicyAsync("/egress/bindings/openai", new { host = "openai.test", headers = new[] { "authorization" }, format = "bearer", secret = "openai-api-key" }, Ct);

        var result = await Curl.RunAsync(Ct, "-x", fixture.ProxyArgument(fixture.Token("test:policy:empty-secret")), "--cacert", fixture.ProxyCaFile,
            "https://openai.test/echo/v1/responses", "-H", "Authorization: Bearer centaur-placeholder:openai", "--write-out", "%{stderr}%{http_code}");

        Assert.Equal("503", result.Stderr);
        Assert.Contains("secret_unavailable", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HealthIsDegradedAndNamesTheSecretThatIsEmpty()
    {
        using var proxy = new HttpClient { BaseAddress = fixture.ProxyUrl };

        using var health = JsonDocument.Parse(await proxy.GetStringAsync("/health", Ct));

        Assert.Equal("Degraded", health.RootElement.GetProperty("status").GetString());
        var checks = health.RootElement.GetProperty("checks");
        Assert.Equal("Degraded", checks.GetProperty("secret:openai-api-key").GetProperty("status").GetString());
        Assert.Equal("Healthy", checks.GetProperty("secret:anthropic-api-key").GetProperty("status").GetString());
        Assert.Equal("Healthy", checks.GetProperty("policy").GetProperty("status").GetString());
        Assert.DoesNotContain(IronProxyFixture.AnthropicKey, health.RootElement.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheCaCertificateIsServedButNeverItsKey()
    {
        using var proxy = new HttpClient { BaseAddress = fixture.ProxyUrl };

        var pem = await proxy.GetStringAsync("/ca.pem", Ct);

        Assert.DoesNotContain("PRIVATE KEY", pem, StringComparison.Ordinal);
        using var ca = X509Certificate2.CreateFromPem(pem);
        Assert.False(ca.HasPrivateKey);
        Assert.True(ca.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
    }

    [Fact]
    public async Task InvalidPolicyIsRefusedWithACodeAndNothingIsStored()
    {
        using var api = fixture.CreateApiClient();

        using var badHost = await api.PutAsJsonAsync("/egress/hosts/Not%20A%20Host", new { }, Ct);
        using var badFormat = await api.PutAsJsonAsync("/egress/bindings/weird", new { host = "other.test", headers = new[] { "x-api-key" }, format = "xml", secret = "s" }, Ct);
        using var badConnect = await api.PutAsJsonAsync("/egress/hosts/ok.test", new { connect_to = "not-an-address" }, Ct);
        var policy = await api.GetStringAsync("/egress/policy", Ct);

        Assert.Equal(HttpStatusCode.BadRequest, badHost.StatusCode);
        Assert.Contains("\"code\":\"egress_invalid_host\"", await badHost.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, badFormat.StatusCode);
        Assert.Contains("\"code\":\"egress_invalid_format\"", await badFormat.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, badConnect.StatusCode);
        Assert.DoesNotContain("weird", policy, StringComparison.Ordinal);
        Assert.DoesNotContain("ok.test", policy, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ThePolicyAndAuditEndpointsNeedAnOperatorKey()
    {
        using var anonymous = fixture.App.CreateHttpClient("api");

        using var policy = await anonymous.GetAsync("/egress/policy", Ct);
        using var audit = await anonymous.GetAsync("/audit/egress", Ct);
        using var change = await anonymous.PutAsJsonAsync("/egress/hosts/sneaky.test", new { }, Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, policy.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, audit.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, change.StatusCode);
    }
}
