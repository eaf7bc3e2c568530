using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Centaur.Api.Sandboxes.Kubernetes;
using Centaur.Tests.ControlPlane;
using Centaur.Tests.Fakes.FakeKubeApi;
using Centaur.Tests.Infrastructure;
using Centaur.Tests.Tools;
using k8s.Models;
using Npgsql;

namespace Centaur.Tests.Kubernetes;

/// <summary>
/// Real Centaur.Api processes with Sandbox:Backend=kubernetes against the fake Kubernetes API server, whose pods run
/// the FakeSandbox program: a thread's turn is served from the cluster's warm pool, the pod gets the overlay's layers
/// in its setup line, and two API instances racing for the last warm pod split into one claim and one cold start.
/// </summary>
[Collection(AppCollection.Name)]
public sealed class KubernetesWarmClaimTests(CentaurAppFixture fixture) : IAsyncLifetime
{
    private const string Ns = "centaur-sandboxes";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private FakeKubeApiServer _kube = null!;
    private string _kubeconfig = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _kube = await FakeKubeApiServer.StartAsync();
        _kube.Runtime.MainCommand = [ServiceProcess.DotnetPath(), RepositoryPaths.Output("tests/Centaur.FakeSandbox", "Centaur.FakeSandbox.dll")];
        _kubeconfig = await _kube.WriteKubeconfigAsync(Ct);
    }

    public async ValueTask DisposeAsync()
    {
        await _kube.DisposeAsync();
        File.Delete(_kubeconfig);
    }

    [Fact]
    public async Task AThreadsFirstTurnRunsInAPreWarmedPodThatGetsTheOverlayLayersAndThePoolRefills()
    {
        var overlay = TestOverlayFolder.Create();
        var api = await fixture.StartApiProcessAsync(new Dictionary<string, string>(Settings(refill: "00:00:00.300"))
        {
            ["Overlay__Path"] = overlay,
        });
        var warm = await WarmPodAsync();
        var agent = new AgentClient(api.CreateClient());
        var thread = AgentClient.NewThreadKey("k8s");

        using (var spawn = await agent.Http.PostAsJsonAsync("/agent/spawn", new JsonObject { ["thread_key"] = thread, ["persona"] = "reviewer" }, Ct))
        {
            Assert.True(spawn.IsSuccessStatusCode, await spawn.Content.ReadAsStringAsync(Ct));
        }

        await agent.MessageAsync(thread, "hello from the pool");
        var execution = await agent.ExecuteAsync(thread);
        var events = await agent.WaitForEndAsync(thread, execution["execution_id"]!.GetValue<long>());

        Assert.Equal("succeeded", events[^1].State);
        Assert.Equal("turn 1: hello from the pool", events[^1].Data["result"]!.GetValue<string>());
        Assert.Contains(events, e => e.Type == "status" && e.Data["text"]!.GetValue<string>() == "claimed a warm sandbox");
        await using var db = NpgsqlDataSource.Create(api.ConnectionString);
        Assert.Equal((warm, "ready"), await SessionAsync(db, thread));

        // No pod was created for the thread: every create went to the pool, and the claimed pod changed hands by labels.
        Assert.All(_kube.Created, p => Assert.Equal(("warm", "none"), (p.Metadata.Labels[SandboxLabels.Pool], p.Metadata.Labels[SandboxLabels.ThreadHash])));
        var claimed = _kube.GetPod(Ns, warm)!;
        Assert.Equal(("assigned", SandboxLabels.HashThreadKey(thread)), (claimed.Metadata.Labels[SandboxLabels.Pool], claimed.Metadata.Labels[SandboxLabels.ThreadHash]));
        Assert.Equal(_kube.Created[0].Metadata.Labels[SandboxLabels.Generation], claimed.Metadata.Labels[SandboxLabels.Generation]);
        Assert.Equal(thread, claimed.Metadata.Annotations[SandboxLabels.ThreadKeyAnnotation]);
        Assert.Contains(claimed.Spec.Containers[0].Env, e => e.Name == "ANTHROPIC_API_KEY" && e.Value == "centaur-placeholder:anthropic-api-key");

        // The warm pod learnt its thread at claim time: the setup line carried the org prompt, the persona's prompt and the overlay's skill.
        var setup = JsonNode.Parse(File.ReadAllLines(Path.Combine(_kube.HomeOf(Ns, warm), ".setup-lines")).Single())!.AsObject();
        Assert.Equal((thread, "reviewer"), (setup["thread_key"]!.GetValue<string>(), setup["persona"]!.GetValue<string>()));
        var layers = setup["prompt_layers"]!.AsArray().Select(l => (l!["name"]!.GetValue<string>(), l["text"]!.GetValue<string>())).ToList();
        Assert.Equal(["org", "persona", "tools"], layers.Select(l => l.Item1));
        Assert.Equal(TestOverlayFolder.OrgPrompt, layers[0].Item2);
        Assert.Equal(TestOverlayFolder.ReviewerPrompt, layers[1].Item2);
        var skill = Assert.Single(setup["skills"]!.AsArray())!;
        Assert.Equal("deploy", skill["name"]!.GetValue<string>());
        var file = Assert.Single(skill["files"]!.AsArray())!;
        Assert.Equal(("SKILL.md", "---\nname: deploy\n---\nHow we deploy."),
            (file["path"]!.GetValue<string>(), Encoding.UTF8.GetString(Convert.FromBase64String(file["content_base64"]!.GetValue<string>()))));
        // The token the control plane sent is issued again bound to the pod's IP (the fake kubelet's 127.0.0.1).
        var token = ApiProcess.ReadSandboxToken(setup["sandbox_token"]!.GetValue<string>());
        Assert.Equal((thread, warm, "127.0.0.1"), (token.ThreadKey, token.SandboxId, token.Address));

        // The pool refills behind the claim, and the claimed pod is the thread's, not retired with the pool's.
        var refilled = await WarmPodAsync(except: warm);
        Assert.NotEqual(warm, refilled);
        Assert.NotNull(_kube.GetPod(Ns, warm));

        // The reconcile loop sees the claimed pod as the thread's live sandbox; a second turn reuses it.
        using (var admin = api.CreateClient(ApiProcess.AdminKey))
        using (var response = await admin.PostAsync("/admin/reconcile", null, Ct))
        {
            var report = JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!;
            Assert.True(response.IsSuccessStatusCode, report.ToJsonString());
            Assert.Equal(0, report["suspended"]!.GetValue<int>());
        }

        await agent.MessageAsync(thread, "again");
        var second = await agent.ExecuteAsync(thread);
        var again = await agent.WaitForEndAsync(thread, second["execution_id"]!.GetValue<long>());
        Assert.Equal("turn 2: again", again[^1].Data["result"]!.GetValue<string>());
        Assert.Equal((warm, "ready"), await SessionAsync(db, thread));
    }

    [Fact]
    public async Task TwoApiInstancesRacingForTheLastWarmPodMakeOneClaimAndOneColdStart()
    {
        // Each instance has its own database so that each runs its own thread's turn (with a shared one, either
        // worker could take both executions); the cluster and its warm pool are shared, as between replicas.
        var settings = Settings(refill: "01:00:00");
        var first = await fixture.StartApiProcessAsync(settings);
        var warm = await WarmPodAsync();
        var second = await fixture.StartApiProcessAsync(settings);
        await Eventually(() => _kube.Lists(SandboxLabels.WarmPods) >= 2); // the second instance's pool saw the pod: nothing to add
        Assert.Single(_kube.Created);

        var threads = new[] { AgentClient.NewThreadKey("k8s-a"), AgentClient.NewThreadKey("k8s-b") };
        var agents = new[] { new AgentClient(first.CreateClient()), new AgentClient(second.CreateClient()) };
        for (var i = 0; i < 2; i++)
        {
            await agents[i].SpawnAsync(threads[i]);
            await agents[i].MessageAsync(threads[i], $"race {i}");
        }

        _kube.HoldLists(2, SandboxLabels.WarmPods); // both instances see the one pod at the same resourceVersion
        var executions = await Task.WhenAll(agents.Select((a, i) => a.ExecuteAsync(threads[i])));
        var ends = await Task.WhenAll(agents.Select((a, i) => a.WaitForEndAsync(threads[i], executions[i]["execution_id"]!.GetValue<long>())));

        Assert.All(ends.Select((e, i) => (e[^1].State, e[^1].Data["result"]!.GetValue<string>(), i)), end => Assert.Equal(("succeeded", $"turn 1: race {end.i}"), (end.State, end.Item2)));
        await using var firstDb = NpgsqlDataSource.Create(first.ConnectionString);
        await using var secondDb = NpgsqlDataSource.Create(second.ConnectionString);
        var sandboxes = new[] { (await SessionAsync(firstDb, threads[0])).SandboxId, (await SessionAsync(secondDb, threads[1])).SandboxId };
        Assert.Single(sandboxes, s => s == warm);
        var loser = Array.IndexOf(sandboxes, sandboxes.Single(s => s != warm));
        Assert.Equal(1, _kube.PatchConflicts); // the loser's claim was refused by the resourceVersion precondition

        var cold = Assert.Single(_kube.Created, p => p.Metadata.Labels[SandboxLabels.Pool] == "assigned");
        Assert.Equal((sandboxes[loser], SandboxLabels.HashThreadKey(threads[loser])), (cold.Metadata.Name, cold.Metadata.Labels[SandboxLabels.ThreadHash]));
        Assert.Equal(threads[1 - loser], _kube.GetPod(Ns, warm)!.Metadata.Annotations[SandboxLabels.ThreadKeyAnnotation]);

        // The cold pod was set up by the backend before its first turn (a warm pod gets its setup from the control plane).
        var setup = JsonNode.Parse(File.ReadAllLines(Path.Combine(_kube.HomeOf(Ns, cold.Metadata.Name), ".setup-lines")).Single())!;
        Assert.Equal(threads[loser], setup["thread_key"]!.GetValue<string>());
    }

    private Dictionary<string, string> Settings(string refill) => new()
    {
        ["Sandbox__Backend"] = "kubernetes",
        ["Sandbox__Kubernetes__KubeConfigPath"] = _kubeconfig,
        ["Sandbox__Kubernetes__Namespace"] = Ns,
        ["Sandbox__Kubernetes__Image"] = "centaur-sandbox:test",
        // As in the generated manifests: every replica gives its pods the same API URL (the Service), so all
        // instances compute the same pool generation and share the pool instead of retiring each other's pods.
        ["Sandbox__Kubernetes__ApiUrl"] = "http://api.centaur.svc:8080",
        ["Sandbox__Kubernetes__WarmPoolSize"] = "1",
        ["Sandbox__Kubernetes__WarmPoolRefillInterval"] = refill,
        ["Sandbox__Kubernetes__ReadyTimeout"] = "00:00:30",
        ["Sandbox__Kubernetes__SetupTimeout"] = "00:00:30",
    };

    /// <summary>The pool's ready pod (other than <paramref name="except"/>) once there is one.</summary>
    private async Task<string> WarmPodAsync(string? except = null)
    {
        V1Pod? pod = null;
        await Eventually(() => (pod = _kube.Pods(Ns).FirstOrDefault(p => p.Metadata.Name != except
            && p.Metadata.Labels[SandboxLabels.Pool] == "warm" && SandboxPods.IsReady(p))) is not null);
        return pod!.Metadata.Name;
    }

    private static async Task<(string? SandboxId, string State)> SessionAsync(NpgsqlDataSource db, string thread)
    {
        await using var command = db.CreateCommand("SELECT sandbox_id, state FROM sandbox_sessions WHERE thread_key = $1");
        command.Parameters.AddWithValue(thread);
        await using var reader = await command.ExecuteReaderAsync(Ct);
        Assert.True(await reader.ReadAsync(Ct), $"no session for {thread}");
        return (reader.IsDBNull(0) ? null : reader.GetString(0), reader.GetString(1));
    }

    private static async Task Eventually(Func<bool> condition)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(Patience);
        while (!condition())
        {
            await Task.Delay(100, timeout.Token);
        }
    }
}
