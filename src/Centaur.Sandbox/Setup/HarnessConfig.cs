using System.Text.Json.Nodes;
using Centaur.Sandbox.Harnesses;

namespace Centaur.Sandbox.Setup;

/// <summary>
/// The harness CLIs' own config files in $HOME: no telemetry, no auto-update, no permission prompts (the sandbox is
/// the boundary), and the LLM endpoints (through the egress proxy). Rewritten at every start; harmless to repeat.
/// </summary>
internal static class HarnessConfig
{
    public static void Write(SandboxEnvironment environment, HarnessEndpoints endpoints, SandboxSetup setup)
    {
        WriteClaude(environment.Home);
        WriteCodex(environment.Home, endpoints, setup.Model);
        WritePi(environment.Home, endpoints);
        WriteGit(environment);
    }

    private static void WriteClaude(string home)
    {
        var settings = new JsonObject
        {
            ["permissions"] = new JsonObject { ["defaultMode"] = "bypassPermissions" },
            ["includeCoAuthoredBy"] = false,
            ["env"] = new JsonObject
            {
                ["DISABLE_TELEMETRY"] = "1",
                ["DISABLE_AUTOUPDATER"] = "1",
                ["DISABLE_ERROR_REPORTING"] = "1",
                ["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1",
            },
        };
        Write(Path.Combine(home, ".claude", "settings.json"), settings.ToJsonString());
    }

    private static void WriteCodex(string home, HarnessEndpoints endpoints, string? model)
    {
        // Codex ignores OPENAI_BASE_URL: only a provider entry moves it. Plugins off: they call GitHub at start.
        var baseUrl = endpoints.OpenAiBaseUrl ?? "https://api.openai.com/v1";
        var toml = $"""
            {(model is null ? "" : $"model = \"{model}\"")}
            model_provider = "centaur"
            check_for_update_on_startup = false
            approval_policy = "never"
            sandbox_mode = "danger-full-access"

            [features]
            plugins = false

            [model_providers.centaur]
            name = "Centaur egress proxy"
            base_url = "{baseUrl}"
            env_key = "OPENAI_API_KEY"
            wire_api = "responses"
            supports_websockets = false
            request_max_retries = 2
            stream_max_retries = 2

            [analytics]
            enabled = false

            [feedback]
            enabled = false
            """;
        Write(Path.Combine(home, ".codex", "config.toml"), toml.TrimStart() + "\n");
    }

    private static void WritePi(string home, HarnessEndpoints endpoints)
    {
        var providers = new JsonObject();
        if (endpoints.AnthropicBaseUrl is { } anthropic)
        {
            providers["anthropic"] = new JsonObject { ["baseUrl"] = anthropic };
        }

        if (endpoints.OpenAiBaseUrl is { } openai)
        {
            providers["openai"] = new JsonObject { ["baseUrl"] = openai };
        }

        Write(Path.Combine(home, ".pi", "agent", "models.json"), new JsonObject { ["providers"] = providers }.ToJsonString());
    }

    private static void WriteGit(SandboxEnvironment environment)
    {
        var config = """
            [user]
            	name = Centaur
            	email = centaur@localhost
            [init]
            	defaultBranch = main
            [advice]
            	detachedHead = false

            """;
        if (environment.ProxyCaFile is { } ca)
        {
            config += $"[http]\n\tsslCAInfo = {ca}\n";
        }

        Write(Path.Combine(environment.Home, ".gitconfig"), config);
    }

    private static void Write(string path, string content)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
    }
}
