using Centaur.Slack.ControlPlane;
using Centaur.Slack.Inbound;
using Centaur.Slack.Replies;
using Centaur.Slack.SocketMode;
using Centaur.Slack.WebApi;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Centaur.Slack;

internal static class SlackServiceExtensions
{
    /// <summary>The adapter: both transports, the inbox, the control-plane client, the reply streamers and the outbox.</summary>
    public static IHostApplicationBuilder AddSlackAdapter(this IHostApplicationBuilder builder)
    {
        builder.AddNpgsqlDataSource("centaur");
        builder.Services.AddOptions<SlackOptions>().BindConfiguration(SlackOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<CentaurApiOptions>().BindConfiguration(CentaurApiOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton(TimeProvider.System);

        // Slack's 429 handling and the never-ending SSE stream need their own policies, not the standard handler
        // (its 30 s total timeout would cut every stream). EXTEXP0001: RemoveAllResilienceHandlers is the documented
        // way to opt one client out of ConfigureHttpClientDefaults.
#pragma warning disable EXTEXP0001
        builder.Services.AddHttpClient(SlackApiClient.HttpClientName, (sp, http) =>
        {
            http.BaseAddress = sp.GetRequiredService<IOptions<SlackOptions>>().Value.ApiBaseUrl;
            http.Timeout = TimeSpan.FromSeconds(30);
        }).RemoveAllResilienceHandlers();
        builder.Services.AddHttpClient(CentaurApiClient.StreamClientName).RemoveAllResilienceHandlers();
#pragma warning restore EXTEXP0001
        builder.Services.AddHttpClient(CentaurApiClient.HttpClientName);

        builder.Services.AddSingleton<InboxWriter>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<InboxWriter>());
        builder.Services.AddSingleton<SlackInbox>();
        builder.Services.AddSingleton<InboxSignal>();
        builder.Services.AddSingleton<DeliverySignal>();
        builder.Services.AddSingleton<SlackApiClient>();
        builder.Services.AddSingleton<SlackUpdateBudget>();
        builder.Services.AddSingleton<BotIdentity>();
        builder.Services.AddSingleton<CentaurApiClient>();
        builder.Services.AddSingleton<ReplyStore>();
        builder.Services.AddSingleton<ReplyPoster>();
        builder.Services.AddSingleton<ThreadNotices>();
        builder.Services.AddSingleton<EgressAllowance>();
        builder.Services.AddSingleton<ReplyCoordinator>();
        builder.Services.AddSingleton<ReplyFinalizer>();
        builder.Services.AddSingleton<ReplyStreamer>();
        builder.Services.AddSingleton<TurnStarter>();
        builder.Services.AddSingleton<SlackEvents>();
        builder.Services.AddHostedService<InboxProcessor>();
        builder.Services.AddHostedService<DeliveryWorker>();
        builder.Services.AddSingleton<SocketModeService>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<SocketModeService>());

        builder.Services.AddHealthChecks()
            .AddSecretCheck("slack-bot-token", "Slack:BotToken")
            .AddSecretCheck("slack-api-key", "Api:Key")
            .AddCheck("slack-transport", () => HasTransport(builder.Configuration)
                ? HealthCheckResult.Healthy("HTTP events or Socket Mode is configured")
                : HealthCheckResult.Degraded("neither Slack:SigningSecret (HTTP events) nor Slack:AppToken (Socket Mode) is set"),
                ["secrets"]);
        return builder;
    }

    private static bool HasTransport(IConfiguration configuration) =>
        !string.IsNullOrWhiteSpace(configuration["Slack:SigningSecret"]) || !string.IsNullOrWhiteSpace(configuration["Slack:AppToken"]);
}
