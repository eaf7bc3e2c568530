using System.Text;
using Centaur.Sandbox.Harnesses;
using Microsoft.Extensions.Logging;

namespace Centaur.Sandbox.Setup;

/// <summary>
/// Workspace assembly (SPEC "Workspace assembly"): harness config files, the repo on branch centaur/&lt;thread-hash&gt;,
/// AGENTS.md from the prompt layers, skills, then ~/.ready. Idempotent: a restarted sandbox of the same thread keeps
/// its clone, branch and work, and only regenerates what Centaur owns.
/// </summary>
internal sealed class WorkspaceAssembler(SandboxEnvironment environment, HarnessContext context, ILogger logger, StagedWorkspace? staged = null)
{
    private const string Marker = "<!-- Assembled by Centaur from the base prompt, the org overlay and the persona; regenerated at every sandbox start. -->";

    // True when this start created the workspace with git init: it has no commits and tracks nothing, so the checks
    // below are known without starting a git process for each (tens of ms apiece on a busy host, on the claim path).
    private bool _empty;

    private SandboxSetup Setup => context.Setup;

    public async Task<bool> AssembleAsync(CancellationToken cancellationToken)
    {
        File.Delete(environment.ReadyFile);
        var env = context.ProcessEnvironment(Setup.SandboxToken);
        HarnessConfig.Write(environment, context.Endpoints, Setup);
        Runtime.StartupTrace.Mark("setup.config");
        var resumed = await CloneAsync(env, cancellationToken);
        Runtime.StartupTrace.Mark("setup.clone");
        var git = new Git(environment.Workspace, env);
        await CheckoutBranchAsync(git, cancellationToken);
        await WriteAgentsFileAsync(git, cancellationToken);
        Runtime.StartupTrace.Mark("setup.agents");
        await CopySkillsAsync(git, cancellationToken);
        Runtime.StartupTrace.Mark("setup.skills");

        Directory.CreateDirectory(environment.StateDirectory);
        await File.WriteAllTextAsync(Path.Combine(environment.StateDirectory, "setup.json"), Setup.ToJson().ToJsonString(), cancellationToken);
        await File.WriteAllTextAsync(environment.ReadyFile, DateTimeOffset.UtcNow.ToString("O"), cancellationToken);
        return resumed;
    }

    /// <summary>True when the workspace was already there (a restart of the same thread), false for a fresh clone.</summary>
    private async Task<bool> CloneAsync(IReadOnlyDictionary<string, string?> env, CancellationToken cancellationToken)
    {
        var workspace = environment.Workspace;
        if (Directory.Exists(Path.Combine(workspace, ".git")))
        {
            return true;
        }

        var git = new Git(environment.Home, env);
        if (Setup.Repo is { } repo)
        {
            Directory.CreateDirectory(workspace);
            AssemblerLog.Cloning(logger, repo);
            await git.RunAsync(cancellationToken, "clone", "--quiet", repo, workspace);
        }
        else if (staged is not null && await staged.TryMoveToAsync(workspace))
        {
            // Made before the claim; an unborn HEAD only has to name the thread's branch.
            if (!StagedWorkspace.TryPointHead(workspace, Setup.Branch))
            {
                await new Git(workspace, env).RunAsync(cancellationToken, "symbolic-ref", "HEAD", $"refs/heads/{Setup.Branch}");
            }

            _empty = true;
        }
        else
        {
            Directory.CreateDirectory(workspace);
            await git.RunAsync(cancellationToken, "init", "--quiet", "--template=", $"--initial-branch={Setup.Branch}", workspace);
            _empty = true;
        }

        return false;
    }

    private async Task CheckoutBranchAsync(Git git, CancellationToken cancellationToken)
    {
        if (_empty)
        {
            return; // HEAD already names the branch (git init --initial-branch)
        }

        var branch = Setup.Branch;
        var (hasCommits, _) = await git.TryRunAsync(cancellationToken, "rev-parse", "--verify", "--quiet", "HEAD");
        if (hasCommits != 0)
        {
            await git.RunAsync(cancellationToken, "symbolic-ref", "HEAD", $"refs/heads/{branch}");
            return;
        }

        var current = await git.RunAsync(cancellationToken, "rev-parse", "--abbrev-ref", "HEAD");
        if (current == branch)
        {
            return;
        }

        var (exists, _) = await git.TryRunAsync(cancellationToken, "show-ref", "--verify", "--quiet", $"refs/heads/{branch}");
        await git.RunAsync(cancellationToken, exists == 0 ? ["checkout", "--quiet", branch] : ["checkout", "--quiet", "-b", branch]);
    }

    /// <summary>
    /// base, then org overlay, then persona; a repo's own AGENTS.md is kept at the end. Claude Code reads CLAUDE.md,
    /// so an untracked one imports AGENTS.md. Centaur's files are hidden from git so the agent does not commit them.
    /// </summary>
    private async Task WriteAgentsFileAsync(Git git, CancellationToken cancellationToken)
    {
        // The base prompt ships with this runtime; a backend that does not send it (a pod's image has its own) gets it first.
        var layers = Setup.PromptLayers.Any(l => l.Name == "base")
            ? Setup.PromptLayers
            : [new PromptLayer("base", await File.ReadAllTextAsync(Path.Combine(environment.ContentDirectory, "AGENTS.base.md"), cancellationToken)), .. Setup.PromptLayers];

        var text = new StringBuilder().AppendLine(Marker).AppendLine();
        foreach (var layer in layers)
        {
            text.AppendLine(layer.Text.TrimEnd()).AppendLine();
        }

        var (tracked, original) = _empty ? (1, "") : await git.TryRunAsync(cancellationToken, "show", "HEAD:AGENTS.md");
        if (tracked == 0 && original.Length > 0)
        {
            text.AppendLine("## Instructions from the repository's own AGENTS.md").AppendLine().AppendLine(original);
        }

        await File.WriteAllTextAsync(Path.Combine(environment.Workspace, "AGENTS.md"), text.ToString(), cancellationToken);
        if (tracked == 0)
        {
            await git.RunAsync(cancellationToken, "update-index", "--skip-worktree", "AGENTS.md");
        }
        else
        {
            await ExcludeAsync("/AGENTS.md");
        }

        var claude = Path.Combine(environment.Workspace, "CLAUDE.md");
        var (claudeTracked, _) = _empty ? (1, "") : await git.TryRunAsync(cancellationToken, "ls-files", "--error-unmatch", "CLAUDE.md");
        if (claudeTracked != 0)
        {
            await File.WriteAllTextAsync(claude, "@AGENTS.md\n", cancellationToken);
            await ExcludeAsync("/CLAUDE.md");
        }
    }

    /// <summary>Base skills first, then each overlay's; a later skill with the same name replaces an earlier one.</summary>
    private async Task CopySkillsAsync(Git git, CancellationToken cancellationToken)
    {
        var target = Path.Combine(environment.Workspace, ".agents", "skills");
        List<string> sources = [Path.Combine(environment.ContentDirectory, "skills"), .. Setup.SkillDirectories];
        if (Setup.InlineSkills.Count > 0)
        {
            sources.Add(await WriteInlineSkillsAsync(cancellationToken));
        }

        foreach (var source in sources.Where(Directory.Exists))
        {
            foreach (var skill in Directory.EnumerateDirectories(source))
            {
                var destination = Path.Combine(target, Path.GetFileName(skill));
                if (Directory.Exists(destination))
                {
                    Directory.Delete(destination, recursive: true);
                }

                CopyDirectory(skill, destination);
            }
        }

        // Claude Code looks for project skills in .claude/skills.
        var claudeSkills = Path.Combine(environment.Workspace, ".claude", "skills");
        if (Directory.Exists(target) && !Path.Exists(claudeSkills))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(claudeSkills)!);
            File.CreateSymbolicLink(claudeSkills, Path.Combine("..", ".agents", "skills"));
        }

        var (tracked, _) = _empty ? (1, "") : await git.TryRunAsync(cancellationToken, "ls-files", "--error-unmatch", ".agents");
        if (tracked != 0)
        {
            await ExcludeAsync("/.agents/");
            await ExcludeAsync("/.claude/skills");
        }
    }

    /// <summary>The setup line's own skills as folders (replacing an earlier setup's), for the copy below.</summary>
    private async Task<string> WriteInlineSkillsAsync(CancellationToken cancellationToken)
    {
        var root = Path.Combine(environment.StateDirectory, "skills");
        if (Directory.Exists(root))
        {
            Directory.Delete(root, recursive: true);
        }

        foreach (var skill in Setup.InlineSkills)
        {
            foreach (var (path, content) in skill.Files)
            {
                var file = Path.Combine(root, skill.Name, path);
                Directory.CreateDirectory(Path.GetDirectoryName(file)!);
                await File.WriteAllBytesAsync(file, content, cancellationToken);
            }
        }

        return root;
    }

    private async Task ExcludeAsync(string pattern)
    {
        var exclude = Path.Combine(environment.Workspace, ".git", "info", "exclude");
        Directory.CreateDirectory(Path.GetDirectoryName(exclude)!);
        var existing = File.Exists(exclude) ? await File.ReadAllLinesAsync(exclude) : [];
        if (!existing.Contains(pattern))
        {
            await File.AppendAllTextAsync(exclude, pattern + "\n");
        }
    }

    private static void CopyDirectory(string source, string destination)
    {
        Directory.CreateDirectory(destination);
        foreach (var file in Directory.EnumerateFiles(source))
        {
            File.Copy(file, Path.Combine(destination, Path.GetFileName(file)), overwrite: true);
        }

        foreach (var directory in Directory.EnumerateDirectories(source))
        {
            CopyDirectory(directory, Path.Combine(destination, Path.GetFileName(directory)));
        }
    }
}

internal static partial class AssemblerLog
{
    [LoggerMessage(200, LogLevel.Information, "cloning {Repo}")]
    public static partial void Cloning(ILogger logger, string repo);

    [LoggerMessage(201, LogLevel.Warning, "staging the workspace repository failed (setup makes it instead): {Reason}")]
    public static partial void StagingFailed(ILogger logger, string reason);
}
