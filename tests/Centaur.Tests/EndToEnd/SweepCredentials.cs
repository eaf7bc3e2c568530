using System.Text;
using Aspire.Hosting.ApplicationModel;
using Centaur.Api.Auth;
using Centaur.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Centaur.Tests.EndToEnd;

/// <summary>
/// The AppHost's own secrets (every secret parameter, the database password) and credentials built from them: the
/// keys the AppHost generated for its clients and sandbox tokens, valid and spoiled. Every one of them is something
/// no response may contain.
/// </summary>
internal sealed class SweepCredentials
{
    public const string ThreadKey = "sweep:no-such-thread";

    private SweepCredentials(Dictionary<string, string> parameters, string databasePassword)
    {
        AgentKey = parameters["slack-api-key"];
        SlackSigningSecretIsSet = parameters.GetValueOrDefault("slack-signing-secret") is { Length: > 0 };
        AdminKey = parameters["admin-api-key"];
        var tokenKey = Encoding.UTF8.GetBytes(parameters["sandbox-token-key"]);
        var inAnHour = DateTimeOffset.UtcNow.AddHours(1);
        SandboxToken = new SandboxToken(ThreadKey, "sbx-sweep", inAnHour).Sign(tokenKey);
        ExpiredSandboxToken = new SandboxToken(ThreadKey, "sbx-sweep", DateTimeOffset.UtcNow.AddMinutes(-5)).Sign(tokenKey);
        ForeignSandboxToken = new SandboxToken(ThreadKey, "sbx-sweep", inAnHour).Sign("not-the-sandbox-token-key-0123456789"u8);
        // A real token whose payload names another thread under the original signature.
        var otherPayload = new SandboxToken("sweep:other-thread", "sbx-sweep", inAnHour).Sign(tokenKey).Split('.')[1];
        ForgedSandboxToken = string.Join('.', "sbx1", otherPayload, SandboxToken.Split('.')[2]);
        Secrets =
        [
            .. parameters.Values.Where(v => v.Length >= 8),
            databasePassword,
            SandboxToken,
            ExpiredSandboxToken,
            ForeignSandboxToken,
            ForgedSandboxToken,
        ];
    }

    /// <summary>An API key with the agent scope only (the one the AppHost gave the Slack adapter).</summary>
    public string AgentKey { get; }

    /// <summary>An API key with the agent and admin scopes.</summary>
    public string AdminKey { get; }

    /// <summary>A valid token of a sandbox of a thread that does not exist.</summary>
    public string SandboxToken { get; }

    public string ExpiredSandboxToken { get; }

    /// <summary>Signed with a key that is not the AppHost's.</summary>
    public string ForeignSandboxToken { get; }

    /// <summary>A payload that was changed after signing.</summary>
    public string ForgedSandboxToken { get; }

    public IReadOnlyList<string> Secrets { get; }

    public bool SlackSigningSecretIsSet { get; }

    public static async Task<SweepCredentials> FromAsync(CentaurAppFixture fixture, CancellationToken cancellationToken)
    {
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        var model = fixture.App.Services.GetRequiredService<DistributedApplicationModel>();
        foreach (var parameter in model.Resources.OfType<ParameterResource>().Where(p => p.Secret))
        {
            parameters[parameter.Name] = await parameter.GetValueAsync(cancellationToken) ?? "";
        }

        var connection = new NpgsqlConnectionStringBuilder(await fixture.App.GetConnectionStringAsync("postgres", cancellationToken));
        return new SweepCredentials(parameters, connection.Password ?? "");
    }

    public static string Bearer(string key) => $"Bearer {key}";

    public static string Basic(string token) => "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"sandbox:{token}"));
}
