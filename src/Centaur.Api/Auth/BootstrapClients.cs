using Centaur.Api.Data;
using Microsoft.Extensions.Options;

namespace Centaur.Api.Auth;

/// <summary>Keys that come from configuration (Auth:BootstrapClients:&lt;name&gt; = key), registered once the schema is current.</summary>
internal sealed class BootstrapClientsOptions
{
    public Dictionary<string, string> BootstrapClients { get; set; } = [];

    /// <summary>Scopes per bootstrap client (comma-separated); "agent" when not given, "agent,admin" for "admin".</summary>
    public Dictionary<string, string> BootstrapScopes { get; set; } = [];
}

internal sealed partial class BootstrapClients(
    IOptions<BootstrapClientsOptions> options, ApiClientStore clients, DatabaseReadiness readiness, ILogger<BootstrapClients> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await readiness.WaitAsync(stoppingToken);
        foreach (var (name, key) in options.Value.BootstrapClients)
        {
            if (string.IsNullOrWhiteSpace(key))
            {
                continue;
            }

            var scopes = options.Value.BootstrapScopes.TryGetValue(name, out var s)
                ? s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                : name == "admin" ? Scopes.All : [Scopes.Agent];
            await clients.UpsertAsync(name, key, scopes, replace: true, stoppingToken);
            LogRegistered(logger, name, string.Join(',', scopes));
        }
    }

    [LoggerMessage(1101, LogLevel.Information, "API client '{Name}' registered from configuration with scopes {Scopes}")]
    private static partial void LogRegistered(ILogger logger, string name, string scopes);
}
