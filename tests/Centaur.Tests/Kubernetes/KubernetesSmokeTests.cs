using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Centaur.Api.Sandboxes;
using Centaur.Api.Sandboxes.Kubernetes;
using Centaur.Tests.Fakes.FakeKubeApi;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Centaur.Tests.Kubernetes;

/// <summary>
/// spawn → turn → delete against a real cluster, run by scripts/k8s-smoke.sh when KUBECONFIG points at one
/// (CENTAUR_K8S_SMOKE=1); skipped otherwise. The pod runs the same echo sandbox as the fake's (a busybox image by
/// default), so it proves the cluster side: RBAC, the hardened pod spec, readiness, attach, exec and deletion.
/// </summary>
public sealed class KubernetesSmokeTests(ITestOutputHelper output)
{
    [Fact]
    public async Task SpawnTurnDeleteOnARealCluster()
    {
        if (Environment.GetEnvironmentVariable("CENTAUR_K8S_SMOKE") != "1" || string.IsNullOrEmpty(Environment.GetEnvironmentVariable("KUBECONFIG")))
        {
            Assert.Skip("no cluster: run scripts/k8s-smoke.sh with KUBECONFIG set");
        }

        using var client = PodStreamConnection.OfferV5(new k8s.Kubernetes(KubernetesClientConfiguration.BuildDefaultConfig()));
        var (spawn, firstLine) = await SpawnTurnDeleteAsync(client,
            Environment.GetEnvironmentVariable("CENTAUR_SMOKE_NAMESPACE") ?? "centaur-smoke",
            Environment.GetEnvironmentVariable("CENTAUR_SMOKE_IMAGE") ?? "busybox:1.36",
            TestContext.Current.CancellationToken);
        output.WriteLine($"k8s-smoke: spawn→ready {spawn.TotalMilliseconds:0} ms, turn.start→first line {firstLine.TotalMilliseconds:0} ms");
    }

    [Fact]
    public async Task TheSmokeRunPassesAgainstTheFakeApiServerThroughAKubeconfig()
    {
        await using var fake = await FakeKubeApiServer.StartAsync();
        var kubeconfig = await fake.WriteKubeconfigAsync(TestContext.Current.CancellationToken);
        try
        {
            using var client = PodStreamConnection.OfferV5(new k8s.Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig)));
            await SpawnTurnDeleteAsync(client, "centaur-smoke", "busybox:1.36", TestContext.Current.CancellationToken);
            Assert.Empty(fake.Pods("centaur-smoke"));
        }
        finally
        {
            File.Delete(kubeconfig);
        }
    }

    private static async Task<(TimeSpan Spawn, TimeSpan FirstLine)> SpawnTurnDeleteAsync(IKubernetes client, string ns, string image, CancellationToken ct)
    {
        await EnsureAsync(() => client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = ns } }, cancellationToken: ct));
        await EnsureAsync(() => client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap
        {
            Metadata = new V1ObjectMeta { Name = "centaur-proxy-ca" },
            Data = new Dictionary<string, string> { ["ca.crt"] = "-----BEGIN CERTIFICATE-----\nsmoke\n-----END CERTIFICATE-----\n" },
        }, ns, cancellationToken: ct));
        var options = Options.Create(new KubernetesSandboxOptions
        {
            Namespace = ns,
            Image = image,
            Command = ["/bin/sh", "-c", FakeContainerRuntime.EchoSandboxScript],
            CpuRequest = "50m",
            MemoryRequest = "32Mi",
            MemoryLimit = "128Mi",
            ReadyTimeout = TimeSpan.FromMinutes(3),
        });
        var pool = new KubernetesWarmPool(client, options, TimeProvider.System, NullLogger<KubernetesWarmPool>.Instance);
        var backend = new KubernetesSandboxBackend(client, pool, options, TimeProvider.System, NullLogger<KubernetesSandboxBackend>.Instance);
        var id = "sbx-smoke-" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4));

        var clock = Stopwatch.StartNew();
        var info = await backend.StartAsync(new SandboxSpec(id, "smoke:" + id, "claude-code", null, null, new Dictionary<string, string>()), ct);
        var spawned = clock.Elapsed;
        TimeSpan firstLine;
        try
        {
            await using var wire = await backend.AttachAsync(info.SandboxId, ct);
            await using var lines = wire.ReadAllAsync(ct).GetAsyncEnumerator(ct);
            await wire.SendAsync(new JsonObject { ["type"] = "sandbox.setup", ["thread_key"] = "smoke:" + id }, ct);
            Assert.True(await lines.MoveNextAsync());
            clock.Restart();
            await wire.SendAsync(new JsonObject { ["type"] = "turn.start", ["turn_id"] = 1, ["text"] = "smoke" }, ct);
            Assert.True(await lines.MoveNextAsync());
            firstLine = clock.Elapsed;
            Assert.True(await lines.MoveNextAsync());
            Assert.Equal("echo: smoke", lines.Current["result"]!.GetValue<string>());
            Assert.True(await backend.IsWorkspaceReadyAsync(info.SandboxId, ct));
        }
        finally
        {
            await backend.StopAsync(info.SandboxId, CancellationToken.None);
        }

        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (await backend.GetAsync(info.SandboxId, ct) is not null && DateTime.UtcNow < deadline)
        {
            await Task.Delay(500, ct);
        }

        Assert.Null(await backend.GetAsync(info.SandboxId, ct));
        return (spawned, firstLine);
    }

    private static async Task EnsureAsync(Func<Task> create)
    {
        try
        {
            await create();
        }
        catch (HttpOperationException ex) when (ex.Response.StatusCode == HttpStatusCode.Conflict)
        {
            // Already there.
        }
    }
}
