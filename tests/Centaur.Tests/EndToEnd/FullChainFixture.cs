using System.Net.Http.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Centaur.Tests.Fakes;
using Centaur.Tests.Fakes.FakeLlm;
using Centaur.Tests.Fakes.FakeOtlpCollector;
using Centaur.Tests.Fakes.FakeSlack;
using Centaur.Tests.Infrastructure;
using Centaur.Tests.Slack;
using Npgsql;

namespace Centaur.Tests.EndToEnd;

/// <summary>
/// The AppHost exactly as an operator runs it on one machine (embedded Postgres, api with the local bubblewrap
/// backend, slack, ironproxy with its Unix socket and CA in the state folder), configured only through AppHost
/// settings. Two things stand in for what does not exist here: Slack's servers (FakeSlackServer) and the LLM vendors
/// (FakeLlmServer over real TLS, certificates from a private CA). The egress policy points api.anthropic.com and
/// api.openai.com at the fake, as an operator with private PKI would; the seeded credential bindings are kept.
/// </summary>
public sealed class FullChainFixture : CentaurAppFixture
{
    public const string AnthropicKey = "sk-ant-api03-full-chain-REAL-anthropic-key-0123456789";
    public const string OpenAiKey = "sk-proj-full-chain-REAL-openai-key-0123456789";
    public const string AdminKey = "ck_full_chain_admin_key_0123456789abcdef";
    public const string BotToken = "xoxb-full-chain-bot-token";

    private FakeCertificates _certificates = null!;

    public FakeSlackServer Slack { get; private set; } = null!;

    public FakeLlmServer Llm { get; private set; } = null!;

    public NpgsqlDataSource Db { get; private set; } = null!;

    public FakeOtlpCollector Telemetry { get; private set; } = null!;

    public static IEnumerable<string> Secrets => [AnthropicKey, OpenAiKey, AdminKey, BotToken, SignedSlackRequest.Secret];

    protected override IEnumerable<string> AppHostArguments =>
    [
        $"Parameters:slack-signing-secret={SignedSlackRequest.Secret}",
        $"Parameters:slack-bot-token={BotToken}",
        $"Parameters:anthropic-api-key={AnthropicKey}",
        $"Parameters:openai-api-key={OpenAiKey}",
        $"Parameters:admin-api-key={AdminKey}",
        $"Slack:ApiBaseUrl={Slack.ApiBaseUrl}",
    ];

    public override async ValueTask InitializeAsync()
    {
        using var cts = new CancellationTokenSource(StartTimeout);
        _certificates = FakeCertificates.Create("Fake LLM vendors CA", ["api.anthropic.com", "api.openai.com"]);
        Slack = await FakeSlackServer.StartAsync();
        Telemetry = await FakeOtlpCollector.StartAsync(cts.Token);
        Directory.CreateDirectory(StateDirectory);
        Llm = await FakeLlmServer.StartAsync(Path.Combine(StateDirectory, "fake-llm.sock"), cts.Token, _certificates.Server);
        await base.InitializeAsync();
        Db = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(await App.GetConnectionStringAsync("postgres", cts.Token)) { Database = "centaur" }.ConnectionString);

        using var api = AdminClient();
        foreach (var host in new[] { "api.anthropic.com", "api.openai.com" })
        {
            using var response = await api.PutAsJsonAsync($"/egress/hosts/{host}",
                new { ports = new[] { 443 }, connect_to = $"127.0.0.1:{Llm.TlsPort}", allow_private = true, trusted_ca_pem = _certificates.CaPem }, cts.Token);
            response.EnsureSuccessStatusCode();
        }
    }

    /// <summary>Every service exports its spans to the collector, as it would to the dashboard, flushing quickly.</summary>
    protected override void ConfigureApp(IDistributedApplicationTestingBuilder builder)
    {
        foreach (var service in Services)
        {
            builder.CreateResourceBuilder<ProjectResource>(service)
                .WithEnvironment("OTEL_EXPORTER_OTLP_ENDPOINT", Telemetry.Url)
                .WithEnvironment("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
                .WithEnvironment("OTEL_SERVICE_NAME", service)
                .WithEnvironment("OTEL_BSP_SCHEDULE_DELAY", "200")
                .WithEnvironment("OTEL_METRIC_EXPORT_INTERVAL", "1000");
        }
    }

    public HttpClient AdminClient()
    {
        var http = App.CreateHttpClient("api");
        http.DefaultRequestHeaders.Authorization = new("Bearer", AdminKey);
        return http;
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        if (Db is not null)
        {
            await Db.DisposeAsync();
        }

        await Llm.DisposeAsync();
        await Telemetry.DisposeAsync();
        await Slack.DisposeAsync();
        _certificates.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class FullChainCollection : ICollectionFixture<FullChainFixture>
{
    public const string Name = "full-chain";
}
