using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Centaur.Api.Auth;

/// <summary><c>Authorization: Bearer &lt;api key&gt;</c> for clients (Slack adapter, CLI, console, proxy).</summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiClientStore clients)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var key = BearerToken(Request) ?? Request.Cookies[CookieName];
        if (key is null || key.StartsWith(SandboxToken.Prefix, StringComparison.Ordinal))
        {
            return AuthenticateResult.NoResult();
        }

        var client = await clients.FindByKeyAsync(key, Context.RequestAborted);
        if (client is null)
        {
            return AuthenticateResult.Fail("unknown or revoked API key");
        }

        var identity = new ClaimsIdentity(
            [new Claim(ClaimTypes.Name, client.Name), .. client.Scopes.Select(s => new Claim(ScopeClaim, s))], SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    public const string ScopeClaim = "scope";

    /// <summary>The console's login form stores the key in this HttpOnly cookie.</summary>
    public const string CookieName = "centaur_key";

    internal static string? BearerToken(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && header.Length > 7 ? header[7..].Trim() : null;
    }

    internal static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));
}
