using System.Diagnostics.Metrics;

namespace Centaur.Slack;

/// <summary>What operators watch on the adapter: deliveries in (and Slack's retries of them), answers out, Web API retries.</summary>
internal static class SlackMetrics
{
    public static readonly Meter Meter = new("Centaur.Slack");

    private static readonly Counter<long> s_received = Meter.CreateCounter<long>(
        "centaur.slack.deliveries_received", description: "events, interactions and commands from Slack; retried = Slack delivered it again");

    private static readonly Counter<long> s_answers = Meter.CreateCounter<long>(
        "centaur.slack.answers_delivered", description: "final answers posted into Slack threads, by execution state");

    private static readonly Counter<long> s_apiRetries = Meter.CreateCounter<long>(
        "centaur.slack.api_retries", description: "Slack Web API calls retried, by method and reason");

    public static void Received(string kind, string transport, bool retried, bool duplicate) =>
        s_received.Add(1, new("centaur.slack.kind", kind), new("centaur.slack.transport", transport),
            new("centaur.slack.retried", retried), new("centaur.slack.duplicate", duplicate));

    public static void AnswerDelivered(string state) => s_answers.Add(1, new KeyValuePair<string, object?>("centaur.execution.state", state));

    public static void ApiRetry(string method, string reason) =>
        s_apiRetries.Add(1, new("centaur.slack.method", method), new("centaur.slack.reason", reason));
}
