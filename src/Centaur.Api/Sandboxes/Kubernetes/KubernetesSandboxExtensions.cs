using k8s;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Centaur.Api.Sandboxes.Kubernetes;

internal static class KubernetesSandboxExtensions
{
    /// <summary>
    /// The Kubernetes sandbox backend, when <c>Sandbox:Backend</c> is <c>kubernetes</c> (the generated manifests set
    /// it); otherwise nothing is registered. Cluster access: Sandbox:Kubernetes:KubeConfigPath (+ Context), else
    /// KUBECONFIG / ~/.kube/config, else the pod's own ServiceAccount.
    /// </summary>
    public static IHostApplicationBuilder AddKubernetesSandboxes(this IHostApplicationBuilder builder)
    {
        if (!string.Equals(builder.Configuration["Sandbox:Backend"], "kubernetes", StringComparison.OrdinalIgnoreCase))
        {
            return builder;
        }

        builder.Services.AddOptions<KubernetesSandboxOptions>()
            .BindConfiguration(KubernetesSandboxOptions.Section)
            .PostConfigure(options =>
            {
                // Pool pods carry what the control plane gives any sandbox before it has a thread (placeholder keys,
                // the API and proxy URLs), so a claimed pod is no different from a cold one; explicit settings win.
                var threadless = SandboxManager.ThreadlessEnvironment(
                    builder.Configuration.GetSection(CentaurOptions.Section).Get<CentaurOptions>() ?? new CentaurOptions(),
                    builder.Configuration.GetSection(SandboxOptions.Section).Get<SandboxOptions>() ?? new SandboxOptions(),
                    builder.Configuration);
                foreach (var (name, value) in threadless)
                {
                    options.PoolEnvironment.TryAdd(name, value);
                }
            })
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<IKubernetes>(services =>
        {
            var options = services.GetRequiredService<IOptions<KubernetesSandboxOptions>>().Value;
            var configuration = options.KubeConfigPath is { Length: > 0 } path
                ? KubernetesClientConfiguration.BuildConfigFromConfigFile(path, options.Context)
                : KubernetesClientConfiguration.BuildDefaultConfig();
            return PodStreamConnection.OfferV5(new k8s.Kubernetes(configuration));
        });
        builder.Services.AddSingleton<KubernetesWarmPool>();
        builder.Services.AddSingleton<KubernetesSandboxBackend>();
        builder.Services.AddSingleton<ISandboxBackend>(services => services.GetRequiredService<KubernetesSandboxBackend>());
        builder.Services.AddHostedService<KubernetesWarmPoolService>();
        builder.Services.AddHealthChecks().AddCheck<KubernetesSandboxHealthCheck>("kubernetes-sandboxes");
        return builder;
    }
}

/// <summary>Healthy when the API may list pods in the sandbox namespace (reachable cluster, working RBAC).</summary>
internal sealed class KubernetesSandboxHealthCheck(IKubernetes client, IOptions<KubernetesSandboxOptions> options) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var list = await client.CoreV1.ListNamespacedPodAsync(options.Value.Namespace, labelSelector: SandboxLabels.AllSandboxes, limit: 1, cancellationToken: cancellationToken);
            return HealthCheckResult.Healthy($"namespace {options.Value.Namespace} reachable");
        }
        catch (Exception ex) when (ex is k8s.Autorest.HttpOperationException or HttpRequestException or TaskCanceledException)
        {
            return HealthCheckResult.Unhealthy($"cannot list pods in {options.Value.Namespace}: {ex.Message}");
        }
    }
}
