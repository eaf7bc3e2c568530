using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;

namespace Centaur.Api.Auth;

internal static class AuthExtensions
{
    public const string AgentPolicy = "agent";
    public const string AdminPolicy = "admin";
    public const string SandboxPolicy = "sandbox";
    public const string EgressGrantPolicy = "egress_grant";

    public static IHostApplicationBuilder AddCentaurAuth(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<BootstrapClientsOptions>().BindConfiguration("Auth");
        builder.Services.AddSingleton<ApiClientStore>();
        builder.Services.AddSingleton<SandboxTokenIssuer>();
        builder.Services.AddHostedService<BootstrapClients>();
        builder.Services.AddAuthentication(o =>
            {
                o.DefaultScheme = ApiKeyAuthenticationHandler.SchemeName;
                o.DefaultChallengeScheme = ApiKeyAuthenticationHandler.SchemeName;
            })
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null)
            .AddScheme<AuthenticationSchemeOptions, SandboxTokenAuthenticationHandler>(SandboxTokenAuthenticationHandler.SchemeName, null);
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(AgentPolicy, p => p.AddAuthenticationSchemes(ApiKeyAuthenticationHandler.SchemeName)
                .RequireClaim(ApiKeyAuthenticationHandler.ScopeClaim, Scopes.Agent))
            .AddPolicy(AdminPolicy, p => p.AddAuthenticationSchemes(ApiKeyAuthenticationHandler.SchemeName)
                .RequireClaim(ApiKeyAuthenticationHandler.ScopeClaim, Scopes.Admin))
            .AddPolicy(EgressGrantPolicy, p => p.AddAuthenticationSchemes(ApiKeyAuthenticationHandler.SchemeName)
                .RequireAssertion(c => c.User.HasClaim(ApiKeyAuthenticationHandler.ScopeClaim, Scopes.Admin)
                    || c.User.HasClaim(ApiKeyAuthenticationHandler.ScopeClaim, Scopes.EgressGrant)))
            .AddPolicy(SandboxPolicy, p => p.AddAuthenticationSchemes(SandboxTokenAuthenticationHandler.SchemeName)
                .RequireClaim(ApiKeyAuthenticationHandler.ScopeClaim, Scopes.Sandbox));
        builder.Services.AddHealthChecks().AddSecretCheck("sandbox-token-key", $"{CentaurOptions.Section}:SandboxTokenKey");
        return builder;
    }

    public static string ClientName(this HttpContext context) => context.User.Identity?.Name ?? "anonymous";
}
