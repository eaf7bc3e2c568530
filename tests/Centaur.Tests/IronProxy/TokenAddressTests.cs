namespace Centaur.Tests.IronProxy;

/// <summary>
/// A Kubernetes pod's sandbox token names the pod's IP: the proxy takes it from that address only, so a token that
/// leaks out of its pod (a log, a prompt injection) opens nothing from anywhere else. Loopback stands in for the pod
/// network: curl --interface 127.0.0.2 is "the pod", the default 127.0.0.1 is "somewhere else". A standalone proxy,
/// because the AppHost's endpoint proxy would hide the client's address.
/// </summary>
[Collection(IronProxyCollection.Name)]
public sealed class TokenAddressTests(IronProxyFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task APodsTokenIsAcceptedFromThePodsAddressAndRefusedFromAnyOther()
    {
        await using var proxy = await StandaloneProxy.StartWithOwnCaAsync(fixture, Ct);
        var token = fixture.Token("test:address:pod", "sbx-pod", address: "127.0.0.2");
        string[] tunnel = ["-x", proxy.ProxyArgument(token), "--cacert", proxy.CaFile, "-H", "x-api-key: centaur-placeholder:anthropic"];
        string[] reverse = ["-H", $"X-Centaur-Sandbox-Token: {token}", "-H", "x-api-key: centaur-placeholder:anthropic", "--write-out", "%{stderr}%{http_code}"];

        var tunnelFromPod = await Curl.RunAsync(Ct, [.. tunnel, "--interface", "127.0.0.2", "https://api.anthropic.test/echo/from-pod", "--write-out", "%{stderr}%{http_code}"]);
        var reverseFromPod = await Curl.RunAsync(Ct, [.. reverse, "--interface", "127.0.0.2", $"{proxy.Url}fake-anthropic/echo/v1/messages/from-pod"]);
        var tunnelFromElsewhere = await Curl.RunAsync(Ct, [.. tunnel, "https://api.anthropic.test/echo/stolen", "--write-out", "%{stderr}%{http_connect}"]);
        var reverseFromElsewhere = await Curl.RunAsync(Ct, [.. reverse, $"{proxy.Url}fake-anthropic/echo/v1/messages/stolen"]);

        Assert.Equal(("200", "200"), (tunnelFromPod.Stderr, reverseFromPod.Stderr));
        Assert.Contains(IronProxyFixture.AnthropicKey, tunnelFromPod.Stdout, StringComparison.Ordinal);
        Assert.EndsWith("response 407\n407", tunnelFromElsewhere.Stderr, StringComparison.Ordinal); // the CONNECT is refused
        Assert.Equal("407", reverseFromElsewhere.Stderr);
        Assert.Contains("proxy_authentication_required", reverseFromElsewhere.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(IronProxyFixture.AnthropicKey, tunnelFromElsewhere.Stdout + reverseFromElsewhere.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ATokenBoundToSomethingThatIsNotAnAddressIsNeverValid()
    {
        var token = fixture.Token("test:address:garbage", "sbx-pod", address: "pod-a");

        var result = await Curl.RunAsync(Ct, $"{fixture.ProxyUrl}fake-anthropic/echo/v1/messages/garbage",
            "-H", $"X-Centaur-Sandbox-Token: {token}", "-H", "x-api-key: centaur-placeholder:anthropic", "--write-out", "%{stderr}%{http_code}");

        Assert.Equal("407", result.Stderr);
    }
}
