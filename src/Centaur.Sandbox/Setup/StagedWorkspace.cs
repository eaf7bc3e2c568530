using System.ComponentModel;
using Microsoft.Extensions.Logging;

namespace Centaur.Sandbox.Setup;

/// <summary>
/// A new thread without a repo starts on an empty git repository, and <c>git init</c> is the one process that setup
/// would start for it. So the runtime makes that repository as soon as it runs, before any thread exists (a warm
/// sandbox waiting for its claim; on a cold start, while the host's setup line is on its way), and the setup only
/// moves it into place and points HEAD at the thread's branch. A setup that does not use it (a clone, a returning
/// thread's workspace) removes it.
/// </summary>
internal sealed class StagedWorkspace
{
    private readonly string _path;
    private readonly Task<bool> _made;

    private StagedWorkspace(string path, Task<bool> made)
    {
        _path = path;
        _made = made;
    }

    /// <summary>Starts <c>git init</c> in the background; null when the home already has a workspace.</summary>
    public static StagedWorkspace? Start(SandboxEnvironment environment, ILogger logger)
    {
        if (Directory.Exists(Path.Combine(environment.Workspace, ".git")))
        {
            return null;
        }

        var path = Path.Combine(environment.Home, ".centaur-staged-workspace");
        return new StagedWorkspace(path, MakeAsync(environment.Home, path, logger));
    }

    /// <summary>
    /// Moves the staged repository to <paramref name="workspace"/> (a rename on the same file system); false when
    /// there is none, so the caller makes one itself.
    /// </summary>
    public async Task<bool> TryMoveToAsync(string workspace)
    {
        if (!await _made || !File.Exists(Path.Combine(_path, ".git", "HEAD")))
        {
            return false;
        }

        try
        {
            if (Directory.Exists(workspace))
            {
                if (Directory.EnumerateFileSystemEntries(workspace).Any())
                {
                    return false;
                }

                Directory.Delete(workspace);
            }

            Directory.Move(_path, workspace);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// Points the unborn HEAD of a repository that <c>git init</c> just made at <paramref name="branch"/>, the way
    /// <c>git symbolic-ref</c> does it for the files ref backend (HEAD.lock, then a rename over HEAD), without a
    /// process on the claim path. False when HEAD is not such a file (another ref backend): then ask git.
    /// </summary>
    public static bool TryPointHead(string workspace, string branch)
    {
        var head = Path.Combine(workspace, ".git", "HEAD");
        if (Directory.Exists(Path.Combine(workspace, ".git", "reftable")) || !File.Exists(head) || !File.ReadAllText(head).StartsWith("ref: refs/heads/", StringComparison.Ordinal))
        {
            return false;
        }

        var lockFile = head + ".lock";
        using (var stream = new FileStream(lockFile, FileMode.CreateNew, FileAccess.Write))
        {
            stream.Write(System.Text.Encoding.UTF8.GetBytes($"ref: refs/heads/{branch}\n"));
        }

        File.Move(lockFile, head, overwrite: true);
        return true;
    }

    /// <summary>Removes an unused staged repository, off the setup's path (best effort).</summary>
    public void Discard() => _ = Task.Run(async () =>
    {
        await _made;
        try
        {
            if (Directory.Exists(_path))
            {
                Directory.Delete(_path, recursive: true);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A leftover is harmless: the next start of this thread's sandbox replaces it.
        }
    });

    private static async Task<bool> MakeAsync(string home, string path, ILogger logger)
    {
        await Task.Yield();
        try
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true); // left by an earlier start: begin clean
            }

            // No template: the sample hooks it would copy are never used in a sandbox.
            var (code, output) = await new Git(home, new Dictionary<string, string?>()).TryRunAsync(CancellationToken.None, "init", "--quiet", "--template=", path);
            if (code != 0)
            {
                AssemblerLog.StagingFailed(logger, output);
            }

            return code == 0;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException or Win32Exception)
        {
            AssemblerLog.StagingFailed(logger, ex.Message);
            return false;
        }
    }
}
