var builder = DistributedApplication.CreateBuilder(args);

var slackSigningSecret = builder.AddOptionalSecret("slack-signing-secret");
var slackBotToken = builder.AddOptionalSecret("slack-bot-token");
var slackAppToken = builder.AddOptionalSecret("slack-app-token");
var anthropicApiKey = builder.AddOptionalSecret("anthropic-api-key");
var openAiApiKey = builder.AddOptionalSecret("openai-api-key");
var sandboxTokenKey = builder.AddGeneratedSecret("sandbox-token-key");
var slackApiKey = builder.AddGeneratedSecret("slack-api-key");
var proxyApiKey = builder.AddGeneratedSecret("ironproxy-api-key");
var adminApiKey = builder.AddGeneratedSecret("admin-api-key");

var db = builder.AddCentaurDatabase("postgres", "centaur");

var api = builder.AddProject<Projects.Centaur_Api>("api")
    .WithPortOverride(builder.Configuration)
    .WithReference(db, "centaur").WaitFor(db)
    .WithEnvironment("Centaur__SandboxTokenKey", sandboxTokenKey)
    .WithEnvironment("Auth__BootstrapClients__slack", slackApiKey)
    .WithEnvironment("Auth__BootstrapClients__ironproxy", proxyApiKey)
    .WithEnvironment("Auth__BootstrapClients__admin", adminApiKey)
    .WithUrlForEndpoint("http", _ => new() { Url = "/console", DisplayText = "Console" })
    .WithHttpHealthCheck("/health");
// The org overlay (tools, workflows, personas, skills, prompts) and the slack tool's Web API, when configured.
foreach (var (setting, variable) in new[] { ("Overlay:Path", "Overlay__Path"), ("Slack:ApiBaseUrl", "Slack__ApiBaseUrl") })
{
    if (builder.Configuration[setting] is { Length: > 0 } value)
    {
        api.WithEnvironment(variable, value);
    }
}

var ironproxy = builder.AddProject<Projects.Centaur_IronProxy>("ironproxy")
    .WithPortOverride(builder.Configuration)
    .WithReference(db, "centaur").WaitFor(db)
    .WithReference(api).WaitFor(api)
    .WithEnvironment("Api__Key", proxyApiKey)
    .WithEnvironment("Centaur__SandboxTokenKey", sandboxTokenKey)
    .WithEnvironment("IronProxy__UnixSocketPath", builder.Configuration["IronProxy:UnixSocketPath"] ?? "")
    .WithEnvironment("Secrets__anthropic-api-key", anthropicApiKey)
    .WithEnvironment("Secrets__openai-api-key", openAiApiKey)
    .WithHttpHealthCheck("/health");

api.WithEnvironment("IronProxy__Url", ironproxy.GetEndpoint("http"));

builder.AddProject<Projects.Centaur_Slack>("slack")
    .WithPortOverride(builder.Configuration)
    .WithReference(db, "centaur").WaitFor(db)
    .WithReference(api).WaitFor(api)
    .WithEnvironment("Api__Key", slackApiKey)
    .WithEnvironment("Slack__SigningSecret", slackSigningSecret)
    .WithEnvironment("Slack__BotToken", slackBotToken)
    .WithEnvironment("Slack__AppToken", slackAppToken)
    .WithEnvironment("Slack__ApiBaseUrl", builder.Configuration["Slack:ApiBaseUrl"] ?? "https://slack.com/api/")
    .WithHttpHealthCheck("/health");

builder.AddKubernetesManifests();

builder.Build().Run();
