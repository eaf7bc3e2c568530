using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Centaur.Api.Auth;

/// <summary><c>Authorization: Bearer sbx1.…</c>: a sandbox speaking for its thread (tool gateway).</summary>
internal sealed class SandboxTokenAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, SandboxTokenIssuer issuer)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "SandboxToken";
    public const string ThreadClaim = "thread_key";
    public const string SandboxClaim = "sandbox_id";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var token = ApiKeyAuthenticationHandler.BearerToken(Request);
        if (token is null || !token.StartsWith(SandboxToken.Prefix, StringComparison.Ordinal))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        if (!issuer.TryValidate(token, out var valid))
        {
            return Task.FromResult(AuthenticateResult.Fail("invalid or expired sandbox token"));
        }

        var identity = new ClaimsIdentity(
        [
            new Claim(ClaimTypes.Name, $"sandbox:{valid.SandboxId}"),
            new Claim(ThreadClaim, valid.ThreadKey),
            new Claim(SandboxClaim, valid.SandboxId),
            new Claim(ApiKeyAuthenticationHandler.ScopeClaim, Scopes.Sandbox),
        ], SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }
}
