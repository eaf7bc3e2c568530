using System.Diagnostics.Metrics;

namespace Centaur.IronProxy.Audit;

/// <summary>What operators watch on the proxy: requests by host and outcome, and which credentials it swapped in.</summary>
internal static class EgressMetrics
{
    public static readonly Meter Meter = new("Centaur.IronProxy");

    public static readonly Counter<long> Requests = Meter.CreateCounter<long>(
        "centaur.proxy.requests", description: "requests from sandboxes by host, status and decision");

    // The proxy records no HTTP server or client metrics (Program.cs): this is its request latency.
    public static readonly Histogram<double> Duration = Meter.CreateHistogram<double>(
        "centaur.proxy.request.duration", unit: "s", description: "time from a request's arrival to the end of its response, by host and decision");

    public static readonly Counter<long> CredentialsInjected = Meter.CreateCounter<long>(
        "centaur.proxy.credentials_injected", description: "placeholders replaced by a real secret, by binding");

    public static void Record(string host, int status, string decision, IReadOnlyList<string>? injected, TimeSpan elapsed)
    {
        Requests.Add(1, new("server.address", host), new("http.response.status_code", status), new("centaur.egress.decision", decision));
        Duration.Record(elapsed.TotalSeconds, new("server.address", host), new("centaur.egress.decision", decision));
        foreach (var binding in injected ?? [])
        {
            CredentialsInjected.Add(1, new("centaur.binding", binding), new("server.address", host));
        }
    }
}
