using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Aspire.Hosting;

public static class LocalPostgresExtensions
{
    // $1 = the port to listen on. Env: PG_BIN, PGDATA, PG_PASSWORD, PG_DB, PG_EPHEMERAL, PG_RUNAS.
    // postgres refuses to run as root, so as root every binary runs as the postgres OS user (setpriv execs: no
    // extra process, no PAM). stderr goes to stdout because Aspire logs stderr lines as errors.
    private const string Script = """
        set -eu
        exec 2>&1
        if [ ! -s "$PGDATA/PG_VERSION" ]; then
          mkdir -p "$PGDATA"; chmod 700 "$PGDATA"
          pw="$(dirname "$PGDATA")/.$(basename "$PGDATA").pw"; (umask 077; printf '%s\n' "$PG_PASSWORD" > "$pw")
          if [ -n "$PG_RUNAS" ]; then chown postgres:postgres "$PGDATA" "$pw"; fi
          $PG_RUNAS "$PG_BIN/initdb" -D "$PGDATA" -U postgres -A scram-sha-256 --pwfile="$pw" -E UTF8 --no-instructions > /dev/null
          rm -f "$pw"
        fi
        # The database is created on every start if missing, so a renamed database or a half-finished first
        # start heals itself. Single-user mode needs no port and no password.
        if ! echo "SELECT 'has-db' FROM pg_database WHERE datname = '$PG_DB';" \
             | $PG_RUNAS "$PG_BIN/postgres" --single -D "$PGDATA" -F postgres | grep -q has-db; then
          echo "CREATE DATABASE \"$PG_DB\";" | $PG_RUNAS "$PG_BIN/postgres" --single -D "$PGDATA" -F postgres > /dev/null
        fi
        $PG_RUNAS "$PG_BIN/postgres" -D "$PGDATA" -p "$1" -h 127.0.0.1 -k "" -F -c max_connections=200 &
        pid=$!
        trap 'kill -INT $pid 2>/dev/null || true' INT TERM   # SIGINT = postgres "fast" shutdown
        wait $pid || true; wait $pid || true
        if [ "$PG_EPHEMERAL" = 1 ]; then rm -rf "$PGDATA"; fi
        """;

    /// <summary>
    /// Adds PostgreSQL from the machine's binaries. Data lives in <c>LocalPostgres:DataDirectory</c> (default: the
    /// AppHost's state directory) and survives restarts; <c>LocalPostgres:Ephemeral=true</c> deletes it on stop.
    /// </summary>
    public static IResourceBuilder<LocalPostgresResource> AddLocalPostgres(
        this IDistributedApplicationBuilder builder, string name, string databaseName)
    {
        var config = builder.Configuration.GetSection("LocalPostgres");
        var binDir = config["BinDir"] ?? FindBinDirectory();
        var ephemeral = config.GetValue("Ephemeral", false);
        var dataDirectory = config["DataDirectory"] ?? DefaultDataDirectory(builder, name);
        EnsureTraversableByPostgres(dataDirectory);

        var password = builder.AddParameter($"{name}-password",
            new GenerateParameterDefault { MinLength = 22, Special = false }, secret: true, persist: true);
        var resource = new LocalPostgresResource(name, Path.GetTempPath(), password.Resource, databaseName);

        // Healthy (and WaitFor releases) only once the database itself accepts queries.
        string? connectionString = null;
        builder.Eventing.Subscribe<ConnectionStringAvailableEvent>(resource, async (_, ct) =>
            connectionString = await resource.ConnectionStringExpression.GetValueAsync(ct));
        var healthCheckKey = $"{name}_check";
        builder.Services.AddHealthChecks().AddNpgSql(
            _ => connectionString ?? throw new InvalidOperationException("the connection string is not available yet"),
            name: healthCheckKey);

        return builder.AddResource(resource)
            .WithEndpoint(name: LocalPostgresResource.EndpointName, scheme: "tcp")
            .WithArgs(context =>
            {
                context.Args.Add("-c");
                context.Args.Add(Script);
                context.Args.Add("centaur-postgres");
                context.Args.Add(resource.PrimaryEndpoint.Property(EndpointProperty.TargetPort));
            })
            .WithEnvironment("PG_BIN", binDir)
            .WithEnvironment("PGDATA", dataDirectory)
            .WithEnvironment("PG_DB", databaseName)
            .WithEnvironment("PG_EPHEMERAL", ephemeral ? "1" : "0")
            .WithEnvironment("PG_PASSWORD", password)
            .WithEnvironment("PG_RUNAS", Environment.IsPrivilegedProcess ? "setpriv --reuid=postgres --regid=postgres --init-groups" : "")
            .WithHealthCheck(healthCheckKey);
    }

    internal static string FindBinDirectory()
    {
        const string Root = "/usr/lib/postgresql";
        var bin = Directory.Exists(Root)
            ? Directory.GetDirectories(Root)
                .Select(d => Path.Combine(d, "bin"))
                .Where(d => File.Exists(Path.Combine(d, "postgres")) && File.Exists(Path.Combine(d, "initdb")))
                .OrderByDescending(d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), out var v) ? v : 0)
                .FirstOrDefault()
            : null;
        return bin ?? throw new InvalidOperationException(
            $"PostgreSQL binaries were not found under {Root}/<version>/bin. Install them with: sudo apt-get install -y postgresql " +
            "(or set Postgres:Mode=container|external, or LocalPostgres:BinDir).");
    }

    private static string DefaultDataDirectory(IDistributedApplicationBuilder builder, string name)
    {
        return Path.Combine(CentaurState.DirectoryOf(builder), name);
    }

    /// <summary>
    /// As root, postgres runs as uid postgres, which must be able to reach its data folder: a checkout under /root
    /// (mode 700) cannot work, and saying so beats postgres' own "permission denied" deep in the log.
    /// </summary>
    private static void EnsureTraversableByPostgres(string dataDirectory)
    {
        if (!Environment.IsPrivilegedProcess || OperatingSystem.IsWindows())
        {
            return;
        }

        var parent = Path.GetDirectoryName(dataDirectory)!;
        Directory.CreateDirectory(parent);
        for (var dir = new DirectoryInfo(parent); dir is not null; dir = dir.Parent)
        {
            if ((dir.UnixFileMode & UnixFileMode.OtherExecute) == 0)
            {
                throw new InvalidOperationException(
                    $"The PostgreSQL data folder {dataDirectory} is not reachable by the postgres user because {dir.FullName} is not " +
                    "world-traversable. Set Centaur:StateDirectory (or LocalPostgres:DataDirectory) to a folder under /var/lib or /srv.");
            }
        }
    }
}
