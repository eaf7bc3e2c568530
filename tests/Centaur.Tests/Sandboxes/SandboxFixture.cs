using System.Text;
using System.Text.Json.Nodes;
using Centaur.Api;
using Centaur.Api.Auth;
using Centaur.Api.Sandboxes;
using Centaur.Api.Sandboxes.Local;
using Centaur.Tests.Fakes.FakeLlm;
using Centaur.Tests.Fakes.FakeToolGateway;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Centaur.Tests.Sandboxes;

/// <summary>
/// The local backend exactly as the API builds it, with real bubblewrap, the real runtime and the real harness CLIs
/// (scripts/install-harnesses.sh). LLM traffic: the harnesses run in base-URL mode against 127.0.0.1:8787 inside the
/// sandbox; the runtime forwards that to the egress Unix socket, which here is the fake LLM's own socket (standing
/// in for IronProxy's). /tools: the API forward goes to a fake tool gateway that checks sandbox tokens for real.
/// </summary>
public sealed class SandboxFixture : IAsyncLifetime
{
    public static readonly TimeSpan TurnTimeout = TimeSpan.FromSeconds(120);

    /// <summary>Planted in the API's configuration and environment; must never show up inside a sandbox.</summary>
    public const string PlantedSecret = "sk-ant-api03-CentaurPlantedRealLookingKey0123456789abcdefABCDEF-xyz";

    public string Root { get; } = Path.Combine(Path.GetTempPath(), $"centaur-sbx-tests-{Guid.NewGuid():N}"[..32]);

    public FakeLlmServer Llm { get; private set; } = null!;

    public FakeToolGateway Tools { get; private set; } = null!;

    internal LocalSandboxBackend Backend { get; private set; } = null!;

    internal LocalSandboxOptions Options { get; private set; } = null!;

    public byte[] TokenKey { get; } = Encoding.UTF8.GetBytes("centaur-sandbox-tests-token-key-0123456789");

    public async ValueTask InitializeAsync()
    {
        var harnesses = Environment.GetEnvironmentVariable("CENTAUR_HARNESS_DIR") ?? "/opt/centaur/harnesses";
        if (!File.Exists(Path.Combine(harnesses, "node_modules", ".bin", "claude")))
        {
            throw new InvalidOperationException($"the harness CLIs are not installed in {harnesses}: run scripts/install-harnesses.sh");
        }

        Directory.CreateDirectory(Root);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        Llm = await FakeLlmServer.StartAsync(Path.Combine(Root, "egress.sock"), cts.Token);
        Tools = await FakeToolGateway.StartAsync(TokenKey, cts.Token);
        // Planted where an API's secrets live: its environment (as Secrets__<name>, how the AppHost hands them out).
        Environment.SetEnvironmentVariable("CENTAUR_TEST_PLANTED_SECRET", PlantedSecret);
        Environment.SetEnvironmentVariable("Secrets__anthropic-api-key", PlantedSecret);
        WriteOverlay(Path.Combine(Root, "overlay"));

        Options = new LocalSandboxOptions
        {
            StateDirectory = Path.Combine(Root, "state"),
            HarnessDirectory = harnesses,
            RuntimeDirectory = Path.Combine(AppContext.BaseDirectory, "sandbox-runtime"),
            EgressSocket = Llm.SocketPath,
            AnthropicBaseUrl = "{egress}",
            OpenAiBaseUrl = "{egress}/v1",
            AmpUrl = "{egress}",
            ApiUrl = Tools.Url,
            TurnTimeoutSeconds = 120,
            OverlayDirectory = Path.Combine(Root, "overlay"),
            ProxyCaFile = WriteProxyCa(Path.Combine(Root, "proxy-ca.pem")),
        };
        Backend = CreateBackend(Options);
    }

    internal LocalSandboxBackend CreateBackend(LocalSandboxOptions options)
    {
        // The API's configuration holds a real-looking key (as IronProxy's would); the backend must not pass it on.
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Secrets:anthropic-api-key"] = PlantedSecret,
            ["ANTHROPIC_API_KEY"] = PlantedSecret,
        }).Build();
        var centaur = new CentaurOptions { SandboxTokenKey = Encoding.UTF8.GetString(TokenKey) };
        var wrapped = Microsoft.Extensions.Options.Options.Create(options);
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration).BuildServiceProvider();
        return new LocalSandboxBackend(
            wrapped,
            new SandboxTokenIssuer(Microsoft.Extensions.Options.Options.Create(centaur), TimeProvider.System),
            new ApiSocketForwarder(wrapped, services, NullLogger<ApiSocketForwarder>.Instance),
            TimeProvider.System,
            NullLogger<LocalSandboxBackend>.Instance);
    }

    /// <summary>A CA certificate as the egress proxy would hand out (its key stays with the proxy: here, nowhere).</summary>
    private static string WriteProxyCa(string path)
    {
        using var key = System.Security.Cryptography.ECDsa.Create();
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=Centaur test proxy CA", key, System.Security.Cryptography.HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new System.Security.Cryptography.X509Certificates.X509BasicConstraintsExtension(true, false, 0, true));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        File.WriteAllText(path, certificate.ExportCertificatePem());
        return path;
    }

    /// <summary>An org overlay: its prompt, a persona, its own skill and a replacement for a base skill.</summary>
    private static void WriteOverlay(string overlay)
    {
        Directory.CreateDirectory(Path.Combine(overlay, "personas"));
        Directory.CreateDirectory(Path.Combine(overlay, "skills", "deploy-checks"));
        Directory.CreateDirectory(Path.Combine(overlay, "skills", "centaur-tools"));
        File.WriteAllText(Path.Combine(overlay, "AGENTS.md"), "ORG OVERLAY: Acme rules apply.\n");
        File.WriteAllText(Path.Combine(overlay, "personas", "reviewer.md"), "PERSONA reviewer: review code carefully.\n");
        File.WriteAllText(Path.Combine(overlay, "skills", "deploy-checks", "SKILL.md"), "---\nname: deploy-checks\ndescription: org skill\n---\nCheck deploys.\n");
        File.WriteAllText(Path.Combine(overlay, "skills", "centaur-tools", "SKILL.md"), "---\nname: centaur-tools\ndescription: the org's version\n---\nORG VERSION of centaur-tools.\n");
    }

    public static string NewId() => "t" + Guid.NewGuid().ToString("N")[..15];

    public static string NewThread(string name) => $"test:{name}:{Guid.NewGuid():N}";

    internal async Task<(SandboxInfo Info, ISandboxWire Wire)> StartAsync(string threadKey, string harness = "claude", string? model = null, string? repo = null, string? sandboxId = null)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var spec = new SandboxSpec(sandboxId ?? NewId(), threadKey, harness, null, repo, new Dictionary<string, string>()) { Model = model };
        var info = await Backend.StartAsync(spec, cts.Token);
        return (info, await Backend.AttachAsync(info.SandboxId, cts.Token));
    }

    /// <summary>Sends turn.start and returns every line up to and including turn.done.</summary>
    public static async Task<Turn> TurnAsync(ISandboxWire wire, int turnId, string text, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TurnTimeout);
        await wire.SendAsync(new JsonObject { ["type"] = "turn.start", ["turn_id"] = turnId, ["text"] = text }, cts.Token);
        return await ReadTurnAsync(wire, turnId, cts.Token);
    }

    public static async Task<Turn> ReadTurnAsync(ISandboxWire wire, int turnId, CancellationToken cancellationToken)
    {
        var lines = new List<JsonObject>();
        await foreach (var line in wire.ReadAllAsync(cancellationToken))
        {
            lines.Add(line);
            if (Type(line) == "turn.done" && line["turn_id"]?.GetValue<int>() == turnId)
            {
                return new Turn(lines, true);
            }
        }

        return new Turn(lines, false);
    }

    public static string? Type(JsonObject line) => line["type"]?.GetValue<string>();

    public async ValueTask DisposeAsync()
    {
        await Backend.DisposeAsync();
        await Llm.DisposeAsync();
        await Tools.DisposeAsync();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A sandbox file still held open; the folder is in /tmp.
        }
    }
}

/// <summary>The lines of one turn, as the control plane would read them.</summary>
public sealed record Turn(IReadOnlyList<JsonObject> Lines, bool Done)
{
    public JsonObject? Result => Lines.LastOrDefault(l => SandboxFixture.Type(l) == "result");

    public JsonObject? TurnDone => Lines.LastOrDefault(l => SandboxFixture.Type(l) == "turn.done");

    public bool Succeeded => Done && Result?["subtype"]?.GetValue<string>() == "success";

    public string ResultText => Result?["result"]?.GetValue<string>() ?? "";

    public IEnumerable<JsonObject> OfType(string type) => Lines.Where(l => SandboxFixture.Type(l) == type);

    /// <summary>Every tool_result block the harness reported (canonical user lines).</summary>
    public IEnumerable<string> ToolResults => OfType("user")
        .SelectMany(l => l["message"]?["content"] as JsonArray ?? [])
        .OfType<JsonObject>()
        .Where(b => b["type"]?.GetValue<string>() == "tool_result")
        .Select(b => b["content"] is JsonValue v ? v.GetValue<string>() : b["content"]?.ToJsonString() ?? "");

    public override string ToString() => string.Join("\n", Lines.Select(l => l.ToJsonString()));
}

[CollectionDefinition(Name)]
public sealed class SandboxCollection : ICollectionFixture<SandboxFixture>
{
    public const string Name = "sandboxes";
}
