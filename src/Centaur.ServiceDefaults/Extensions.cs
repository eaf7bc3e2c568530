using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// What every Centaur service shares: OpenTelemetry, health endpoints, service discovery and resilient HttpClients.
/// </summary>
public static class Extensions
{
    public const string HealthPath = "/health";
    public const string AlivePath = "/alive";

    /// <summary>Every ActivitySource and Meter that Centaur's own code emits; registered once here.</summary>
    public const string TelemetryPrefix = "Centaur.";

    /// <param name="instrumentHttp">
    /// ASP.NET Core's and HttpClient's spans and metrics for every request served and sent; off for a service that
    /// describes each request with telemetry of its own.
    /// </param>
    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder, bool instrumentHttp = true) where TBuilder : IHostApplicationBuilder
    {
        builder.AddBasicServiceDefaults(instrumentHttp);
        builder.Services.AddServiceDiscovery();
        builder.Services.ConfigureHttpClientDefaults(http =>
        {
            http.AddStandardResilienceHandler();
            http.AddServiceDiscovery();
        });
        return builder;
    }

    /// <summary>For processes that make no outgoing HTTP calls of their own through HttpClientFactory.</summary>
    public static TBuilder AddBasicServiceDefaults<TBuilder>(this TBuilder builder, bool instrumentHttp = true) where TBuilder : IHostApplicationBuilder
    {
        builder.ConfigureOpenTelemetry(instrumentHttp);
        builder.AddDefaultHealthChecks();
        builder.Services.AddHostedService<FailedServiceExitCode>();
        return builder;
    }

    public static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder, bool instrumentHttp = true) where TBuilder : IHostApplicationBuilder
    {
        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });

        builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics =>
            {
                if (instrumentHttp)
                {
                    metrics.AddAspNetCoreInstrumentation().AddHttpClientInstrumentation();
                }

                metrics.AddRuntimeInstrumentation().AddMeter(TelemetryPrefix + "*").AddMeter("Npgsql");
            })
            .WithTracing(tracing =>
            {
                tracing.AddSource(builder.Environment.ApplicationName).AddSource(TelemetryPrefix + "*").AddSource("Npgsql");
                if (instrumentHttp)
                {
                    // Health probes every few seconds would drown the real traces.
                    tracing
                        .AddAspNetCoreInstrumentation(o => o.Filter = context =>
                            !context.Request.Path.StartsWithSegments(HealthPath) && !context.Request.Path.StartsWithSegments(AlivePath))
                        .AddHttpClientInstrumentation();
                }
            });

        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            builder.Services.AddOpenTelemetry().UseOtlpExporter();
        }

        return builder;
    }

    public static TBuilder AddDefaultHealthChecks<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddHealthChecks().AddCheck("self", () => HealthCheckResult.Healthy(), ["live"]);
        return builder;
    }

    /// <summary>
    /// /health: every check (ready). /alive: only the "live" ones. Both answer a JSON body that names each check,
    /// so a degraded service (a secret without a value) says why.
    /// </summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        app.MapHealthChecks(HealthPath, new HealthCheckOptions { ResponseWriter = WriteHealthAsync });
        app.MapHealthChecks(AlivePath, new HealthCheckOptions
        {
            Predicate = r => r.Tags.Contains("live"),
            ResponseWriter = WriteHealthAsync,
        });
        return app;
    }

    private static Task WriteHealthAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        var body = new HealthBody(
            report.Status.ToString(),
            report.Entries.ToDictionary(e => e.Key, e => new HealthEntry(e.Value.Status.ToString(), e.Value.Description)));
        // Own options: check names are identifiers ("PostgreSql"), not keys an app's naming policy may rewrite.
        return context.Response.WriteAsJsonAsync(body, s_healthJson, context.RequestAborted);
    }

    private static readonly System.Text.Json.JsonSerializerOptions s_healthJson = new(System.Text.Json.JsonSerializerDefaults.Web);

    private sealed record HealthBody(string Status, Dictionary<string, HealthEntry> Checks);

    private sealed record HealthEntry(string Status, string? Description);
}
