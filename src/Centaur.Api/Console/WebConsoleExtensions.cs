using Centaur.Api.Auth;
using Centaur.Api.Errors;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Components.Endpoints;

namespace Centaur.Api.WebConsole;

/// <summary>
/// The web console at /console: Razor components rendered on the server (static SSR, no front-end build), a little
/// vanilla JS for the live event stream. It signs in with an API key kept in the HttpOnly cookie the API's key
/// handler already reads, so the browser's EventSource reaches the same SSE endpoint every client uses.
/// </summary>
internal static class WebConsoleExtensions
{
    public const string BasePath = "/console";
    public const string LoginPath = "/console/login";

    public static IHostApplicationBuilder AddWebConsole(this IHostApplicationBuilder builder)
    {
        builder.Services.AddRazorComponents();
        builder.Services.AddSingleton<ConsoleQueries>();
        return builder;
    }

    /// <summary>Antiforgery for the console's forms, and a redirect to the sign-in page for its pages. After UseAuthorization.</summary>
    public static WebApplication UseWebConsole(this WebApplication app)
    {
        app.UseAntiforgery();
        app.Use(static async (context, next) =>
        {
            var endpoint = context.GetEndpoint();
            if (endpoint?.Metadata.GetMetadata<ComponentTypeMetadata>() is not null
                && endpoint.Metadata.GetMetadata<IAllowAnonymous>() is null
                && !IsSignedIn(context))
            {
                var returnUrl = context.Request.Path + context.Request.QueryString;
                context.Response.Redirect($"{LoginPath}?returnUrl={Uri.EscapeDataString(returnUrl)}");
                return;
            }

            // Razor components answer a missing token with a text/plain 400, and minimal APIs check it only when they
            // bind a form (the logout binds none, so it went unchecked): one check for every console form, answered
            // like every other refusal of the API.
            // UseAntiforgery validated form posts already (after a failure the form may not be read again); a post
            // without a form is checked here.
            if (HttpMethods.IsPost(context.Request.Method)
                && endpoint?.Metadata.GetMetadata<IAntiforgeryMetadata>() is { RequiresValidation: true }
                && !(context.Features.Get<IAntiforgeryValidationFeature>()?.IsValid
                     ?? await context.RequestServices.GetRequiredService<IAntiforgery>().IsRequestValidAsync(context)))
            {
                await Problems.BadRequest("invalid_antiforgery_token", "The form's antiforgery token is missing or invalid; reload the page and submit it again.")
                    .ExecuteAsync(context);
                return;
            }

            await next(context);
        });
        return app;
    }

    public static WebApplication MapWebConsole(this WebApplication app)
    {
        app.MapStaticAssets();
        app.MapRazorComponents<App>();
        app.MapPost("/console/logout", static (HttpContext context) =>
            {
                context.Response.Cookies.Delete(ApiKeyAuthenticationHandler.CookieName, CookieOptions(context));
                return TypedResults.Redirect(LoginPath);
            })
            .WithMetadata(new RequireAntiforgeryTokenAttribute())
            .ExcludeFromDescription();
        return app;
    }

    /// <summary>The console shows threads and events: it needs a key with the agent scope.</summary>
    public static bool IsSignedIn(HttpContext context) =>
        context.User.Identity?.IsAuthenticated == true
        && context.User.HasClaim(ApiKeyAuthenticationHandler.ScopeClaim, Scopes.Agent);

    /// <summary>
    /// HttpOnly (no script reads the key), SameSite=Strict (no other site's page can make the browser send it, which
    /// is what keeps the cookie-authenticated JSON endpoints safe from cross-site requests), Secure on HTTPS.
    /// </summary>
    public static CookieOptions CookieOptions(HttpContext context) => new()
    {
        HttpOnly = true,
        SameSite = SameSiteMode.Strict,
        Secure = context.Request.IsHttps,
        Path = "/",
        IsEssential = true,
    };

    /// <summary>Only a path inside the console: never an absolute or protocol-relative URL (open redirect).</summary>
    public static string SafeReturnUrl(string? returnUrl) =>
        returnUrl is { Length: > 0 } url && url.StartsWith(BasePath, StringComparison.Ordinal) && !url.StartsWith("//", StringComparison.Ordinal)
            && !url.Contains('\\', StringComparison.Ordinal)
            ? url
            : BasePath;
}
