using Centaur.Api.Data;
using Centaur.Api.Executions;
using Npgsql;

namespace Centaur.Api.Sandboxes;

/// <summary>
/// Executions by state, sandboxes by state and the warm pool's size as observable gauges. The counts come from
/// Postgres (the truth across replicas), sampled every 15 s, because gauge callbacks cannot wait on a query.
/// </summary>
internal sealed partial class StateGauges : BackgroundService
{
    private readonly NpgsqlDataSource _db;
    private readonly DatabaseReadiness _readiness;
    private readonly ILogger<StateGauges> _logger;
    private volatile IReadOnlyList<(string Kind, string State, long Count)> _counts = [];

    public StateGauges(NpgsqlDataSource db, DatabaseReadiness readiness, SandboxPool pool, ILogger<StateGauges> logger)
    {
        _db = db;
        _readiness = readiness;
        _logger = logger;
        ExecutionMetrics.Meter.CreateObservableGauge("centaur.executions", () => Measure("execution"), description: "executions by state");
        SandboxMetrics.Meter.CreateObservableGauge("centaur.sandboxes", () => Measure("sandbox"), description: "sandbox sessions by state");
        SandboxMetrics.Meter.CreateObservableGauge("centaur.sandbox.warm_pool", () => pool.Count, description: "ready, unassigned sandboxes");
    }

    private IEnumerable<System.Diagnostics.Metrics.Measurement<long>> Measure(string kind) =>
        _counts.Where(c => c.Kind == kind).Select(c => new System.Diagnostics.Metrics.Measurement<long>(c.Count, new KeyValuePair<string, object?>("state", c.State)));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await _readiness.WaitAsync(stoppingToken);
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(15));
        do
        {
            try
            {
                const string Sql = """
                    SELECT 'execution', state, count(*) FROM agent_execution_requests WHERE state IN ('queued', 'running') GROUP BY state
                    UNION ALL
                    SELECT 'sandbox', state, count(*) FROM sandbox_sessions GROUP BY state
                    """;
                await using var command = _db.CreateCommand(Sql);
                await using var reader = await command.ExecuteReaderAsync(stoppingToken);
                var counts = new List<(string, string, long)>();
                while (await reader.ReadAsync(stoppingToken))
                {
                    counts.Add((reader.GetString(0), reader.GetString(1), reader.GetInt64(2)));
                }

                // An idle system reports zero queued and zero running rather than nothing, so dashboards show the 0.
                foreach (var state in new[] { "queued", "running" }.Where(st => !counts.Any(c => c.Item1 == "execution" && c.Item2 == st)))
                {
                    counts.Add(("execution", state, 0));
                }

                _counts = counts;
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
            {
                LogSampleFailed(_logger, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(2001, LogLevel.Debug, "Sampling state counts failed")]
    private static partial void LogSampleFailed(ILogger logger, Exception exception);
}
