using Npgsql;

namespace Centaur.Tests.EndToEnd;

/// <summary>Row counts of every table of a database, in one round trip: "nothing written" as a diff.</summary>
internal sealed class TableCounts(NpgsqlDataSource db, string sql)
{
    public static async Task<TableCounts> ForAsync(NpgsqlDataSource db, CancellationToken cancellationToken)
    {
        const string Tables = """
            SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) FROM information_schema.tables
            WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1
            """;
        var names = new List<string>();
        await using (var command = db.CreateCommand(Tables))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                names.Add(reader.GetString(0));
            }
        }

        if (names.Count == 0)
        {
            throw new InvalidOperationException("the database has no tables: is it migrated?");
        }

        // Names come from the catalog (quote_ident), never from a request.
        var sql = string.Join("\nUNION ALL ", names.Select(n => $"SELECT '{n}', count(*) FROM {n}"));
        return new TableCounts(db, sql);
    }

    public async Task<Dictionary<string, long>> ReadAsync(CancellationToken cancellationToken)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        await using var command = db.CreateCommand(sql);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            counts[reader.GetString(0)] = reader.GetInt64(1);
        }

        return counts;
    }

    /// <summary>"table +n" for every table whose count changed, except those the caller allows to grow.</summary>
    public static IReadOnlyList<string> Diff(Dictionary<string, long> before, Dictionary<string, long> after, IReadOnlySet<string> mayGrow) =>
        [.. after.Where(a => before.GetValueOrDefault(a.Key) != a.Value
                             && !(mayGrow.Contains(a.Key) && a.Value > before.GetValueOrDefault(a.Key)))
            .Select(a => $"{a.Key} {a.Value - before.GetValueOrDefault(a.Key):+#;-#}")];

    /// <summary>Waits until no table changes for a moment (background work of earlier tests has settled).</summary>
    public async Task<Dictionary<string, long>> SettleAsync(CancellationToken cancellationToken)
    {
        var last = await ReadAsync(cancellationToken);
        for (var i = 0; i < 50; i++)
        {
            await Task.Delay(200, cancellationToken);
            var now = await ReadAsync(cancellationToken);
            if (Diff(last, now, new HashSet<string>()).Count == 0)
            {
                return now;
            }

            last = now;
        }

        return last;
    }
}
