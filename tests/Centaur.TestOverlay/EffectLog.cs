using Npgsql;

namespace Centaur.TestOverlay;

/// <summary>
/// The test workflows' side effects: one row per time their code actually ran, in a table the test creates, so a
/// test can count how often each step really executed across crashes.
/// </summary>
internal static class EffectLog
{
    public static async Task<long> RecordAsync(IServiceProvider services, string tag, string what, CancellationToken cancellationToken)
    {
        var db = (NpgsqlDataSource)services.GetService(typeof(NpgsqlDataSource))!;
        await using var command = db.CreateCommand("INSERT INTO test_effects (tag, what) VALUES (@tag, @what) RETURNING id");
        command.Parameters.AddWithValue("tag", tag);
        command.Parameters.AddWithValue("what", what);
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }
}
