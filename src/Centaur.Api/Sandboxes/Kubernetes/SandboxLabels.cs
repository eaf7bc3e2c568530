using System.Security.Cryptography;
using System.Text;

namespace Centaur.Api.Sandboxes.Kubernetes;

/// <summary>The labels and annotations that are a sandbox pod's whole state: the pool, a restarted API and a second replica all read them.</summary>
internal static class SandboxLabels
{
    public const string App = "app.kubernetes.io/name";
    public const string AppValue = "centaur-sandbox";
    public const string PartOf = "app.kubernetes.io/part-of";

    /// <summary>First 16 hex of SHA-256 of the thread key (the sandbox's branch name uses the same); "none" on warm pods.</summary>
    public const string ThreadHash = "centaur.dev/thread-hash";

    /// <summary>The pod-spec generation: a hash of the template, so a new image or setting retires old pool pods by itself.</summary>
    public const string Generation = "centaur.dev/generation";

    /// <summary>warm (unassigned, owned by the pool) or assigned.</summary>
    public const string Pool = "centaur.dev/pool";
    public const string Warm = "warm";
    public const string Assigned = "assigned";

    public const string ThreadKeyAnnotation = "centaur.dev/thread-key";
    public const string SandboxIdAnnotation = "centaur.dev/sandbox-id";
    public const string ClaimedAtAnnotation = "centaur.dev/claimed-at";
    public const string LastActiveAnnotation = "centaur.dev/last-active";

    public const string Container = "sandbox";

    public static string AllSandboxes => $"{App}={AppValue}";

    public static string WarmPods => $"{App}={AppValue},{Pool}={Warm}";

    public static string AssignedPods => $"{App}={AppValue},{Pool}={Assigned}";

    public static string HashThreadKey(string threadKey) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(threadKey)))[..16];

    /// <summary>
    /// A sandbox id that is already a DNS-1123 label is the pod's name; any other id maps to a stable hashed name, so
    /// the control plane may use ids of its own format.
    /// </summary>
    public static string PodName(string sandboxId) =>
        IsDnsLabel(sandboxId) ? sandboxId : "sbx-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sandboxId)))[..20];

    private static bool IsDnsLabel(string value) =>
        value.Length is > 0 and <= 63
        && char.IsAsciiLetterLower(value[0]) | char.IsAsciiDigit(value[0])
        && char.IsAsciiLetterLower(value[^1]) | char.IsAsciiDigit(value[^1])
        && value.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-');
}
