using Centaur.Tests.Infrastructure;
using Npgsql;

namespace Centaur.Tests.Tools;

/// <summary>
/// An API process of the test class's own that loads the test overlay (Overlay:Path) and runs workflows briskly.
/// Its database has the test_effects table the test workflows record their side effects in.
/// </summary>
public sealed class OverlayApi(CentaurAppFixture fixture) : IAsyncLifetime
{
    public ApiProcess Api { get; private set; } = null!;

    public string Overlay { get; } = TestOverlayFolder.Create();

    public async ValueTask InitializeAsync() => Api = await StartAsync(fixture, TestOverlayFolder.Settings(Overlay));

    public async ValueTask DisposeAsync()
    {
        await Api.DisposeAsync();
        Directory.Delete(Overlay, recursive: true);
    }

    /// <summary>An API process with the given settings and the test_effects table.</summary>
    public static async Task<ApiProcess> StartAsync(CentaurAppFixture fixture, IReadOnlyDictionary<string, string> settings)
    {
        var api = await fixture.StartApiProcessAsync(settings);
        await CreateEffectsTableAsync(api.ConnectionString);
        return api;
    }

    public static async Task CreateEffectsTableAsync(string connectionString)
    {
        await using var db = NpgsqlDataSource.Create(connectionString);
        await using var command = db.CreateCommand("""
            CREATE TABLE IF NOT EXISTS test_effects (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, tag text NOT NULL, what text NOT NULL,
                                                     at timestamptz NOT NULL DEFAULT now())
            """);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>How often each effect of <paramref name="tag"/> happened, by what.</summary>
    public static async Task<Dictionary<string, long>> EffectsAsync(string connectionString, string tag)
    {
        await using var db = NpgsqlDataSource.Create(connectionString);
        await using var command = db.CreateCommand("SELECT what, count(*) FROM test_effects WHERE tag = @tag GROUP BY what");
        command.Parameters.AddWithValue("tag", tag);
        await using var reader = await command.ExecuteReaderAsync();
        var effects = new Dictionary<string, long>();
        while (await reader.ReadAsync())
        {
            effects[reader.GetString(0)] = reader.GetInt64(1);
        }

        return effects;
    }
}
