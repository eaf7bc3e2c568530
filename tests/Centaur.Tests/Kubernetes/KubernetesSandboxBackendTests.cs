using System.Text;
using System.Text.Json.Nodes;
using Centaur.Api.Auth;
using Centaur.Api.Sandboxes;
using Centaur.Api.Sandboxes.Kubernetes;
using Centaur.Tests.Fakes.FakeKubeApi;
using Centaur.Tests.Infrastructure;
using k8s;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Centaur.Tests.Kubernetes;

/// <summary>The Kubernetes backend's whole lifecycle against a fake API server whose pods are real local processes.</summary>
public sealed class KubernetesSandboxBackendTests : IAsyncLifetime
{
    private const string Ns = "centaur-sandboxes";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private readonly List<IDisposable> _clients = [];
    private FakeKubeApiServer _fake = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _fake = await FakeKubeApiServer.StartAsync();

    public async ValueTask DisposeAsync()
    {
        _clients.ForEach(c => c.Dispose());
        await _fake.DisposeAsync();
    }

    [Fact]
    public async Task SpawnCreatesOneHardenedPodForTheThreadAndReturnsWhenItIsReady()
    {
        var (backend, _) = Backend();

        var info = await backend.StartAsync(Spec("sbx-spawn", "slack:C1:1700000000.000100", ("ANTHROPIC_API_KEY", "centaur-placeholder:anthropic")), Ct);

        Assert.Equal(("sbx-spawn", SandboxState.Ready, "slack:C1:1700000000.000100"), (info.SandboxId, info.State, info.ThreadKey));
        var pod = _fake.GetPod(Ns, "sbx-spawn")!;
        Assert.Equal("centaur-sandbox", pod.Metadata.Labels["app.kubernetes.io/name"]);
        Assert.Equal(SandboxLabels.HashThreadKey("slack:C1:1700000000.000100"), pod.Metadata.Labels["centaur.dev/thread-hash"]);
        Assert.Matches("^[0-9a-f]{16}$", pod.Metadata.Labels["centaur.dev/generation"]);
        Assert.False(pod.Spec.AutomountServiceAccountToken);
        Assert.True(pod.Spec.SecurityContext.RunAsNonRoot);
        var container = Assert.Single(pod.Spec.Containers);
        Assert.Equal(["centaur-sandbox"], container.Command);
        Assert.Equal((true, false), (container.Stdin, container.Tty));
        Assert.Equal((true, false), (container.SecurityContext.ReadOnlyRootFilesystem, container.SecurityContext.AllowPrivilegeEscalation));
        Assert.Equal(["ALL"], container.SecurityContext.Capabilities.Drop);
        Assert.Equal("4Gi", container.Resources.Limits["memory"].ToString());
        Assert.Contains(container.VolumeMounts, m => m.Name == "home" && m.MountPath == "/home/sandbox");
        Assert.NotNull(Assert.Single(pod.Spec.Volumes, v => v.Name == "home").EmptyDir);
        Assert.Equal("centaur-proxy-ca", Assert.Single(pod.Spec.Volumes, v => v.Name == "proxy-ca").ConfigMap.Name);
        var env = container.Env.ToDictionary(e => e.Name);
        Assert.Equal("centaur-placeholder:anthropic", env["ANTHROPIC_API_KEY"].Value);
        Assert.Equal("http://ironproxy.centaur.svc:8080", env["HTTPS_PROXY"].Value);
        Assert.Equal("1", env["NODE_USE_ENV_PROXY"].Value);
        Assert.Equal("/etc/centaur/proxy-ca/ca.crt", env["SSL_CERT_FILE"].Value);
        Assert.Equal("metadata.name", env["CENTAUR_SANDBOX_ID"].ValueFrom.FieldRef.FieldPath);
    }

    [Fact]
    public async Task AThreadsPodIsSetUpBeforeSpawnReturnsAndALineRoundTripsOverTheAttachWire()
    {
        var (backend, _) = Backend();
        var info = await backend.StartAsync(Spec("sbx-wire", "cli:wire"), Ct);
        Assert.True(await backend.IsWorkspaceReadyAsync(info.SandboxId, Ct)); // the backend sent sandbox.setup and saw sandbox.ready
        var setup = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(_fake.HomeOf(Ns, "sbx-wire"), ".setup-line"), Ct))!;
        Assert.Equal(("cli:wire", "claude", 1800.0), (setup["thread_key"]!.GetValue<string>(), setup["harness"]!.GetValue<string>(), setup["turn_timeout_seconds"]!.GetValue<double>()));
        Assert.Empty(setup["prompt_layers"]!.AsArray()); // no overlay here: the pod's own base prompt only
        // Only over the wire, never in the pod spec; bound to the pod's IP, so IronProxy refuses it from anywhere else.
        var token = ApiProcess.ReadSandboxToken(setup["sandbox_token"]!.GetValue<string>());
        Assert.Equal(("cli:wire", "sbx-wire", "127.0.0.1"), (token.ThreadKey, token.SandboxId, token.Address));

        await using var wire = await backend.AttachAsync(info.SandboxId, Ct);
        await using var lines = wire.ReadAllAsync(Ct).GetAsyncEnumerator(Ct);
        var turnToken = new SandboxToken("cli:wire", "sbx-wire", DateTimeOffset.UtcNow.AddHours(1)).Sign(Encoding.UTF8.GetBytes(ApiProcess.SandboxTokenKey));
        await wire.SendAsync(new JsonObject { ["type"] = "turn.start", ["turn_id"] = 1, ["text"] = "hello over the wire", ["sandbox_token"] = turnToken }, Ct);
        var assistant = await NextAsync(lines);
        var done = await NextAsync(lines);
        // A turn's fresh token (the control plane knows no address) reaches the pod bound to the pod's IP as well.
        var turnLine = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(_fake.HomeOf(Ns, "sbx-wire"), ".turn-line"), Ct))!;
        var sent = ApiProcess.ReadSandboxToken(turnLine["sandbox_token"]!.GetValue<string>());
        Assert.Equal(("cli:wire", "127.0.0.1"), (sent.ThreadKey, sent.Address));

        Assert.Equal("assistant", assistant["type"]!.GetValue<string>());
        Assert.Equal("turn.done", done["type"]!.GetValue<string>());
        Assert.Equal(1, done["turn_id"]!.GetValue<int>());
        Assert.Equal("echo: hello over the wire", done["result"]!.GetValue<string>());
        Assert.Equal("sbx-wire", done["sandbox_id"]!.GetValue<string>()); // the downward API gave the process its pod name
        Assert.Equal("http://ironproxy.centaur.svc:8080", done["proxy"]!.GetValue<string>());
        Assert.True(await backend.IsWorkspaceReadyAsync(info.SandboxId, Ct));
    }

    [Fact]
    public async Task APodDeletedMidTurnEndsTheWireAndTheTurnReplaysIntoANewPod()
    {
        var (backend, _) = Backend();
        var first = await backend.StartAsync(Spec("sbx-doomed", "cli:replay", ("SLOW_TURNS", "1")), Ct);
        var turn = new JsonObject { ["type"] = "turn.start", ["turn_id"] = 7, ["text"] = "slow" };
        var seen = new List<string>();
        await using (var wire = await backend.AttachAsync(first.SandboxId, Ct))
        {
            await wire.SendAsync(new JsonObject { ["type"] = "sandbox.setup", ["thread_key"] = "cli:replay" }, Ct);
            await wire.SendAsync(turn.DeepClone().AsObject(), Ct);
            var reading = Task.Run(async () =>
            {
                await foreach (var line in wire.ReadAllAsync(Ct))
                {
                    seen.Add(line["type"]!.GetValue<string>());
                    if (seen.Contains("sandbox.ready"))
                    {
                        await _fake.DeletePodAsync(Ns, "sbx-doomed"); // the node dies mid-turn
                    }
                }
            }, Ct);
            await reading.WaitAsync(Patience, Ct);
            await Assert.ThrowsAsync<IOException>(() => wire.SendAsync(turn.DeepClone().AsObject(), Ct));
        }

        Assert.Equal(["sandbox.ready"], seen); // the wire ended without turn.done
        Assert.Null(await backend.GetAsync(first.SandboxId, Ct));
        await Assert.ThrowsAsync<SandboxGoneException>(() => backend.AttachAsync(first.SandboxId, Ct));
        Assert.DoesNotContain(await backend.ListAsync(Ct), s => s.SandboxId == first.SandboxId);

        var second = await backend.StartAsync(Spec("sbx-replacement", "cli:replay"), Ct);
        await using var replay = await backend.AttachAsync(second.SandboxId, Ct);
        await using var lines = replay.ReadAllAsync(Ct).GetAsyncEnumerator(Ct);
        await replay.SendAsync(new JsonObject { ["type"] = "sandbox.setup", ["thread_key"] = "cli:replay" }, Ct);
        await NextAsync(lines);
        await replay.SendAsync(turn, Ct);
        await NextAsync(lines);
        var done = await NextAsync(lines);
        Assert.Equal((7, "sbx-replacement"), (done["turn_id"]!.GetValue<int>(), done["sandbox_id"]!.GetValue<string>()));
    }

    [Fact]
    public async Task APodsWorkspaceGetsTheBasePromptTheOrgOverlayThePersonaAndTheOverlaysSkillsColdOrClaimedWarm()
    {
        // Pods run the real Centaur.Sandbox runtime here, so the assertions are on the workspace it assembles.
        _fake.Runtime.MainCommand = [Path.Combine(AppContext.BaseDirectory, "sandbox-runtime", "centaur-sandbox")];
        var overlay = Directory.CreateTempSubdirectory("centaur-k8s-overlay-").FullName;
        Directory.CreateDirectory(Path.Combine(overlay, "prompts"));
        await File.WriteAllTextAsync(Path.Combine(overlay, "prompts", "AGENTS.md"), "ORG RULE: cite the ticket.", Ct);
        Directory.CreateDirectory(Path.Combine(overlay, "personas"));
        await File.WriteAllTextAsync(Path.Combine(overlay, "personas", "auditor.json"), """{"description": "Audits", "prompt_file": "auditor.md"}""", Ct);
        await File.WriteAllTextAsync(Path.Combine(overlay, "personas", "auditor.md"), "PERSONA auditor: check every number.", Ct);
        Directory.CreateDirectory(Path.Combine(overlay, "skills", "release", "scripts"));
        await File.WriteAllTextAsync(Path.Combine(overlay, "skills", "release", "SKILL.md"), "---\nname: release\n---\nHow we release.", Ct);
        await File.WriteAllTextAsync(Path.Combine(overlay, "skills", "release", "scripts", "tag.sh"), "git tag v1\n", Ct);
        using var services = new ServiceCollection().BuildServiceProvider();
        using var catalog = new Centaur.Api.Overlay.ExtensionCatalog(services, Options.Create(new Centaur.Api.Overlay.OverlayOptions { Path = overlay }),
            TimeProvider.System, NullLogger<Centaur.Api.Overlay.ExtensionCatalog>.Instance);
        var (backend, pool) = Backend(o => o.WarmPoolSize = 1, new Centaur.Api.Tools.SandboxPrompts(catalog));

        var cold = await backend.StartAsync(new SandboxSpec("sbx-layers", "cli:cold-layers", "claude", "auditor", null, new Dictionary<string, string>()), Ct);
        AssertWorkspace(_fake.HomeOf(Ns, cold.SandboxId));
        var unknown = await Assert.ThrowsAsync<SandboxStartException>(() =>
            backend.StartAsync(new SandboxSpec("sbx-nobody", "cli:nobody", "claude", "nobody", null, new Dictionary<string, string>()), Ct));
        Assert.Equal("unknown_persona", unknown.Code);
        await Eventually(() => _fake.GetPod(Ns, "sbx-nobody") is null); // a pod whose setup failed is not left behind

        await pool.RefillAsync(Ct);
        var warm = Assert.Single(_fake.Pods(Ns), p => p.Metadata.Labels[SandboxLabels.Pool] == "warm").Metadata.Name;
        await Eventually(() => _fake.GetPod(Ns, warm) is { } p && SandboxPods.IsReady(p));
        Assert.False(File.Exists(Path.Combine(_fake.HomeOf(Ns, warm), "workspace", "AGENTS.md"))); // thread-agnostic until claimed
        var claimed = await backend.TryClaimWarmAsync("cli:warm-layers", Ct);
        await using var wire = await backend.AttachAsync(claimed!.SandboxId, Ct);
        await using var lines = wire.ReadAllAsync(Ct).GetAsyncEnumerator(Ct);
        // What the control plane sends after a warm claim: the thread and its persona, no layers; the backend adds them.
        await wire.SendAsync(new JsonObject { ["type"] = "sandbox.setup", ["thread_key"] = "cli:warm-layers", ["harness"] = "claude", ["persona"] = "auditor" }, Ct);
        var ready = await NextAsync(lines);
        while (ready["type"]!.GetValue<string>() == "sandbox.started")
        {
            ready = await NextAsync(lines); // the runtime may still have been starting when the pod became Ready
        }

        Assert.Equal("sandbox.ready", ready["type"]!.GetValue<string>());
        AssertWorkspace(_fake.HomeOf(Ns, warm));

        static void AssertWorkspace(string home)
        {
            var workspace = Path.Combine(home, "workspace");
            var agents = File.ReadAllText(Path.Combine(workspace, "AGENTS.md"));
            var (basePrompt, org, persona, tools) = (agents.IndexOf("You are Centaur", StringComparison.Ordinal), agents.IndexOf("ORG RULE: cite the ticket.", StringComparison.Ordinal),
                agents.IndexOf("PERSONA auditor: check every number.", StringComparison.Ordinal), agents.IndexOf("## Tools", StringComparison.Ordinal));
            Assert.True(basePrompt >= 0 && basePrompt < org && org < persona && persona < tools, agents);
            Assert.Equal("git tag v1\n", File.ReadAllText(Path.Combine(workspace, ".agents", "skills", "release", "scripts", "tag.sh")));
            Assert.True(File.Exists(Path.Combine(workspace, ".agents", "skills", "release", "SKILL.md")));
        }
    }

    [Fact]
    public async Task ListSeesAssignedSandboxesOnlyAndStopIsIdempotent()
    {
        var (backend, pool) = Backend(o => o.WarmPoolSize = 1);
        await pool.RefillAsync(Ct);
        await backend.StartAsync(Spec("sbx-one", "cli:one", ("X", "1")), Ct);
        await backend.StartAsync(Spec("cli:two/not a dns label", "cli:two", ("X", "1")), Ct);

        var listed = await backend.ListAsync(Ct);

        Assert.Equal(["cli:one", "cli:two"], listed.Select(s => s.ThreadKey).Order(StringComparer.Ordinal));
        Assert.Contains(listed, s => s.SandboxId == "cli:two/not a dns label");
        Assert.Equal(3, _fake.Pods(Ns).Count); // the warm pod exists but is the pool's, not a thread's
        await backend.StopAsync("cli:two/not a dns label", Ct);
        await backend.StopAsync("cli:two/not a dns label", Ct);
        await backend.StopAsync("never-existed", Ct);
        Assert.Null(await backend.GetAsync("cli:two/not a dns label", Ct));
        await Eventually(() => _fake.Pods(Ns).Count == 2);
    }

    [Fact]
    public async Task TwoReplicasRacingForOneWarmPodYieldExactlyOneWinner()
    {
        var (first, pool) = Backend(o => o.WarmPoolSize = 1);
        var (second, _) = Backend(o => o.WarmPoolSize = 1);
        await pool.RefillAsync(Ct);
        var warm = Assert.Single(_fake.Pods(Ns)).Metadata.Name;
        await Eventually(() => _fake.GetPod(Ns, warm)?.Status.Phase == "Running");

        _fake.HoldLists(2); // both replicas see the same pod at the same resourceVersion before either claims
        var claims = await Task.WhenAll(
            first.TryClaimWarmAsync("slack:C1:1.1", Ct),
            second.TryClaimWarmAsync("slack:C1:2.2", Ct));

        var winner = Assert.Single(claims, c => c is not null)!;
        Assert.Equal((warm, SandboxState.Ready), (winner.SandboxId, winner.State));
        Assert.Equal(1, _fake.PatchConflicts);
        var pod = _fake.GetPod(Ns, warm)!;
        Assert.Equal(winner.ThreadKey, pod.Metadata.Annotations["centaur.dev/thread-key"]);
        Assert.Equal(("assigned", SandboxLabels.HashThreadKey(winner.ThreadKey!)), (pod.Metadata.Labels["centaur.dev/pool"], pod.Metadata.Labels["centaur.dev/thread-hash"]));
        Assert.Equal(winner, Assert.Single(await first.ListAsync(Ct))); // claimed: now a thread's sandbox, no longer the pool's
    }

    [Fact]
    public async Task AClaimedWarmPodCarriesTheWireLikeAColdOne()
    {
        var (backend, pool) = Backend(o => (o.WarmPoolSize, o.PoolEnvironment) = (1, new() { ["ANTHROPIC_API_KEY"] = "centaur-placeholder:anthropic-api-key" }));
        Assert.Null(await backend.TryClaimWarmAsync("cli:early", Ct)); // nothing in the pool yet
        await pool.RefillAsync(Ct);
        var warm = Assert.Single(_fake.Pods(Ns)).Metadata.Name;
        await Eventually(() => _fake.GetPod(Ns, warm)?.Status.Phase == "Running");
        Assert.Equal(0, backend.WarmCount); // created but not yet seen ready
        await pool.RefillAsync(Ct);
        Assert.Equal(1, backend.WarmCount); // the warm pool gauge

        var claimed = await backend.TryClaimWarmAsync("cli:warm", Ct);
        Assert.Equal(0, backend.WarmCount);
        await using var wire = await backend.AttachAsync(claimed!.SandboxId, Ct);
        await using var lines = wire.ReadAllAsync(Ct).GetAsyncEnumerator(Ct);
        await wire.SendAsync(new JsonObject { ["type"] = "sandbox.setup", ["thread_key"] = "cli:warm" }, Ct);
        await NextAsync(lines);
        await wire.SendAsync(new JsonObject { ["type"] = "turn.start", ["turn_id"] = 1, ["text"] = "warm" }, Ct);
        await NextAsync(lines);

        Assert.Equal((warm, "echo: warm"), (claimed.SandboxId, (await NextAsync(lines))["result"]!.GetValue<string>()));
        Assert.Contains(_fake.GetPod(Ns, warm)!.Spec.Containers[0].Env, e => e.Name == "ANTHROPIC_API_KEY" && e.Value == "centaur-placeholder:anthropic-api-key");
        await pool.RefillAsync(Ct);
        Assert.Equal(2, _fake.Pods(Ns).Count); // the pool refilled behind the claim
    }

    [Fact]
    public async Task WarmPodsLeftByAPreviousProcessAreAdoptedAndRetiredWhenTheTemplateChanges()
    {
        var (_, before) = Backend(o => o.WarmPoolSize = 2);
        await before.RefillAsync(Ct);
        var original = Names();

        var (_, afterRestart) = Backend(o => o.WarmPoolSize = 2);
        await afterRestart.RefillAsync(Ct);
        Assert.Equal(original, Names());

        var (_, newImage) = Backend(o => (o.WarmPoolSize, o.Image) = (2, "centaur-sandbox:v2"));
        await newImage.RefillAsync(Ct);
        await Eventually(() => _fake.Pods(Ns).Count == 2 && !Names().Intersect(original).Any());
        Assert.All(_fake.Pods(Ns), p => Assert.Equal(newImage.Generation, p.Metadata.Labels["centaur.dev/generation"]));
        Assert.NotEqual(before.Generation, newImage.Generation);

        List<string> Names() => [.. _fake.Pods(Ns).Where(p => p.Metadata.DeletionTimestamp is null).Select(p => p.Metadata.Name).Order(StringComparer.Ordinal)];
    }

    [Fact]
    public async Task AtCapacityTheOldestIdlePodMakesRoomAndBusyPodsAreNeverEvicted()
    {
        var (backend, pool) = Backend(o => (o.WarmPoolSize, o.MaxSandboxes) = (2, 2));
        await pool.RefillAsync(Ct);
        var warm = _fake.Pods(Ns).OrderBy(p => p.Metadata.CreationTimestamp).ThenBy(p => p.Metadata.Name).Select(p => p.Metadata.Name).ToList();
        Assert.Equal(2, warm.Count);

        // A cold start at the limit: the oldest warm pod makes room.
        await backend.StartAsync(Spec("sbx-cold", "cli:cold", ("PERSONA_HINT", "x")), Ct);
        await Eventually(() => _fake.GetPod(Ns, warm[0]) is null);
        Assert.NotNull(_fake.GetPod(Ns, warm[1]));

        await backend.StartAsync(Spec("sbx-cold-2", "cli:cold-2", ("PERSONA_HINT", "x")), Ct);
        await using var busy1 = await backend.AttachAsync("sbx-cold", Ct);
        await using var busy2 = await backend.AttachAsync("sbx-cold-2", Ct);
        var full = await Assert.ThrowsAsync<SandboxStartException>(() => backend.StartAsync(Spec("sbx-cold-3", "cli:cold-3", ("PERSONA_HINT", "x")), Ct));
        Assert.Contains("capacity reached: 2 of 2", full.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task APodThatCannotStartFailsTheSpawnWithTheReasonAndLeavesNothingBehind()
    {
        _fake.Runtime.FailingImages.Add("centaur-sandbox:missing");
        var (backend, _) = Backend(o => (o.Image, o.ReadyTimeout) = ("centaur-sandbox:missing", TimeSpan.FromSeconds(2)));

        var failure = await Assert.ThrowsAsync<SandboxStartException>(() => backend.StartAsync(Spec("sbx-broken", "cli:broken"), Ct));

        Assert.Contains("ErrImagePull", failure.Message, StringComparison.Ordinal);
        await Eventually(() => _fake.GetPod(Ns, "sbx-broken") is null);
    }

    [Fact]
    public async Task ExecOverV5ClosesStdinAloneAndReportsTheExitCode()
    {
        var (backend, _) = Backend();
        await backend.StartAsync(Spec("sbx-exec", "cli:exec"), Ct);
        var client = Track(_fake.CreateClient());

        await using var cat = await PodStreamConnection.ExecAsync(client, Ns, "sbx-exec", ["cat"], Ct);
        Assert.True(cat.SupportsClose);
        await cat.WriteStdinAsync(Encoding.UTF8.GetBytes("bytes through a real process\n"), Ct);
        await cat.CloseStdinAsync(Ct);
        var output = new List<string>();
        await foreach (var line in KubernetesSandboxWire.ReadLinesAsync(cat.Stdout, Ct))
        {
            output.Add(Encoding.UTF8.GetString(line.Span));
        }

        Assert.Equal(["bytes through a real process"], output);
        Assert.Equal(0, PodStreamConnection.ExitCode(await cat.Status.WaitAsync(Patience, Ct)));
        await using var failing = await PodStreamConnection.ExecAsync(client, Ns, "sbx-exec", ["sh", "-c", "exit 3"], Ct);
        Assert.Equal(3, PodStreamConnection.ExitCode(await failing.Status.WaitAsync(Patience, Ct)));
    }

    [Fact]
    public void TheBackendIsRegisteredOnlyWhenConfigurationSelectsKubernetes()
    {
        var local = Host.CreateApplicationBuilder();
        local.AddKubernetesSandboxes();
        var kubernetes = Host.CreateApplicationBuilder();
        kubernetes.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Sandbox:Backend"] = "kubernetes",
            ["Sandbox:Kubernetes:KubeConfigPath"] = "/nonexistent",
        });
        kubernetes.AddKubernetesSandboxes();

        Assert.DoesNotContain(local.Services, d => d.ServiceType == typeof(ISandboxBackend));
        Assert.Contains(kubernetes.Services, d => d.ServiceType == typeof(ISandboxBackend));
        Assert.Contains(kubernetes.Services, d => d.ImplementationType == typeof(KubernetesWarmPoolService));
    }

    private (KubernetesSandboxBackend Backend, KubernetesWarmPool Pool) Backend(Action<KubernetesSandboxOptions>? configure = null, ISandboxPrompts? prompts = null)
    {
        var options = new KubernetesSandboxOptions
        {
            Namespace = Ns,
            Image = "centaur-sandbox:test",
            ProxyUrl = "http://ironproxy.centaur.svc:8080",
            ApiUrl = "http://api.centaur.svc:8080",
            ReadyTimeout = Patience,
        };
        configure?.Invoke(options);
        var client = Track(_fake.CreateClient());
        var wrapped = Options.Create(options);
        var pool = new KubernetesWarmPool(client, wrapped, TimeProvider.System, NullLogger<KubernetesWarmPool>.Instance);
        var tokens = new Centaur.Api.Auth.SandboxTokenIssuer(Options.Create(new Centaur.Api.CentaurOptions { SandboxTokenKey = ApiProcess.SandboxTokenKey }), TimeProvider.System);
        return (new KubernetesSandboxBackend(client, pool, wrapped, TimeProvider.System, NullLogger<KubernetesSandboxBackend>.Instance, tokens, prompts), pool);
    }

    private T Track<T>(T client) where T : IDisposable
    {
        _clients.Add(client);
        return client;
    }

    private static SandboxSpec Spec(string id, string threadKey, params (string Name, string Value)[] environment) =>
        new(id, threadKey, "claude", null, null, environment.ToDictionary(e => e.Name, e => e.Value));

    private static async Task<JsonObject> NextAsync(IAsyncEnumerator<JsonObject> lines)
    {
        Assert.True(await lines.MoveNextAsync().AsTask().WaitAsync(Patience, Ct), "the wire ended early");
        return lines.Current;
    }

    private static async Task Eventually(Func<bool> condition)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(Patience);
        while (!condition())
        {
            await Task.Delay(50, timeout.Token);
        }
    }
}
