using k8s;
using k8s.Models;

namespace Aspire.Hosting.Kubernetes;

/// <summary>Deployment, Service, ConfigMap and ServiceAccount of one project (api, slack, ironproxy).</summary>
internal static class WorkloadManifests
{
    public static IEnumerable<IKubernetesObject> ForProject(string name, ContainerEnvironment environment, bool mayUseKubernetesApi)
    {
        var labels = Labels(name);
        yield return new V1ServiceAccount
        {
            ApiVersion = "v1",
            Kind = "ServiceAccount",
            Metadata = Meta(name, labels),
            // Only the API talks to the Kubernetes API (it launches the sandbox pods); nothing else gets a token.
            AutomountServiceAccountToken = mayUseKubernetesApi,
        };
        yield return new V1ConfigMap
        {
            ApiVersion = "v1",
            Kind = "ConfigMap",
            Metadata = Meta($"{name}-env", labels),
            Data = environment.ConfigMapData,
        };
        yield return new V1Deployment
        {
            ApiVersion = "apps/v1",
            Kind = "Deployment",
            Metadata = Meta(name, labels),
            Spec = new V1DeploymentSpec
            {
                Replicas = 1,
                Selector = new V1LabelSelector { MatchLabels = Selector(name) },
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta { Labels = labels },
                    Spec = new V1PodSpec
                    {
                        ServiceAccountName = name,
                        AutomountServiceAccountToken = mayUseKubernetesApi,
                        EnableServiceLinks = false,
                        SecurityContext = PodSecurity(KubernetesNames.DotnetAppUid),
                        Containers =
                        [
                            new V1Container
                            {
                                Name = name,
                                Image = $"{KubernetesNames.ImageFor(name)}:latest",
                                ImagePullPolicy = "IfNotPresent",
                                Ports = [new V1ContainerPort { Name = "http", ContainerPort = KubernetesNames.HttpPort }],
                                EnvFrom = [new V1EnvFromSource { ConfigMapRef = new V1ConfigMapEnvSource { Name = $"{name}-env" } }],
                                Env = environment.Env.Count > 0 ? environment.Env : null,
                                ReadinessProbe = HttpProbe("/health", periodSeconds: 10),
                                LivenessProbe = HttpProbe("/alive", periodSeconds: 20),
                                StartupProbe = HttpProbe("/alive", periodSeconds: 2, failureThreshold: 60),
                                Resources = new V1ResourceRequirements
                                {
                                    Requests = Quantities(("cpu", "100m"), ("memory", "256Mi")),
                                    Limits = Quantities(("memory", "1Gi")),
                                },
                                SecurityContext = ContainerSecurity(),
                                VolumeMounts = [new V1VolumeMount { Name = "tmp", MountPath = "/tmp" }],
                            },
                        ],
                        Volumes = [new V1Volume { Name = "tmp", EmptyDir = new V1EmptyDirVolumeSource() }],
                    },
                },
            },
        };
        yield return new V1Service
        {
            ApiVersion = "v1",
            Kind = "Service",
            Metadata = Meta(name, labels),
            Spec = new V1ServiceSpec
            {
                Selector = Selector(name),
                Ports = [new V1ServicePort { Name = "http", Port = KubernetesNames.HttpPort, TargetPort = "http" }],
            },
        };
    }

    public static V1ObjectMeta Meta(string name, IDictionary<string, string> labels, string ns = KubernetesNames.AppNamespace) =>
        new() { Name = name, NamespaceProperty = ns, Labels = labels };

    public static Dictionary<string, string> Labels(string name) => new()
    {
        [KubernetesNames.AppLabel] = name,
        [KubernetesNames.PartOfLabel] = KubernetesNames.PartOf,
    };

    public static Dictionary<string, string> Selector(string name) => new() { [KubernetesNames.AppLabel] = name };

    public static V1PodSecurityContext PodSecurity(long uid) => new()
    {
        RunAsNonRoot = true,
        RunAsUser = uid,
        RunAsGroup = uid,
        FsGroup = uid,
        SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" },
    };

    public static V1SecurityContext ContainerSecurity() => new()
    {
        AllowPrivilegeEscalation = false,
        ReadOnlyRootFilesystem = true,
        Capabilities = new V1Capabilities { Drop = ["ALL"] },
    };

    public static Dictionary<string, ResourceQuantity> Quantities(params (string Name, string Value)[] items) =>
        items.ToDictionary(i => i.Name, i => new ResourceQuantity(i.Value));

    private static V1Probe HttpProbe(string path, int periodSeconds, int failureThreshold = 3) => new()
    {
        HttpGet = new V1HTTPGetAction { Path = path, Port = "http" },
        PeriodSeconds = periodSeconds,
        FailureThreshold = failureThreshold,
        TimeoutSeconds = 5,
    };
}
