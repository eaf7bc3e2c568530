using System.Text.Json.Nodes;
using Centaur.Sandbox.Setup;
using Centaur.Sandbox.Wire;
using Microsoft.Extensions.Logging;

namespace Centaur.Sandbox.Harnesses;

/// <summary>Everything an adapter needs: the sandbox, the thread's setup, the resolved endpoints, its session file.</summary>
internal sealed class HarnessContext(SandboxEnvironment environment, SandboxSetup setup, HarnessEndpoints endpoints, ILogger logger)
{
    public SandboxEnvironment Environment { get; } = environment;

    public SandboxSetup Setup { get; } = setup;

    public HarnessEndpoints Endpoints { get; } = endpoints;

    public ILogger Logger { get; } = logger;

    public string Workspace => Environment.Workspace;

    public string Bin(string name) => Path.Combine(Environment.HarnessBin, name);

    private string SessionFile => Path.Combine(Environment.StateDirectory, "harness-session.json");

    /// <summary>The CLI's own session/thread id for this thread, kept in $HOME so a restarted sandbox resumes it.</summary>
    public string? LoadSessionId()
    {
        try
        {
            var json = WireJson.TryParseObject(File.ReadAllText(SessionFile));
            return json is not null && json.GetString("harness") == Setup.Harness ? json.GetString("session_id") : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    public void SaveSessionId(string sessionId)
    {
        Directory.CreateDirectory(Environment.StateDirectory);
        var json = new JsonObject { ["harness"] = Setup.Harness, ["session_id"] = sessionId };
        var temp = SessionFile + ".tmp";
        File.WriteAllText(temp, json.ToJsonString());
        File.Move(temp, SessionFile, overwrite: true);
        HarnessLog.Session(Logger, Setup.Harness, sessionId, "saved");
    }

    /// <summary>
    /// The CLI's environment: the sandbox's own (placeholders, CA paths) plus proxy settings carrying this thread's
    /// sandbox token, the tool gateway, and every switch that keeps a CLI from phoning home or updating itself.
    /// </summary>
    public Dictionary<string, string?> ProcessEnvironment(string? sandboxToken)
    {
        var env = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["HOME"] = Environment.Home,
            ["PATH"] = $"{Environment.HarnessBin}:{Path.Combine(Environment.ContentDirectory, "path")}:/usr/local/bin:/usr/bin:/bin",
            ["CENTAUR_API_URL"] = Endpoints.ApiUrl,
            ["CENTAUR_SANDBOX_TOKEN_FILE"] = Environment.TokenFile,
            ["CENTAUR_THREAD_KEY"] = Setup.ThreadKey,
            ["NO_PROXY"] = "127.0.0.1,localhost,::1",
            ["no_proxy"] = "127.0.0.1,localhost,::1",
            ["DISABLE_TELEMETRY"] = "1",
            ["DO_NOT_TRACK"] = "1",
            ["DISABLE_AUTOUPDATER"] = "1",
            ["DISABLE_ERROR_REPORTING"] = "1",
            ["DISABLE_BUG_COMMAND"] = "1",
            ["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1",
            // Claude refuses bypassPermissions as root unless told it is sandboxed; the sandbox is the boundary.
            ["IS_SANDBOX"] = "1",
            ["PI_OFFLINE"] = "1",
            ["PI_TELEMETRY"] = "0",
            ["CODEX_HOME"] = Path.Combine(Environment.Home, ".codex"),
            ["GIT_TERMINAL_PROMPT"] = "0",
            ["TERM"] = "dumb",
            ["NO_COLOR"] = "1",
            ["CENTAUR_SANDBOX_TOKEN"] = sandboxToken,
        };

        if (Endpoints.EgressUrl is { } egress)
        {
            // The proxy authenticates the sandbox by the token in the proxy URL's userinfo (Proxy-Authorization: Basic).
            var proxy = sandboxToken is null ? egress : egress.Replace("http://", $"http://sandbox:{Uri.EscapeDataString(sandboxToken)}@", StringComparison.Ordinal);
            env["HTTPS_PROXY"] = env["HTTP_PROXY"] = env["https_proxy"] = env["http_proxy"] = env["ALL_PROXY"] = proxy;

            // Node's built-in fetch and http ignore HTTPS_PROXY unless told (Node 22.21+/24+; older Nodes ignore this
            // too and reach the proxy by base URL instead).
            env["NODE_USE_ENV_PROXY"] = "1";
        }

        if (Environment.ProxyCaFile is { } ca)
        {
            env["NODE_EXTRA_CA_CERTS"] = ca;
            env["SSL_CERT_FILE"] = ca;
            env["REQUESTS_CA_BUNDLE"] = ca;
            env["CURL_CA_BUNDLE"] = ca;
            env["GIT_SSL_CAINFO"] = ca;
            env["CODEX_CA_CERTIFICATE"] = ca;
        }

        if (Endpoints.AnthropicBaseUrl is { } anthropic)
        {
            env["ANTHROPIC_BASE_URL"] = anthropic;
        }

        if (Endpoints.OpenAiBaseUrl is { } openai)
        {
            env["OPENAI_BASE_URL"] = openai;
        }

        if (Endpoints.AmpUrl is { } amp)
        {
            env["AMP_URL"] = amp;
        }

        return env;
    }

    /// <summary>Writes the turn's attachments as files (CLIs that need paths get these) and returns the text plus their paths.</summary>
    public static string TextWithAttachmentPaths(HarnessTurn turn, Func<TurnAttachment, bool> inlined)
    {
        var listed = turn.Attachments.Where(a => !inlined(a)).ToList();
        if (listed.Count == 0)
        {
            return turn.Text;
        }

        return turn.Text + "\n\nAttached files:\n" + string.Join("\n", listed.Select(a => $"- {a.Path} ({a.MediaType})"));
    }
}

/// <summary>
/// Where the sandbox's ways out ended up: the egress forward (127.0.0.1:port → proxy socket), the API URL, and the
/// LLM base URLs when the backend runs in base-URL mode instead of HTTPS_PROXY mode.
/// </summary>
internal sealed record HarnessEndpoints(string? EgressUrl, string? ApiUrl, string? AnthropicBaseUrl, string? OpenAiBaseUrl, string? AmpUrl);
