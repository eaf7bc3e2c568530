namespace Centaur.Sandbox.Setup;

/// <summary>
/// What the backend tells the runtime through its environment (fixed for the sandbox's life, the same for every
/// thread): where home is, the proxy's and the API's Unix sockets (or, where the sandbox has a network of its own
/// such as a pod, the proxy's and the API's URLs), the proxy CA, where the harness CLIs live.
/// Nothing in here is a secret: provider keys are placeholders that only the egress proxy resolves.
/// </summary>
internal sealed record SandboxEnvironment(
    string Home,
    string RuntimeDirectory,
    string ContentDirectory,
    string HarnessBin,
    string? EgressSocket,
    int EgressPort,
    string? EgressUrl,
    string? ApiSocket,
    int ApiPort,
    string? ApiUrl,
    string? ProxyCaFile,
    string? AnthropicBaseUrl,
    string? OpenAiBaseUrl,
    string? AmpUrl,
    string? SandboxId)
{
    public string Workspace => Path.Combine(Home, "workspace");

    public string StateDirectory => Path.Combine(Home, ".centaur");

    public string ReadyFile => Path.Combine(Home, ".ready");

    public string TokenFile => Path.Combine(RuntimeDirectory, "sandbox-token");

    public static SandboxEnvironment FromProcess()
    {
        var home = Environment.GetEnvironmentVariable("HOME") is { Length: > 0 } h ? h : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return new SandboxEnvironment(
            home,
            Get("CENTAUR_RUNTIME_DIR") ?? Path.Combine(home, ".centaur", "run"),
            Get("CENTAUR_CONTENT_DIR") ?? Path.Combine(AppContext.BaseDirectory, "Content"),
            Get("CENTAUR_HARNESS_BIN") ?? "/opt/centaur/harnesses/node_modules/.bin",
            Get("CENTAUR_EGRESS_SOCKET"),
            int.TryParse(Get("CENTAUR_EGRESS_PORT"), out var egressPort) ? egressPort : 8787,
            Get("CENTAUR_EGRESS_URL"),
            Get("CENTAUR_API_SOCKET"),
            int.TryParse(Get("CENTAUR_API_PORT"), out var apiPort) ? apiPort : 8788,
            Get("CENTAUR_API_URL"),
            Get("CENTAUR_PROXY_CA"),
            Get("CENTAUR_ANTHROPIC_BASE_URL"),
            Get("CENTAUR_OPENAI_BASE_URL"),
            Get("CENTAUR_AMP_URL"),
            Get("CENTAUR_SANDBOX_ID"));
    }

    private static string? Get(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;
}
