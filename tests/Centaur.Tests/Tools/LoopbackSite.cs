using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Centaur.Tests.Tools;

/// <summary>A small real web site on 127.0.0.1 for the web tool to fetch: an HTML page, a redirect and an image.</summary>
public sealed class LoopbackSite : IAsyncDisposable
{
    public const string Page = """
        <!doctype html><html><head><title>Billing runbook</title><style>body { color: red }</style>
        <script>var secret = "not text";</script></head>
        <body><h1>Billing&nbsp;runbook</h1><p>Restart the <b>billing</b> worker &amp; check the queue.</p>
        <ul><li>step one</li><li>step two</li></ul><!-- hidden comment --></body></html>
        """;

    private readonly WebApplication _app;

    private LoopbackSite(WebApplication app) => _app = app;

    public Uri BaseUrl { get; private set; } = null!;

    public static async Task<LoopbackSite> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapGet("/runbook", () => Results.Content(Page, "text/html; charset=utf-8"));
        app.MapGet("/moved", () => Results.Redirect("/runbook"));
        app.MapGet("/logo.png", () => Results.Bytes(new byte[] { 0x89, 0x50, 0x4e, 0x47, 1, 2, 3 }, "image/png"));
        await app.StartAsync();
        var site = new LoopbackSite(app)
        {
            BaseUrl = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/') + "/"),
        };
        return site;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
