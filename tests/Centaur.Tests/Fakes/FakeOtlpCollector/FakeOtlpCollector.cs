using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Centaur.Tests.Fakes.FakeOtlpCollector;

/// <summary>
/// Stands in for the Aspire dashboard's OTLP endpoint (which has no query API): the services export spans and metrics
/// here over OTLP/HTTP protobuf (OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf) and tests read them back: a trace's parent
/// chain across processes, the metric names each service exports. Reads just those fields from the protobuf wire format.
/// </summary>
public sealed class FakeOtlpCollector : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ExportedSpan> _spans = new();
    private readonly ConcurrentDictionary<(string Service, string Metric), bool> _metrics = new();

    private FakeOtlpCollector(WebApplication app) => _app = app;

    public string Url { get; private set; } = "";

    public IReadOnlyList<ExportedSpan> Spans => [.. _spans];

    /// <summary>The metric names each service has exported (with at least one data point).</summary>
    public IReadOnlyCollection<(string Service, string Metric)> Metrics => [.. _metrics.Keys];

    public static async Task<FakeOtlpCollector> StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var collector = new FakeOtlpCollector(app);
        app.MapPost("/v1/traces", collector.TracesAsync);
        app.MapPost("/v1/metrics", collector.MetricsAsync);
        // Logs are accepted and dropped.
        app.MapPost("/v1/{signal}", () => Results.Bytes([], "application/x-protobuf"));
        await app.StartAsync(cancellationToken);
        collector.Url = app.Urls.First();
        return collector;
    }

    private async Task TracesAsync(HttpContext context)
    {
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        foreach (var span in ExportedSpan.Parse(buffer.ToArray()))
        {
            _spans.Enqueue(span);
        }

        context.Response.ContentType = "application/x-protobuf";
    }

    private async Task MetricsAsync(HttpContext context)
    {
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        foreach (var metric in ExportedSpan.MetricNames(buffer.ToArray()))
        {
            _metrics[metric] = true;
        }

        context.Response.ContentType = "application/x-protobuf";
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>One span as exported: ids in lower-case hex, the exporting service (resource service.name), string attributes.</summary>
public sealed record ExportedSpan(string Service, string Name, string TraceId, string SpanId, string ParentSpanId, IReadOnlyDictionary<string, string> Attributes)
{
    public override string ToString() => $"{Service}: {Name} ({TraceId}/{SpanId} ← {ParentSpanId})";

    // ExportTraceServiceRequest { 1: ResourceSpans { 1: Resource { 1: KeyValue }, 2: ScopeSpans { 2: Span } } }
    // Span { 1: trace_id, 2: span_id, 4: parent_span_id, 5: name, 9: KeyValue }; KeyValue { 1: key, 2: AnyValue { 1: string } }
    public static IEnumerable<ExportedSpan> Parse(byte[] request)
    {
        foreach (var resourceSpans in Messages(request, 1))
        {
            var resource = Messages(resourceSpans, 1).FirstOrDefault() ?? [];
            var service = ReadAttributes(resource, 1).GetValueOrDefault("service.name") ?? "";
            foreach (var scopeSpans in Messages(resourceSpans, 2))
            {
                foreach (var span in Messages(scopeSpans, 2))
                {
                    var fields = Fields(span).ToList();
                    string Hex(int number) => Convert.ToHexStringLower(fields.FirstOrDefault(f => f.Number == number).Bytes ?? []);
                    var name = Encoding.UTF8.GetString(fields.FirstOrDefault(f => f.Number == 5).Bytes ?? []);
                    yield return new ExportedSpan(service, name, Hex(1), Hex(2), Hex(4), ReadAttributes(span, 9));
                }
            }
        }
    }

    // ExportMetricsServiceRequest { 1: ResourceMetrics { 1: Resource, 2: ScopeMetrics { 2: Metric { 1: name } } } }
    public static IEnumerable<(string Service, string Metric)> MetricNames(byte[] request)
    {
        foreach (var resourceMetrics in Messages(request, 1))
        {
            var service = ReadAttributes(Messages(resourceMetrics, 1).FirstOrDefault() ?? [], 1).GetValueOrDefault("service.name") ?? "";
            foreach (var metric in Messages(resourceMetrics, 2).SelectMany(scope => Messages(scope, 2)))
            {
                yield return (service, Encoding.UTF8.GetString(Messages(metric, 1).FirstOrDefault() ?? []));
            }
        }
    }

    private static Dictionary<string, string> ReadAttributes(byte[] message, int number)
    {
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var keyValue in Messages(message, number))
        {
            var parts = Fields(keyValue).ToList();
            var key = Encoding.UTF8.GetString(parts.FirstOrDefault(f => f.Number == 1).Bytes ?? []);
            var value = parts.FirstOrDefault(f => f.Number == 2).Bytes is { } any
                ? Fields(any).Where(f => f.Number == 1).Select(f => Encoding.UTF8.GetString(f.Bytes!)).FirstOrDefault()
                : null;
            if (value is not null)
            {
                attributes[key] = value;
            }
        }

        return attributes;
    }

    private static IEnumerable<byte[]> Messages(byte[] message, int number) =>
        Fields(message).Where(f => f.Number == number && f.Bytes is not null).Select(f => f.Bytes!);

    /// <summary>The fields of one protobuf message; length-delimited ones carry their bytes, others are skipped over.</summary>
    private static IEnumerable<(int Number, byte[]? Bytes)> Fields(byte[] message)
    {
        var position = 0;
        while (position < message.Length)
        {
            var tag = ReadVarint(message, ref position);
            var number = (int)(tag >> 3);
            switch (tag & 7)
            {
                case 0:
                    ReadVarint(message, ref position);
                    yield return (number, null);
                    break;
                case 1:
                    position += 8;
                    yield return (number, null);
                    break;
                case 2:
                    var length = (int)ReadVarint(message, ref position);
                    yield return (number, message[position..(position + length)]);
                    position += length;
                    break;
                case 5:
                    position += 4;
                    yield return (number, null);
                    break;
                default:
                    throw new InvalidDataException($"unsupported protobuf wire type {tag & 7}");
            }
        }
    }

    private static ulong ReadVarint(byte[] buffer, ref int position)
    {
        ulong value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = buffer[position++];
            value |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }
    }
}
