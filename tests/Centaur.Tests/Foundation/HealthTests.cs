using System.Net;
using System.Text.Json;
using Centaur.Tests.Infrastructure;

namespace Centaur.Tests.Foundation;

[Collection(AppCollection.Name)]
public sealed class HealthTests(CentaurAppFixture fixture)
{
    public static TheoryData<string> Services => [.. CentaurAppFixture.Services];

    [Theory]
    [MemberData(nameof(Services))]
    public async Task EveryServiceAnswersHealthAndAlive(string service)
    {
        using var http = fixture.App.CreateHttpClient(service);

        using var health = await http.GetAsync("/health", TestContext.Current.CancellationToken);
        using var alive = await http.GetAsync("/alive", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(HttpStatusCode.OK, alive.StatusCode);
        using var body = JsonDocument.Parse(await health.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Contains(body.RootElement.GetProperty("status").GetString(), new[] { "Healthy", "Degraded" });
    }

    [Fact]
    public async Task ApiHealthCoversTheDatabaseAndMigrations()
    {
        using var http = fixture.App.CreateHttpClient("api");

        var body = await http.GetStringAsync("/health", TestContext.Current.CancellationToken);

        using var json = JsonDocument.Parse(body);
        var checks = json.RootElement.GetProperty("checks");
        Assert.Equal("Healthy", checks.GetProperty("migrations").GetProperty("status").GetString());
        Assert.Equal("Healthy", checks.GetProperty("PostgreSql").GetProperty("status").GetString());
    }

    [Fact]
    public async Task MigrationsAreRecordedInPostgres()
    {
        await using var db = await fixture.CreateDataSourceAsync();
        await using var command = db.CreateCommand("SELECT count(*) FROM schema_migrations WHERE version = 1");

        var count = (long)(await command.ExecuteScalarAsync(TestContext.Current.CancellationToken))!;

        Assert.Equal(1, count);
    }
}
