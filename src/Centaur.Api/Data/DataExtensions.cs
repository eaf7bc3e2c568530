namespace Centaur.Api.Data;

internal static class DataExtensions
{
    public static IHostApplicationBuilder AddCentaurDatabase(this IHostApplicationBuilder builder)
    {
        builder.AddNpgsqlDataSource("centaur");
        builder.Services.AddSingleton<DatabaseReadiness>();
        builder.Services.AddHostedService<MigrationRunner>();
        builder.Services.AddHealthChecks().AddCheck<DatabaseReadiness>("migrations");
        return builder;
    }
}
