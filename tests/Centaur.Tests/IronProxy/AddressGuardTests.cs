namespace Centaur.Tests.IronProxy;

/// <summary>After DNS, loopback, private, link-local and metadata addresses are refused unless a host's entry allows them.</summary>
[Collection(IronProxyCollection.Name)]
public sealed class AddressGuardTests(IronProxyFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task LoopbackIsRefusedEvenWhenItsHostIsOnTheAllowlist()
    {
        var port = fixture.Upstream.PlainPort;
        await fixture.ChangePolicyAsync("/egress/hosts/127.0.0.1", new { ports = new[] { port } }, Ct);

        var result = await Curl.RunAsync(Ct, "-x", fixture.ProxyArgument(fixture.Token("test:guard:loopback")),
            $"http://127.0.0.1:{port}/echo/x", "--write-out", "%{stderr}%{http_code}");

        Assert.Equal("403", result.Stderr);
        Assert.Contains("destination_address_not_allowed", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ANameThatResolvesToLoopbackIsRefusedInsideTheTunnel()
    {
        await fixture.ChangePolicyAsync("/egress/hosts/localhost", new { ports = new[] { fixture.Upstream.Port } }, Ct);

        var result = await Curl.RunAsync(Ct, "-x", fixture.ProxyArgument(fixture.Token("test:guard:dns")), "--cacert", fixture.ProxyCaFile,
            $"https://localhost:{fixture.Upstream.Port}/echo/x", "--write-out", "%{stderr}%{http_code}");

        Assert.Equal("403", result.Stderr);
        Assert.Contains("resolves to 127.0.0.1", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheCloudMetadataAddressIsRefusedWithoutBeingDialled()
    {
        await fixture.ChangePolicyAsync("/egress/hosts/169.254.169.254", new { ports = new[] { 80, 443 } }, Ct);
        await fixture.ChangePolicyAsync("/egress/hosts/metadata.test", new { connect_to = "169.254.169.254:80" }, Ct);

        var literal = await Curl.RunAsync(Ct, "-x", fixture.ProxyArgument(fixture.Token("test:guard:metadata")),
            "http://169.254.169.254/latest/meta-data/iam/security-credentials/", "--write-out", "%{stderr}%{http_code}");
        var named = await Curl.RunAsync(Ct, "-x", fixture.ProxyArgument(fixture.Token("test:guard:metadata")),
            "http://metadata.test/latest/meta-data/", "--write-out", "%{stderr}%{http_code}");

        Assert.Equal("403", literal.Stderr);
        Assert.Contains("destination_address_not_allowed", literal.Stdout, StringComparison.Ordinal);
        Assert.Equal("403", named.Stderr);
        Assert.Contains("169.254.169.254", named.Stdout, StringComparison.Ordinal);
    }
}
