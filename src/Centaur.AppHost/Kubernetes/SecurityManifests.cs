using k8s;
using k8s.Models;

namespace Aspire.Hosting.Kubernetes;

/// <summary>
/// Namespaces, RBAC and NetworkPolicies. The rules: only the API may manage pods (and exec/attach to them) and only
/// in the sandbox namespace; sandboxes accept no ingress and reach only the proxy and DNS; the proxy is the one
/// workload with a route to the internet.
/// </summary>
internal static class SecurityManifests
{
    private const string NamespaceNameLabel = "kubernetes.io/metadata.name";

    // Private, loopback, link-local (cloud metadata) and carrier-grade NAT ranges: never "the internet".
    private static readonly List<string> NonPublicRanges =
        ["10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16"];

    public static IEnumerable<IKubernetesObject> Namespaces()
    {
        foreach (var name in new[] { KubernetesNames.AppNamespace, KubernetesNames.SandboxNamespace })
        {
            yield return new V1Namespace
            {
                ApiVersion = "v1",
                Kind = "Namespace",
                Metadata = new V1ObjectMeta
                {
                    Name = name,
                    Labels = new Dictionary<string, string>
                    {
                        [KubernetesNames.PartOfLabel] = KubernetesNames.PartOf,
                        // Pod Security Admission rejects any pod that is not non-root, capability-free and seccomp'd.
                        ["pod-security.kubernetes.io/enforce"] = "restricted",
                    },
                },
            };
        }
    }

    public static IEnumerable<IKubernetesObject> Rbac(string apiServiceAccount)
    {
        var labels = WorkloadManifests.Labels(apiServiceAccount);
        const string RoleName = "centaur-sandbox-manager";
        yield return new V1ServiceAccount
        {
            ApiVersion = "v1",
            Kind = "ServiceAccount",
            Metadata = WorkloadManifests.Meta("sandbox", WorkloadManifests.Labels(KubernetesNames.SandboxApp), KubernetesNames.SandboxNamespace),
            AutomountServiceAccountToken = false,
        };
        yield return new V1Role
        {
            ApiVersion = "rbac.authorization.k8s.io/v1",
            Kind = "Role",
            Metadata = WorkloadManifests.Meta(RoleName, labels, KubernetesNames.SandboxNamespace),
            Rules =
            [
                new V1PolicyRule
                {
                    ApiGroups = [""],
                    Resources = ["pods"],
                    Verbs = ["create", "delete", "get", "list", "patch", "watch"],
                },
                new V1PolicyRule
                {
                    ApiGroups = [""],
                    Resources = ["pods/exec", "pods/attach"],
                    // The WebSocket upgrade is a GET; SPDY clients use create.
                    Verbs = ["create", "get"],
                },
            ],
        };
        yield return new V1RoleBinding
        {
            ApiVersion = "rbac.authorization.k8s.io/v1",
            Kind = "RoleBinding",
            Metadata = WorkloadManifests.Meta(RoleName, labels, KubernetesNames.SandboxNamespace),
            RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "Role", Name = RoleName },
            Subjects =
            [
                new Rbacv1Subject { Kind = "ServiceAccount", Name = apiServiceAccount, NamespaceProperty = KubernetesNames.AppNamespace },
            ],
        };
    }

    public static IEnumerable<IKubernetesObject> NetworkPolicies(
        string api, string proxy, string database, IReadOnlyList<string> databaseClients, string edge, string apiServerCidr)
    {
        foreach (var ns in new[] { KubernetesNames.AppNamespace, KubernetesNames.SandboxNamespace })
        {
            yield return Policy("default-deny", ns, new V1LabelSelector(), ingress: [], egress: []);
        }

        var dns = new V1NetworkPolicyEgressRule
        {
            To =
            [
                new V1NetworkPolicyPeer
                {
                    NamespaceSelector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { [NamespaceNameLabel] = "kube-system" } },
                    PodSelector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["k8s-app"] = "kube-dns" } },
                },
            ],
            Ports = [Port(53, "UDP"), Port(53, "TCP")],
        };
        yield return Policy("allow-dns", KubernetesNames.AppNamespace, new V1LabelSelector(), ingress: null, egress: [dns]);

        // Sandboxes: no ingress at all (the API reaches them through the Kubernetes API's exec/attach, not the pod
        // network); egress only to the proxy and DNS.
        yield return Policy("sandbox", KubernetesNames.SandboxNamespace, App(KubernetesNames.SandboxApp), ingress: [],
            egress: [To(Peer(proxy, KubernetesNames.AppNamespace), KubernetesNames.HttpPort), dns]);

        yield return Policy(proxy, KubernetesNames.AppNamespace, App(proxy),
            ingress:
            [
                From([Peer(KubernetesNames.SandboxApp, KubernetesNames.SandboxNamespace), Peer(api), Peer(edge)], KubernetesNames.HttpPort),
            ],
            egress:
            [
                new V1NetworkPolicyEgressRule
                {
                    To = [new V1NetworkPolicyPeer { IpBlock = new V1IPBlock { Cidr = "0.0.0.0/0", Except = NonPublicRanges } }],
                    Ports = [Port(80), Port(443)],
                },
                To(Peer(api), KubernetesNames.HttpPort),
                To(Peer(database), 5432),
            ]);

        yield return Policy(api, KubernetesNames.AppNamespace, App(api),
            ingress: [From([Peer(edge), Peer(proxy)], KubernetesNames.HttpPort)],
            egress:
            [
                To(Peer(database), 5432),
                To(Peer(proxy), KubernetesNames.HttpPort),
                // The Kubernetes API server (pods, exec, attach). Policies match it after DNAT, so this must be its
                // real address: narrow KubernetesManifests:ApiServerCidr to it (kubectl get endpoints kubernetes).
                new V1NetworkPolicyEgressRule
                {
                    To = [new V1NetworkPolicyPeer { IpBlock = new V1IPBlock { Cidr = apiServerCidr } }],
                    Ports = [Port(443), Port(6443)],
                },
            ]);

        // The Slack adapter is the edge: Slack's Events API calls it through the cluster's ingress. Its own calls to
        // Slack leave through the proxy (HTTPS_PROXY), like every other outbound byte.
        yield return Policy(edge, KubernetesNames.AppNamespace, App(edge),
            ingress: [new V1NetworkPolicyIngressRule { Ports = [Port(KubernetesNames.HttpPort)] }],
            egress: [To(Peer(api), KubernetesNames.HttpPort), To(Peer(proxy), KubernetesNames.HttpPort), To(Peer(database), 5432)]);

        yield return Policy(database, KubernetesNames.AppNamespace, App(database),
            ingress: [From([.. databaseClients.Select(c => Peer(c))], 5432)],
            egress: []);
    }

    private static V1NetworkPolicy Policy(
        string name, string ns, V1LabelSelector pods, List<V1NetworkPolicyIngressRule>? ingress, List<V1NetworkPolicyEgressRule>? egress)
    {
        var types = new List<string>();
        if (ingress is not null)
        {
            types.Add("Ingress");
        }

        if (egress is not null)
        {
            types.Add("Egress");
        }

        return new V1NetworkPolicy
        {
            ApiVersion = "networking.k8s.io/v1",
            Kind = "NetworkPolicy",
            Metadata = WorkloadManifests.Meta(name, new Dictionary<string, string> { [KubernetesNames.PartOfLabel] = KubernetesNames.PartOf }, ns),
            Spec = new V1NetworkPolicySpec
            {
                PodSelector = pods,
                PolicyTypes = types,
                Ingress = ingress is { Count: > 0 } ? ingress : null,
                Egress = egress is { Count: > 0 } ? egress : null,
            },
        };
    }

    private static V1LabelSelector App(string name) => new() { MatchLabels = WorkloadManifests.Selector(name) };

    private static V1NetworkPolicyPeer Peer(string app, string? ns = null) => new()
    {
        PodSelector = App(app),
        NamespaceSelector = ns is null ? null : new V1LabelSelector { MatchLabels = new Dictionary<string, string> { [NamespaceNameLabel] = ns } },
    };

    private static V1NetworkPolicyEgressRule To(V1NetworkPolicyPeer peer, int port) => new() { To = [peer], Ports = [Port(port)] };

    private static V1NetworkPolicyIngressRule From(List<V1NetworkPolicyPeer> peers, int port) => new() { FromProperty = peers, Ports = [Port(port)] };

    private static V1NetworkPolicyPort Port(int port, string protocol = "TCP") => new() { Port = port, Protocol = protocol };
}
