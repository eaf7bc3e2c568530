using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Centaur.Api.Auth;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Centaur.Tests.Fakes.FakeToolGateway;

/// <summary>
/// Stands in for the API's /tools endpoint (the tool gateway is built elsewhere): POST /tools/{tool}/{method} with a
/// sandbox token checked exactly as the API will (SandboxToken.TryValidate with the shared key). The "echo" tool
/// answers with what it was given and who called, so a test can see the call arrived with the right identity.
/// </summary>
public sealed class FakeToolGateway : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeToolGateway(WebApplication app) => _app = app;

    public string Url { get; private set; } = "";

    public ConcurrentQueue<(string Tool, string Method, string ThreadKey, string SandboxId, JsonNode? Arguments)> Calls { get; } = new();

    public static async Task<FakeToolGateway> StartAsync(byte[] tokenKey, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var gateway = new FakeToolGateway(app);
        app.MapPost("/tools/{tool}/{method}", async (string tool, string method, HttpContext context) =>
        {
            var auth = context.Request.Headers.Authorization.ToString();
            var token = auth.StartsWith("Bearer ", StringComparison.Ordinal) ? auth[7..] : null;
            if (!SandboxToken.TryValidate(token, tokenKey, DateTimeOffset.UtcNow, out var identity))
            {
                return Results.Problem(title: "The sandbox token is missing, invalid or expired.", statusCode: 401, extensions: new Dictionary<string, object?> { ["code"] = "bad_sandbox_token" });
            }

            using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
            var arguments = JsonNode.Parse(await reader.ReadToEndAsync(context.RequestAborted));
            gateway.Calls.Enqueue((tool, method, identity.ThreadKey, identity.SandboxId, arguments));
            return tool == "echo"
                ? Results.Json(new JsonObject { ["tool"] = tool, ["method"] = method, ["thread_key"] = identity.ThreadKey, ["arguments"] = arguments?.DeepClone() })
                : Results.Problem(title: $"No tool '{tool}'.", statusCode: 404, extensions: new Dictionary<string, object?> { ["code"] = "unknown_tool" });
        });
        await app.StartAsync(cancellationToken);
        gateway.Url = app.Urls.First();
        return gateway;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
