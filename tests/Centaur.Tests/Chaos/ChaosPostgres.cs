using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;
using Centaur.Tests.Infrastructure;

namespace Centaur.Tests.Chaos;

/// <summary>
/// A PostgreSQL server of the chaos suite's own (the Debian binaries, a throw-away data folder, a fixed port), so a
/// test can kill it and start it again without disturbing the AppHost the other collections share. Run as the
/// postgres user when the tests run as root, as bench/controlplane.sh does.
/// </summary>
public sealed class ChaosPostgres : IAsyncDisposable
{
    private static readonly TimeSpan s_startTimeout = TimeSpan.FromSeconds(30);
    private readonly string _bin;
    private readonly string _work = Path.Combine(Path.GetTempPath(), $"centaur-chaos-pg-{Guid.NewGuid():N}");
    private readonly ConcurrentQueue<string> _log = new();
    private Process? _postmaster;

    private ChaosPostgres(string bin)
    {
        _bin = bin;
        Port = ServiceProcess.FreePort();
    }

    public int Port { get; }

    public string RecentLog => string.Join('\n', _log);

    private string DataDirectory => Path.Combine(_work, "pg");

    public static async Task<ChaosPostgres> StartAsync(CancellationToken cancellationToken)
    {
        var bin = Directory.EnumerateDirectories("/usr/lib/postgresql").OrderBy(d => Version.Parse(Path.GetFileName(d) + ".0")).Last();
        var postgres = new ChaosPostgres(Path.Combine(bin, "bin"));
        Directory.CreateDirectory(postgres._work);
        if (Environment.UserName == "root")
        {
            await RunAsync("chown", ["postgres:postgres", postgres._work], cancellationToken);
        }

        var (initdb, prefix) = AsPostgres(Path.Combine(postgres._bin, "initdb"));
        await RunAsync(initdb, [.. prefix, "-D", postgres.DataDirectory, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-instructions"],
            cancellationToken);
        await postgres.StartServerAsync(cancellationToken);
        return postgres;
    }

    public string ConnectionString(string database) =>
        new NpgsqlConnectionStringBuilder { Host = "127.0.0.1", Port = Port, Username = "postgres", Database = database }.ConnectionString;

    public async Task<string> CreateDatabaseAsync(CancellationToken cancellationToken)
    {
        var name = $"chaos_{Guid.NewGuid():N}";
        // Unpooled: a pooled connection may be one the last restart broke.
        await using var connection = new NpgsqlConnection(ConnectionString("postgres") + ";Pooling=false");
        await connection.OpenAsync(cancellationToken);
        await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
        await create.ExecuteNonQueryAsync(cancellationToken);
        return ConnectionString(name);
    }

    /// <summary>
    /// SIGKILL for the postmaster and every backend (a crashed database host), then the same server started again
    /// on the same port and data folder after <paramref name="downFor"/>: it runs crash recovery before it accepts
    /// connections.
    /// </summary>
    public async Task CrashAndRestartAsync(TimeSpan downFor, CancellationToken cancellationToken)
    {
        Kill();
        await Task.Delay(downFor, cancellationToken);
        await StartServerAsync(cancellationToken);
    }

    public void Kill()
    {
        if (_postmaster is { HasExited: false } postmaster)
        {
            postmaster.Kill(entireProcessTree: true);
            postmaster.WaitForExit();
        }
    }

    private async Task StartServerAsync(CancellationToken cancellationToken)
    {
        var (program, prefix) = AsPostgres(Path.Combine(_bin, "postgres"));
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in (string[])[.. prefix, "-D", DataDirectory, "-p", $"{Port}", "-h", "127.0.0.1", "-k", "",
            "-c", "max_connections=200", "-c", "fsync=off"])
        {
            start.ArgumentList.Add(argument);
        }

        _postmaster?.Dispose();
        _postmaster = Process.Start(start)!;
        _postmaster.OutputDataReceived += (_, e) => Remember(e.Data);
        _postmaster.ErrorDataReceived += (_, e) => Remember(e.Data);
        _postmaster.BeginOutputReadLine();
        _postmaster.BeginErrorReadLine();

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(s_startTimeout);
        while (true)
        {
            if (_postmaster.HasExited)
            {
                throw new InvalidOperationException($"postgres exited with {_postmaster.ExitCode}:\n{RecentLog}");
            }

            try
            {
                await using var connection = new NpgsqlConnection(ConnectionString("postgres") + ";Pooling=false;Timeout=2");
                await connection.OpenAsync(timeout.Token);
                return;
            }
            catch (NpgsqlException)
            {
                // starting up or recovering
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"postgres did not accept connections within {s_startTimeout}:\n{RecentLog}");
            }

            await Task.Delay(100, timeout.Token);
        }
    }

    /// <summary>Postgres refuses to run as root: then the program runs through setpriv as the postgres user.</summary>
    private static (string Program, string[] Prefix) AsPostgres(string program) => Environment.UserName == "root"
        ? ("setpriv", ["--reuid=postgres", "--regid=postgres", "--init-groups", "--", program])
        : (program, []);

    private void Remember(string? line)
    {
        if (line is null)
        {
            return;
        }

        _log.Enqueue(line);
        while (_log.Count > 200 && _log.TryDequeue(out _))
        {
        }
    }

    private static async Task RunAsync(string program, string[] arguments, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} exited with {process.ExitCode}:\n{await output}\n{await error}");
        }
    }


    public ValueTask DisposeAsync()
    {
        Kill();
        _postmaster?.Dispose();
        try
        {
            Directory.Delete(_work, recursive: true);
        }
        catch (IOException)
        {
            // best effort: /tmp
        }

        return ValueTask.CompletedTask;
    }
}
