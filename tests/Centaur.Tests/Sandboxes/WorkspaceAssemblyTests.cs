using System.Diagnostics;
using Centaur.Api.Sandboxes;

namespace Centaur.Tests.Sandboxes;

/// <summary>Workspace assembly in a real sandbox: clone on the thread's branch, AGENTS.md layers, skills, ~/.ready.</summary>
[Collection(SandboxCollection.Name)]
public sealed class WorkspaceAssemblyTests(SandboxFixture fixture) : IAsyncLifetime
{
    private readonly List<string> _sandboxes = [];

    [Fact]
    public async Task TheRepoIsClonedOnTheThreadsBranchWithLayeredAgentsFileAndSkills()
    {
        var repo = await CreateRepoAsync();
        var thread = SandboxFixture.NewThread("assembly");
        var id = SandboxFixture.NewId();
        _sandboxes.Add(id);

        await fixture.Backend.StartAsync(new SandboxSpec(id, thread, "claude", "reviewer", repo, new Dictionary<string, string>()), TestContext.Current.CancellationToken);

        var home = fixture.Backend.ThreadHome(thread);
        var workspace = Path.Combine(home, "workspace");
        var agents = await File.ReadAllTextAsync(Path.Combine(workspace, "AGENTS.md"), TestContext.Current.CancellationToken);
        var basePrompt = agents.IndexOf("You are Centaur", StringComparison.Ordinal);
        var org = agents.IndexOf("ORG OVERLAY: Acme rules apply.", StringComparison.Ordinal);
        var persona = agents.IndexOf("PERSONA reviewer", StringComparison.Ordinal);
        var repoOwn = agents.IndexOf("REPO OWN INSTRUCTIONS", StringComparison.Ordinal);
        Assert.True(basePrompt >= 0 && basePrompt < org && org < persona && persona < repoOwn, agents);
        Assert.Equal("@AGENTS.md\n", await File.ReadAllTextAsync(Path.Combine(workspace, "CLAUDE.md"), TestContext.Current.CancellationToken));
        Assert.Equal("hello from the repo\n", await File.ReadAllTextAsync(Path.Combine(workspace, "README.md"), TestContext.Current.CancellationToken));
        Assert.True(File.Exists(Path.Combine(workspace, ".agents", "skills", "deploy-checks", "SKILL.md")));
        Assert.Contains("ORG VERSION", await File.ReadAllTextAsync(Path.Combine(workspace, ".agents", "skills", "centaur-tools", "SKILL.md"), TestContext.Current.CancellationToken), StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(home, ".ready")));
        Assert.Equal($"centaur/{LocalSandboxHash(thread)}", await GitAsync(workspace, "branch", "--show-current"));
        Assert.Equal("", await GitAsync(workspace, "status", "--porcelain"));
        Assert.Contains("disable", await File.ReadAllTextAsync(Path.Combine(home, ".claude", "settings.json"), TestContext.Current.CancellationToken), StringComparison.OrdinalIgnoreCase);
        Assert.Contains("check_for_update_on_startup = false", await File.ReadAllTextAsync(Path.Combine(home, ".codex", "config.toml"), TestContext.Current.CancellationToken), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AWarmSandboxPreparesTheEmptyRepositoryBeforeItsClaimAndTheClaimPutsItOnTheThreadsBranch()
    {
        var id = SandboxFixture.NewId();
        _sandboxes.Add(id);
        await fixture.Backend.StartAsync(new SandboxSpec(id, null, "claude", null, null, new Dictionary<string, string>()), TestContext.Current.CancellationToken);
        var thread = SandboxFixture.NewThread("staged");

        await fixture.Backend.AssignAsync(id, new SandboxSpec(id, thread, "claude", null, null, new Dictionary<string, string>()), TestContext.Current.CancellationToken);

        var home = fixture.Backend.ThreadHome(thread);
        var workspace = Path.Combine(home, "workspace");
        Assert.Equal($"centaur/{LocalSandboxHash(thread)}", await GitAsync(workspace, "branch", "--show-current"));
        Assert.Equal("", await GitAsync(workspace, "status", "--porcelain"));
        Assert.True(File.Exists(Path.Combine(workspace, ".agents", "skills", "centaur-tools", "SKILL.md")));
        Assert.False(Directory.Exists(Path.Combine(home, ".centaur-staged-workspace")), "the staged repository became the workspace");
    }

    [Fact]
    public async Task AStagedRepositoryThatASetupDoesNotUseIsRemoved()
    {
        var repo = await CreateRepoAsync();
        var thread = SandboxFixture.NewThread("unstaged");
        var id = SandboxFixture.NewId();
        _sandboxes.Add(id);

        await fixture.Backend.StartAsync(new SandboxSpec(id, thread, "claude", null, repo, new Dictionary<string, string>()), TestContext.Current.CancellationToken);

        var home = fixture.Backend.ThreadHome(thread);
        Assert.Equal("hello from the repo\n", await File.ReadAllTextAsync(Path.Combine(home, "workspace", "README.md"), TestContext.Current.CancellationToken));
        var staged = Path.Combine(home, ".centaur-staged-workspace");
        for (var attempt = 0; attempt < 100 && Directory.Exists(staged); attempt++)
        {
            await Task.Delay(50, TestContext.Current.CancellationToken); // removed in the background after ready
        }

        Assert.False(Directory.Exists(staged), "an unused staged repository is removed");
    }

    [Fact]
    public async Task AnUnknownPersonaIsRefusedWithAStableCode()
    {
        var id = SandboxFixture.NewId();

        var error = await Assert.ThrowsAsync<SandboxStartException>(() =>
            fixture.Backend.StartAsync(new SandboxSpec(id, SandboxFixture.NewThread("persona"), "claude", "no-such-persona", null, new Dictionary<string, string>()), TestContext.Current.CancellationToken));

        Assert.Equal("unknown_persona", error.Code);
        Assert.Null(await fixture.Backend.GetAsync(id, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task AnUnknownHarnessIsReportedByTheSandboxWithAStableCode()
    {
        var id = SandboxFixture.NewId();

        var error = await Assert.ThrowsAsync<SandboxStartException>(() =>
            fixture.Backend.StartAsync(new SandboxSpec(id, SandboxFixture.NewThread("harness"), "cursor", null, null, new Dictionary<string, string>()), TestContext.Current.CancellationToken));

        Assert.Equal("bad_setup", error.Code);
        Assert.Contains("unknown harness 'cursor'", error.Message, StringComparison.Ordinal);
    }

    private static string LocalSandboxHash(string thread) => Api.Threads.ThreadKey.Hash(thread);

    private async Task<string> CreateRepoAsync()
    {
        var repo = Path.Combine(fixture.Root, "repos", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(repo);
        await File.WriteAllTextAsync(Path.Combine(repo, "README.md"), "hello from the repo\n", TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(Path.Combine(repo, "AGENTS.md"), "REPO OWN INSTRUCTIONS\n", TestContext.Current.CancellationToken);
        await GitAsync(repo, "init", "-q", "-b", "main");
        await GitAsync(repo, "-c", "user.name=t", "-c", "user.email=t@t", "add", ".");
        await GitAsync(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init");
        return repo;
    }

    private static async Task<string> GitAsync(string directory, params string[] args)
    {
        var info = new ProcessStartInfo("git") { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var git = Process.Start(info)!;
        var output = await git.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        await git.WaitForExitAsync(TestContext.Current.CancellationToken);
        Assert.True(git.ExitCode == 0, $"git {string.Join(' ', args)}: {await git.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken)}");
        return output.Trim();
    }

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        foreach (var id in _sandboxes)
        {
            await fixture.Backend.StopAsync(id, CancellationToken.None);
        }
    }
}
