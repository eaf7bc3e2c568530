using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Centaur.IronProxy.Policy;

/// <summary>Reads one consistent snapshot of the egress tables (0010_egress.sql).</summary>
internal sealed class PolicyLoader(NpgsqlDataSource dataSource, IOptions<IronProxyOptions> options)
{
    private const string SettingsSql = "SELECT mode, deny_in_tunnel, version FROM egress_settings WHERE id = 1";
    private const string HostsSql = "SELECT host, ports, request_headers, allow_private, connect_to, trusted_ca_pem FROM egress_hosts";
    private const string BindingsSql = "SELECT name, host, headers, format, secret, allow_passthrough FROM egress_bindings";
    private const string RoutesSql = "SELECT prefix, destination FROM egress_routes";
    private const string ThreadHostsSql = "SELECT thread_key, host FROM egress_thread_allowances";

    public async Task<EgressPolicy> LoadAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        // One snapshot: the version read is the version of the rows read.
        await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken);
        await using var batch = new NpgsqlBatch(connection, transaction)
        {
            BatchCommands = { new(SettingsSql), new(HostsSql), new(BindingsSql), new(RoutesSql), new(ThreadHostsSql) },
        };
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);

        if (!await reader.ReadAsync(cancellationToken))
        {
            throw new InvalidOperationException("egress_settings has no row (migration 0010 not applied?)");
        }

        var mode = reader.GetString(0) == "report" ? PolicyMode.Report : PolicyMode.Enforce;
        var denyInTunnel = reader.GetBoolean(1);
        var version = reader.GetInt64(2);

        await reader.NextResultAsync(cancellationToken);
        var hosts = new List<HostRule>();
        while (await reader.ReadAsync(cancellationToken))
        {
            hosts.Add(new HostRule(
                reader.GetString(0),
                reader.GetFieldValue<int[]>(1).ToHashSet(),
                HeaderAllowlist.From(reader.IsDBNull(2) ? null : reader.GetFieldValue<string[]>(2), []),
                reader.GetBoolean(3),
                reader.IsDBNull(4) ? null : IPEndPoint.Parse(reader.GetString(4)),
                reader.IsDBNull(5) ? null : X509Certificate2.CreateFromPem(reader.GetString(5))));
        }

        await reader.NextResultAsync(cancellationToken);
        var bindings = new List<CredentialBinding>();
        while (await reader.ReadAsync(cancellationToken))
        {
            bindings.Add(new CredentialBinding(
                reader.GetString(0),
                reader.GetString(1),
                [.. reader.GetFieldValue<string[]>(2).Select(h => h.ToLowerInvariant())],
                reader.GetString(3) switch { "bearer" => CredentialFormat.Bearer, "basic" => CredentialFormat.Basic, _ => CredentialFormat.Raw },
                reader.GetString(4),
                reader.GetBoolean(5)));
        }

        await reader.NextResultAsync(cancellationToken);
        var routes = new Dictionary<string, Uri>(StringComparer.OrdinalIgnoreCase);
        foreach (var (prefix, destination) in options.Value.Routes)
        {
            routes[prefix] = new Uri(destination.TrimEnd('/'));
        }

        // The database's routes win over configured defaults of the same name.
        while (await reader.ReadAsync(cancellationToken))
        {
            routes[reader.GetString(0)] = new Uri(reader.GetString(1).TrimEnd('/'));
        }

        await reader.NextResultAsync(cancellationToken);
        var threadHosts = new List<(string, string)>();
        while (await reader.ReadAsync(cancellationToken))
        {
            threadHosts.Add((reader.GetString(0), reader.GetString(1)));
        }

        return new EgressPolicy(version, mode, denyInTunnel, hosts, bindings, routes, threadHosts);
    }

}
