using System.Diagnostics;
using System.Reflection;
using Npgsql;

namespace Centaur.Api.Data;

/// <summary>
/// Applies the embedded, numbered SQL migrations (Migrations/0001_*.sql …) in one transaction under a
/// transaction-scoped advisory lock, so several API replicas starting together apply each version exactly once.
/// </summary>
internal sealed class MigrationRunner(NpgsqlDataSource dataSource, DatabaseReadiness readiness, ILogger<MigrationRunner> logger, TimeProvider time)
    : BackgroundService
{
    // Any constant shared by every replica; "centaur" in ASCII.
    private const long AdvisoryLockKey = 0x63656e74617572;

    internal static readonly ActivitySource ActivitySource = new("Centaur.Api.Migrations");

    private const string BootstrapSql = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version    int PRIMARY KEY,
            name       text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
        );
        """;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                using var activity = ActivitySource.StartActivity("migrate database");
                var applied = await MigrateAsync(stoppingToken);
                readiness.MarkReady();
                logger.MigrationsApplied(applied);
                return;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
            {
                readiness.MarkFailed(ex.Message);
                var delay = TimeSpan.FromSeconds(Math.Pow(2, Math.Min(attempt, 5))) + TimeSpan.FromMilliseconds(Random.Shared.Next(1000));
                logger.MigrationRetry(ex, attempt, delay);
                await Task.Delay(delay, time, stoppingToken);
            }
        }
    }

    internal async Task<int> MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(@key)", connection, transaction))
        {
            lockCommand.Parameters.AddWithValue("key", AdvisoryLockKey);
            await lockCommand.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var bootstrap = new NpgsqlCommand(BootstrapSql, connection, transaction))
        {
            await bootstrap.ExecuteNonQueryAsync(cancellationToken);
        }

        var done = new HashSet<int>();
        await using (var read = new NpgsqlCommand("SELECT version FROM schema_migrations", connection, transaction))
        await using (var reader = await read.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                done.Add(reader.GetInt32(0));
            }
        }

        var applied = 0;
        foreach (var migration in Migration.LoadEmbedded().Where(m => !done.Contains(m.Version)))
        {
            await using (var apply = new NpgsqlCommand(migration.Sql, connection, transaction))
            {
                await apply.ExecuteNonQueryAsync(cancellationToken);
            }

            await using var record = new NpgsqlCommand("INSERT INTO schema_migrations (version, name) VALUES (@version, @name)", connection, transaction);
            record.Parameters.AddWithValue("version", migration.Version);
            record.Parameters.AddWithValue("name", migration.Name);
            await record.ExecuteNonQueryAsync(cancellationToken);
            applied++;
        }

        await transaction.CommitAsync(cancellationToken);
        return applied;
    }
}

internal sealed record Migration(int Version, string Name, string Sql)
{
    /// <summary>Embedded resources named like <c>0001_core.sql</c>, ordered by their number.</summary>
    public static IReadOnlyList<Migration> LoadEmbedded()
    {
        var assembly = Assembly.GetExecutingAssembly();
        var migrations = new List<Migration>();
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.EndsWith(".sql", StringComparison.Ordinal)))
        {
            var fileName = resource.Split('.')[^2];
            var underscore = fileName.IndexOf('_', StringComparison.Ordinal);
            if (underscore <= 0 || !int.TryParse(fileName.AsSpan(0, underscore), out var version))
            {
                throw new InvalidOperationException($"Migration resource '{resource}' is not named NNNN_name.sql.");
            }

            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            migrations.Add(new Migration(version, fileName, reader.ReadToEnd()));
        }

        var duplicate = migrations.GroupBy(m => m.Version).FirstOrDefault(g => g.Count() > 1);
        return duplicate is not null
            ? throw new InvalidOperationException($"Two migrations share version {duplicate.Key}: {string.Join(", ", duplicate.Select(m => m.Name))}.")
            : [.. migrations.OrderBy(m => m.Version)];
    }
}
