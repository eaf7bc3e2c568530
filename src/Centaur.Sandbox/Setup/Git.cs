using System.Diagnostics;
using System.Text;

namespace Centaur.Sandbox.Setup;

/// <summary>Runs git with the harness environment (so clones go through the egress proxy with its CA).</summary>
internal sealed class Git(string workingDirectory, IReadOnlyDictionary<string, string?> environment)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(10);

    public async Task<(int ExitCode, string Output)> TryRunAsync(CancellationToken cancellationToken, params string[] arguments)
    {
        var info = new ProcessStartInfo("git")
        {
            WorkingDirectory = Directory.Exists(workingDirectory) ? workingDirectory : "/",
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("could not start git");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        var output = new StringBuilder().Append(await stdout).Append(await stderr).ToString().Trim();
        return (process.ExitCode, output);
    }

    public async Task<string> RunAsync(CancellationToken cancellationToken, params string[] arguments)
    {
        var (code, output) = await TryRunAsync(cancellationToken, arguments);
        return code == 0 ? output : throw new SetupException("git_failed", $"git {arguments[0]} failed ({code}): {output}");
    }
}

/// <summary>A setup step failed; the code goes into the sandbox.error line so the API can say what went wrong.</summary>
internal sealed class SetupException(string code, string message) : Exception(message)
{
    public string Code { get; } = code;
}
