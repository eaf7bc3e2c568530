using Centaur.Tests.Fakes.FakeOtlpCollector;
using Centaur.Tests.Fakes.FakeSlack;

namespace Centaur.Tests.IronProxy;

/// <summary>
/// What the proxy tells operators about each request: its own egress span and metrics, and nothing from ASP.NET Core
/// or HttpClient besides (they would describe every request twice more). Without a running turn, a client's own
/// trace context keeps its call in its trace. A standalone proxy exporting to a fake OTLP collector.
/// </summary>
[Collection(IronProxyCollection.Name)]
public sealed class EgressTelemetryTests(IronProxyFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task EachRequestIsOneEgressSpanInTheClientsTraceWhenNoTurnRuns()
    {
        await using var collector = await FakeOtlpCollector.StartAsync(Ct);
        await using var proxy = await StandaloneProxy.StartWithOwnCaAsync(fixture, Ct, new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.Url,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_SERVICE_NAME"] = "ironproxy",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
        });
        var token = fixture.Token($"test:telemetry:{Guid.NewGuid():N}");
        var (traceId, parentId) = (Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()), Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.NextInt64())));
        string[] reverse = ["-H", $"X-Centaur-Sandbox-Token: {token}", "-H", "x-api-key: centaur-placeholder:anthropic", "--write-out", "%{stderr}%{http_code}"];

        var traced = await Curl.RunAsync(Ct, [.. reverse, "-H", $"traceparent: 00-{traceId}-{parentId}-01", $"{proxy.Url}fake-anthropic/echo/v1/messages/traced"]);
        var untraced = await Curl.RunAsync(Ct, [.. reverse, $"{proxy.Url}fake-anthropic/echo/v1/messages/untraced"]);

        Assert.Equal(("200", "200"), (traced.Stderr, untraced.Stderr));
        await FakeSlackServer.WaitUntilAsync(
            () => collector.Spans.Count(s => s.Name == "egress api.anthropic.test") >= 2
                  && collector.Metrics.Contains(("ironproxy", "centaur.proxy.request.duration")),
            TimeSpan.FromSeconds(30), "the proxy exports both requests' spans and its duration histogram");
        var egress = collector.Spans.Where(s => s.Name == "egress api.anthropic.test").ToList();
        var inClientsTrace = Assert.Single(egress, s => s.TraceId == traceId);
        Assert.Equal(parentId, inClientsTrace.ParentSpanId);
        Assert.Contains(egress, s => s.TraceId != traceId && s.ParentSpanId.Length == 0);
        // The egress span is the request's only span: no server span from ASP.NET Core, no client span from HttpClient.
        Assert.DoesNotContain(collector.Spans, s => s.Service == "ironproxy" && s.Attributes.ContainsKey("http.request.method"));
        Assert.DoesNotContain(collector.Metrics, m => m.Service == "ironproxy" && m.Metric.StartsWith("http.", StringComparison.Ordinal));
    }
}
