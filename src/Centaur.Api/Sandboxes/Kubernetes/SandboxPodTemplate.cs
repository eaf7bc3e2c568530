using System.Security.Cryptography;
using System.Text;
using k8s;
using k8s.Models;

namespace Centaur.Api.Sandboxes.Kubernetes;

/// <summary>
/// The pod of one sandbox. Everything thread-specific is in labels and annotations only; the spec itself is the
/// same for every pod made from the same settings and environment, so its hash (the generation) tells whether a
/// warm pod can serve a request and retires pool pods made from older settings.
/// </summary>
internal sealed class SandboxPodTemplate(KubernetesSandboxOptions options)
{
    private const string CaDirectory = "/etc/centaur/proxy-ca";

    public V1PodSpec Spec(IReadOnlyDictionary<string, string> environment)
    {
        var ca = $"{CaDirectory}/{options.ProxyCaKey}";
        var env = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in environment)
        {
            env[name] = value;
        }

        // Set last so that a thread's environment can never point the sandbox around the proxy or its CA.
        env["HOME"] = options.Home;
        env["CENTAUR_PROXY_CA"] = ca;
        foreach (var name in new[] { "NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "GIT_SSL_CAINFO" })
        {
            env[name] = ca;
        }

        if (options.ProxyUrl is { Length: > 0 } proxy)
        {
            foreach (var name in new[] { "HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy" })
            {
                env[name] = proxy;
            }

            env["NO_PROXY"] = env["no_proxy"] = "localhost,127.0.0.1,::1";
            env["NODE_USE_ENV_PROXY"] = "1"; // Node's built-in fetch honours HTTPS_PROXY only when told (22.21+/24+)
        }

        if (options.ApiUrl is { Length: > 0 } api)
        {
            env["CENTAUR_API_URL"] = api;
        }

        var variables = env.Select(kv => new V1EnvVar { Name = kv.Key, Value = kv.Value }).ToList();
        variables.Insert(0, new V1EnvVar
        {
            Name = "CENTAUR_SANDBOX_ID",
            ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "metadata.name" } },
        });

        return new V1PodSpec
        {
            RestartPolicy = "Never",
            AutomountServiceAccountToken = false,
            ServiceAccountName = string.IsNullOrEmpty(options.ServiceAccount) ? null : options.ServiceAccount,
            EnableServiceLinks = false,
            TerminationGracePeriodSeconds = 10,
            SecurityContext = new V1PodSecurityContext
            {
                RunAsNonRoot = true,
                RunAsUser = options.RunAsUser,
                RunAsGroup = options.RunAsUser,
                FsGroup = options.RunAsUser,
                SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" },
            },
            Containers =
            [
                new V1Container
                {
                    Name = SandboxLabels.Container,
                    Image = options.Image,
                    ImagePullPolicy = options.ImagePullPolicy,
                    Command = [.. options.Command],
                    // The NDJSON wire is the main process's stdin/stdout, reached through pods/attach.
                    Stdin = true,
                    StdinOnce = false,
                    Tty = false,
                    WorkingDir = options.Home,
                    Env = variables,
                    Resources = new V1ResourceRequirements
                    {
                        Requests = new Dictionary<string, ResourceQuantity>
                        {
                            ["cpu"] = new(options.CpuRequest),
                            ["memory"] = new(options.MemoryRequest),
                        },
                        Limits = new Dictionary<string, ResourceQuantity>
                        {
                            ["cpu"] = new(options.CpuLimit),
                            ["memory"] = new(options.MemoryLimit),
                        },
                    },
                    SecurityContext = new V1SecurityContext
                    {
                        AllowPrivilegeEscalation = false,
                        ReadOnlyRootFilesystem = true,
                        RunAsNonRoot = true,
                        Capabilities = new V1Capabilities { Drop = ["ALL"] },
                    },
                    VolumeMounts =
                    [
                        new V1VolumeMount { Name = "home", MountPath = options.Home },
                        new V1VolumeMount { Name = "tmp", MountPath = "/tmp" },
                        new V1VolumeMount { Name = "proxy-ca", MountPath = CaDirectory, ReadOnlyProperty = true },
                    ],
                },
            ],
            Volumes =
            [
                new V1Volume { Name = "home", EmptyDir = new V1EmptyDirVolumeSource { SizeLimit = new ResourceQuantity(options.WorkspaceSizeLimit) } },
                new V1Volume { Name = "tmp", EmptyDir = new V1EmptyDirVolumeSource { SizeLimit = new ResourceQuantity("1Gi") } },
                new V1Volume
                {
                    Name = "proxy-ca",
                    ConfigMap = new V1ConfigMapVolumeSource
                    {
                        Name = options.ProxyCaConfigMap,
                        Items = [new V1KeyToPath { Key = options.ProxyCaKey, Path = options.ProxyCaKey }],
                    },
                },
            ],
        };
    }

    public static string Generation(V1PodSpec spec) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(KubernetesJson.Serialize(spec))))[..16];

    public V1Pod Pod(string name, IReadOnlyDictionary<string, string> environment, string? threadKey, string? sandboxId, DateTimeOffset now, bool warm = false)
    {
        var spec = Spec(environment);
        var labels = new Dictionary<string, string>
        {
            [SandboxLabels.App] = SandboxLabels.AppValue,
            [SandboxLabels.PartOf] = "centaur",
            [SandboxLabels.Generation] = Generation(spec),
            [SandboxLabels.Pool] = warm ? SandboxLabels.Warm : SandboxLabels.Assigned,
            [SandboxLabels.ThreadHash] = threadKey is null ? "none" : SandboxLabels.HashThreadKey(threadKey),
        };
        var annotations = new Dictionary<string, string>
        {
            [SandboxLabels.LastActiveAnnotation] = now.ToString("O"),
        };
        if (threadKey is not null)
        {
            annotations[SandboxLabels.ThreadKeyAnnotation] = threadKey;
        }

        if (sandboxId is not null)
        {
            annotations[SandboxLabels.SandboxIdAnnotation] = sandboxId;
        }

        return new V1Pod
        {
            ApiVersion = "v1",
            Kind = "Pod",
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = options.Namespace, Labels = labels, Annotations = annotations },
            Spec = spec,
        };
    }
}
