namespace Aspire.Hosting.Kubernetes;

/// <summary>
/// The names the generated manifests and the Kubernetes sandbox backend agree on. The backend has its own copy in
/// Centaur.Api (Sandbox:Kubernetes options); the generator writes these values into the API's configuration, so a
/// rename here reaches the backend through the manifests rather than through a shared assembly.
/// </summary>
internal static class KubernetesNames
{
    public const string AppNamespace = "centaur";
    public const string SandboxNamespace = "centaur-sandboxes";

    /// <summary>Every secret parameter of the app model is a key of this one Secret (created by the operator).</summary>
    public const string SecretName = "centaur-secrets";

    /// <summary>The proxy's CA certificate (never its key), mounted into every sandbox.</summary>
    public const string ProxyCaConfigMap = "centaur-proxy-ca";
    public const string ProxyCaKey = "ca.crt";

    public const string AppLabel = "app.kubernetes.io/name";
    public const string PartOfLabel = "app.kubernetes.io/part-of";
    public const string PartOf = "centaur";
    public const string SandboxApp = "centaur-sandbox";

    /// <summary>ASP.NET Core images listen on 8080 (ASPNETCORE_HTTP_PORTS); every project Service uses it too.</summary>
    public const int HttpPort = 8080;

    /// <summary>The .NET images' non-root "app" user.</summary>
    public const long DotnetAppUid = 1654;

    /// <summary>The sandbox image's non-root user (see the sandbox Dockerfile).</summary>
    public const long SandboxUid = 1001;

    public static string ImageFor(string resourceName) => $"centaur-{resourceName}";

    public const string SandboxImage = "centaur-sandbox";

    public static string ServiceHost(string resourceName) => $"{resourceName}.{AppNamespace}.svc";
}
