using System.Diagnostics;
using k8s;
using k8s.Models;

namespace Centaur.Tests.Kubernetes;

/// <summary>
/// Offline validation of the committed layout: KubernetesClient's strict typed loader (unknown fields, wrong types,
/// unknown kinds), the security rules the manifests promise, and `kubectl kustomize` where kubectl exists.
/// </summary>
public sealed class ManifestValidationTests
{
    private const string AppNamespace = "centaur";
    private const string SandboxNamespace = "centaur-sandboxes";

    private static readonly IReadOnlyList<(string File, object Object)> Objects = AspirateOutput.LoadObjects(AspirateOutput.CommittedFolder);

    [Fact]
    public void EveryKustomizationResourceLoadsStrictlyAndNamesItsNamespace()
    {
        var kustomization = File.ReadAllLines(Path.Combine(AspirateOutput.CommittedFolder, "kustomization.yaml"));
        var resources = kustomization.Where(l => l.StartsWith("- ", StringComparison.Ordinal)).Select(l => l[2..]).ToList();

        Assert.Equal(["namespaces.yaml", "api.yaml", "ironproxy.yaml", "network-policies.yaml", "postgres.yaml", "rbac.yaml", "slack.yaml"], resources);
        Assert.DoesNotContain("secrets.template.yaml", resources);
        foreach (var (file, item) in Objects.Where(o => o.Object is not V1Namespace))
        {
            var metadata = ((IMetadata<V1ObjectMeta>)item).Metadata;
            Assert.True(metadata.NamespaceProperty is AppNamespace or SandboxNamespace, $"{file}: {metadata.Name} has no Centaur namespace");
        }
    }

    [Fact]
    public void StrictLoadingRejectsATypoAndAWrongType()
    {
        var api = File.ReadAllText(Path.Combine(AspirateOutput.CommittedFolder, "api.yaml"));

        Assert.ThrowsAny<Exception>(() => KubernetesYaml.LoadAllFromString(api.Replace("  selector:\n    matchLabels:", "  selectr:\n    matchLabels:", StringComparison.Ordinal), strict: true));
        Assert.ThrowsAny<Exception>(() => KubernetesYaml.LoadAllFromString(api.Replace("replicas: 1", "replicas: three", StringComparison.Ordinal), strict: true));
    }

    [Fact]
    public void OnlyTheApiMayManagePodsExecAndAttachAndOnlyInTheSandboxNamespace()
    {
        Assert.Empty(Objects.Select(o => o.Object).OfType<V1ClusterRole>());
        Assert.Empty(Objects.Select(o => o.Object).OfType<V1ClusterRoleBinding>());
        var role = Assert.Single(Objects.Select(o => o.Object).OfType<V1Role>());
        Assert.Equal(SandboxNamespace, role.Metadata.NamespaceProperty);
        Assert.All(role.Rules, r => Assert.Equal([""], r.ApiGroups));
        Assert.Equal(["pods", "pods/attach", "pods/exec"], role.Rules.SelectMany(r => r.Resources).Order(StringComparer.Ordinal));
        Assert.DoesNotContain("*", role.Rules.SelectMany(r => r.Verbs));

        var binding = Assert.Single(Objects.Select(o => o.Object).OfType<V1RoleBinding>());
        Assert.Equal(SandboxNamespace, binding.Metadata.NamespaceProperty);
        Assert.Equal(role.Metadata.Name, binding.RoleRef.Name);
        var subject = Assert.Single(binding.Subjects);
        Assert.Equal(("ServiceAccount", "api", AppNamespace), (subject.Kind, subject.Name, subject.NamespaceProperty));

        foreach (var account in Objects.Select(o => o.Object).OfType<V1ServiceAccount>())
        {
            Assert.Equal(account.Metadata.Name == "api" && account.Metadata.NamespaceProperty == AppNamespace, account.AutomountServiceAccountToken);
        }

        foreach (var deployment in Objects.Select(o => o.Object).OfType<V1Deployment>())
        {
            Assert.Equal(deployment.Metadata.Name == "api", deployment.Spec.Template.Spec.AutomountServiceAccountToken);
        }
    }

    [Fact]
    public void SandboxesAcceptNoIngressAndReachOnlyTheProxyAndDns()
    {
        var policies = Policies(SandboxNamespace);
        var deny = Assert.Single(policies, p => p.Spec.PodSelector.MatchLabels is null or { Count: 0 });
        Assert.Equal(["Ingress", "Egress"], deny.Spec.PolicyTypes);
        Assert.Null(deny.Spec.Ingress);
        Assert.Null(deny.Spec.Egress);

        var sandbox = Assert.Single(policies, p => AppOf(p) == "centaur-sandbox");
        Assert.Contains("Ingress", sandbox.Spec.PolicyTypes);
        Assert.Null(sandbox.Spec.Ingress);
        foreach (var rule in sandbox.Spec.Egress)
        {
            var peer = Assert.Single(rule.To);
            Assert.Null(peer.IpBlock);
            var ns = peer.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"];
            var pods = peer.PodSelector.MatchLabels.Single();
            if (ns == AppNamespace)
            {
                Assert.Equal(("app.kubernetes.io/name", "ironproxy"), (pods.Key, pods.Value));
                Assert.Equal([8080], rule.Ports.Select(p => int.Parse(p.Port.Value)));
            }
            else
            {
                Assert.Equal(("kube-system", "k8s-app", "kube-dns"), (ns, pods.Key, pods.Value));
                Assert.All(rule.Ports, p => Assert.Equal("53", p.Port.Value));
            }
        }
    }

    [Fact]
    public void OnlyTheProxyReachesTheInternet()
    {
        var appPolicies = Policies(AppNamespace);
        var deny = Assert.Single(appPolicies, p => p.Metadata.Name == "default-deny");
        Assert.Equal(["Ingress", "Egress"], deny.Spec.PolicyTypes);
        Assert.True(deny.Spec.PodSelector.MatchLabels is null or { Count: 0 });

        foreach (var policy in appPolicies.Concat(Policies(SandboxNamespace)))
        {
            var owner = AppOf(policy);
            foreach (var rule in policy.Spec.Egress ?? [])
            {
                if (rule.To?.Any(peer => peer.IpBlock is not null) != true)
                {
                    continue;
                }

                var ports = rule.Ports.Select(p => int.Parse(p.Port.Value)).Order().ToList();
                if (owner == "ironproxy")
                {
                    var block = Assert.Single(rule.To).IpBlock;
                    Assert.Contains("169.254.0.0/16", block.Except); // cloud metadata
                    Assert.Contains("10.0.0.0/8", block.Except);
                    Assert.Equal([80, 443], ports);
                }
                else
                {
                    // The API's one address rule is its route to the Kubernetes API server (see the README).
                    Assert.Equal("api", owner);
                    Assert.Equal([443, 6443], ports);
                }
            }
        }
    }

    [Fact]
    public void NoSecretDerivedValueIsInAConfigMapAndEverySecretReferenceResolves()
    {
        var secretKeys = Objects.Select(o => o.Object).OfType<V1Secret>().Single().StringData.Keys.ToHashSet();
        foreach (var map in Objects.Select(o => o.Object).OfType<V1ConfigMap>())
        {
            // A $(VAR) reference only expands in env; in a ConfigMap it would mean a secret-derived value leaked there.
            Assert.All(map.Data ?? new Dictionary<string, string>(), kv => Assert.DoesNotContain("$(", kv.Value, StringComparison.Ordinal));
        }

        foreach (var container in Containers())
        {
            var declared = new HashSet<string>();
            foreach (var variable in container.Env ?? [])
            {
                if (variable.ValueFrom?.SecretKeyRef is { } reference)
                {
                    Assert.Equal("centaur-secrets", reference.Name);
                    Assert.Contains(reference.Key, secretKeys);
                }
                else
                {
                    var referenced = System.Text.RegularExpressions.Regex.Matches(variable.Value, @"(?<!\$)\$\(([A-Z0-9_]+)\)").Select(m => m.Groups[1].Value);
                    Assert.All(referenced, name => Assert.Contains(name, declared)); // declared earlier, or it would not expand
                }

                declared.Add(variable.Name);
            }
        }
    }

    [Fact]
    public void EveryServiceHasHealthProbesAndRunsLockedDown()
    {
        var deployments = Objects.Select(o => o.Object).OfType<V1Deployment>().ToList();
        Assert.Equal(["api", "ironproxy", "slack"], deployments.Select(d => d.Metadata.Name).Order(StringComparer.Ordinal));
        foreach (var deployment in deployments)
        {
            var container = Assert.Single(deployment.Spec.Template.Spec.Containers);
            Assert.Equal("/health", container.ReadinessProbe.HttpGet.Path);
            Assert.Equal("/alive", container.LivenessProbe.HttpGet.Path);
            Assert.True(deployment.Spec.Template.Spec.SecurityContext.RunAsNonRoot);
            Assert.True(container.SecurityContext.ReadOnlyRootFilesystem);
            Assert.False(container.SecurityContext.AllowPrivilegeEscalation);
            Assert.Equal(["ALL"], container.SecurityContext.Capabilities.Drop);
            Assert.Contains(Objects.Select(o => o.Object).OfType<V1Service>(), s => s.Metadata.Name == deployment.Metadata.Name);
        }

        var postgres = Assert.Single(Objects.Select(o => o.Object).OfType<V1StatefulSet>());
        Assert.Equal("data", Assert.Single(postgres.Spec.VolumeClaimTemplates).Metadata.Name);
        Assert.True(File.Exists(Path.Combine(AspirateOutput.CommittedFolder, "images", "sandbox.Dockerfile")));
    }

    [Fact]
    public async Task KubectlKustomizeRendersTheLayoutOffline()
    {
        var kubectl = Environment.GetEnvironmentVariable("PATH")!.Split(':').Select(d => Path.Combine(d, "kubectl")).FirstOrDefault(File.Exists);
        if (kubectl is null)
        {
            Assert.Skip("kubectl is not installed (apt-get install kubectl); the strict typed loading above still ran.");
        }

        // Without a kubeconfig kubectl would talk to localhost:8080, where anything may listen.
        var kubeconfig = Path.Combine(Path.GetTempPath(), $"centaur-dummy-kubeconfig-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(kubeconfig, """
            apiVersion: v1
            kind: Config
            clusters: [{name: none, cluster: {server: "https://127.0.0.1:1"}}]
            users: [{name: none, user: {token: none}}]
            contexts: [{name: none, context: {cluster: none, user: none}}]
            current-context: none
            """, TestContext.Current.CancellationToken);
        try
        {
            var start = new ProcessStartInfo(kubectl, ["kustomize", AspirateOutput.CommittedFolder])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            start.Environment["KUBECONFIG"] = kubeconfig;
            using var process = Process.Start(start)!;
            var rendered = await process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
            var errors = await process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            await process.WaitForExitAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromMinutes(1), TestContext.Current.CancellationToken);

            Assert.True(process.ExitCode == 0, errors);
            var renderedObjects = KubernetesYaml.LoadAllFromString(rendered, strict: true);
            Assert.Equal(Objects.Count(o => o.File != "secrets.template.yaml"), renderedObjects.Count);
        }
        finally
        {
            File.Delete(kubeconfig);
        }
    }

    private static string? AppOf(V1NetworkPolicy policy) =>
        policy.Spec.PodSelector.MatchLabels is { } labels && labels.TryGetValue("app.kubernetes.io/name", out var app) ? app : null;

    private static List<V1NetworkPolicy> Policies(string ns) =>
        [.. Objects.Select(o => o.Object).OfType<V1NetworkPolicy>().Where(p => p.Metadata.NamespaceProperty == ns)];

    private static IEnumerable<V1Container> Containers() =>
        Objects.Select(o => o.Object).OfType<V1Deployment>().SelectMany(d => d.Spec.Template.Spec.Containers)
            .Concat(Objects.Select(o => o.Object).OfType<V1StatefulSet>().SelectMany(s => s.Spec.Template.Spec.Containers));
}
