using System.ComponentModel.DataAnnotations;

namespace Centaur.Api.Sandboxes.Kubernetes;

/// <summary>Sandbox:Kubernetes — how sandbox pods are made. The generated manifests (aspirate-output/api.yaml) set these.</summary>
internal sealed class KubernetesSandboxOptions
{
    public const string Section = "Sandbox:Kubernetes";

    /// <summary>Where sandbox pods live; the API's Role allows pods, pods/exec and pods/attach only there.</summary>
    [Required, RegularExpression("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    public string Namespace { get; set; } = "centaur-sandboxes";

    [Required]
    public string Image { get; set; } = "centaur-sandbox:latest";

    public string ImagePullPolicy { get; set; } = "IfNotPresent";

    /// <summary>The sandbox's main process (centaur-sandbox, the published Centaur.Sandbox, is on the image's PATH).</summary>
    [MinLength(1)]
    public string[] Command { get; set; } = ["centaur-sandbox"];

    /// <summary>A ServiceAccount whose token is never mounted; empty uses the namespace's default.</summary>
    public string? ServiceAccount { get; set; }

    /// <summary>HTTP(S)_PROXY of every sandbox: IronProxy is the only way out.</summary>
    public string? ProxyUrl { get; set; }

    /// <summary>CENTAUR_API_URL (tools via `call`).</summary>
    public string? ApiUrl { get; set; }

    /// <summary>ConfigMap in <see cref="Namespace"/> holding the proxy's CA certificate (never its key).</summary>
    [Required]
    public string ProxyCaConfigMap { get; set; } = "centaur-proxy-ca";

    [Required]
    public string ProxyCaKey { get; set; } = "ca.crt";

    /// <summary>The sandbox user's home: an emptyDir (the root filesystem is read-only); the workspace lives in it.</summary>
    [Required]
    public string Home { get; set; } = "/home/sandbox";

    [Range(1, long.MaxValue)]
    public long RunAsUser { get; set; } = 1001;

    public string CpuRequest { get; set; } = "250m";
    public string MemoryRequest { get; set; } = "512Mi";
    public string CpuLimit { get; set; } = "2";
    public string MemoryLimit { get; set; } = "4Gi";
    public string WorkspaceSizeLimit { get; set; } = "10Gi";

    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan ReadyTimeout { get; set; } = TimeSpan.FromSeconds(90);

    /// <summary>How long a pod may take to assemble a thread's workspace (clone included) after its setup line.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "02:00:00")]
    public TimeSpan SetupTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>A turn running longer is interrupted by the sandbox (sent in the setup line).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan TurnTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Unassigned pods kept running so a new thread need not wait for a cold start; 0 turns the pool off.</summary>
    [Range(0, 1000)]
    public int WarmPoolSize { get; set; }

    /// <summary>
    /// The environment of pool pods (no thread yet). The control plane's thread-less environment (placeholder keys,
    /// API and proxy URLs) is added at start for names not set here. Part of the pod-spec generation, so changing it
    /// retires the old pool pods.
    /// </summary>
    public Dictionary<string, string> PoolEnvironment { get; set; } = [];

    [Range(typeof(TimeSpan), "00:00:00.050", "01:00:00")]
    public TimeSpan WarmPoolRefillInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>At most this many sandbox pods (warm ones included); 0 = no limit.</summary>
    [Range(0, 100_000)]
    public int MaxSandboxes { get; set; }

    /// <summary>An assigned pod is idle (evictable at capacity) when no wire of this process is open and it saw no activity for this long.</summary>
    public TimeSpan IdleGrace { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Kubeconfig file for out-of-cluster runs; empty uses KUBECONFIG, ~/.kube/config or the in-cluster account.</summary>
    public string? KubeConfigPath { get; set; }

    public string? Context { get; set; }
}
