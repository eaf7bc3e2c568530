using System.Diagnostics;
using System.Net;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Centaur.Tests.Fakes.FakeUpstream;

/// <summary>
/// Stands in for the internet the proxy reaches (api.anthropic.com, github.com, …), which does not exist here: a
/// real Kestrel HTTPS server on 127.0.0.1 (HTTP/1.1 and HTTP/2) with its own CA, answering for several names. It
/// echoes what it received, streams SSE, sinks uploads, serves downloads, echoes WebSockets, serves a git repository
/// through `git http-backend` behind Basic auth, and can check the side-effect ledger when a request arrives.
/// </summary>
public sealed class FakeUpstreamServer : IAsyncDisposable
{
    public static readonly string[] Names = ["api.anthropic.test", "other.test", "git.test", "passthrough.test", "openai.test", "restart.test", "localhost"];

    private readonly WebApplication _app;
    private readonly X509Certificate2 _ca;

    private FakeUpstreamServer(WebApplication app, X509Certificate2 ca, string gitRoot)
    {
        _app = app;
        _ca = ca;
        GitRoot = gitRoot;
    }

    public int Port { get; private set; }

    public string ConnectTo => $"127.0.0.1:{Port}";

    /// <summary>The same endpoints over plain HTTP (for HTTP_PROXY clients and http:// routes).</summary>
    public int PlainPort { get; private set; }

    public string CaPem => _ca.ExportCertificatePem();

    public string GitRoot { get; }

    /// <summary>The credential git must present (Basic password); the proxy must have swapped it in.</summary>
    public string? GitToken { get; set; }

    /// <summary>Called when a request reaches /ledger-check/{marker}: does the ledger already hold its row?</summary>
    public Func<string, Task<bool>>? LedgerCheck { get; set; }

    public static async Task<FakeUpstreamServer> StartAsync(CancellationToken cancellationToken)
    {
        var certificates = FakeCertificates.Create("Fake Upstream CA", Names);
        var ca = certificates.Ca;
        var leaf = certificates.Server;

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.Listen(IPAddress.Loopback, 0, listen =>
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                listen.UseHttps(leaf);
            });
            kestrel.Listen(IPAddress.Loopback, 0);
        });
        var app = builder.Build();
        var server = new FakeUpstreamServer(app, ca, CreateGitRepository());
        server.Map();
        await app.StartAsync(cancellationToken);
        var addresses = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses;
        server.Port = new Uri(addresses.First(a => a.StartsWith("https:", StringComparison.Ordinal))).Port;
        server.PlainPort = new Uri(addresses.First(a => a.StartsWith("http:", StringComparison.Ordinal))).Port;
        return server;
    }

    private void Map()
    {
        _app.UseWebSockets();
        _app.Map("/echo/{**rest}", EchoAsync);
        _app.MapGet("/sse", SseAsync);
        _app.MapPost("/upload", (Func<HttpContext, Task<IResult>>)UploadAsync);
        _app.MapGet("/download", DownloadAsync);
        _app.Map("/ws", WebSocketEchoAsync);
        _app.MapPost("/ledger-check/{marker}", async (string marker) =>
            Results.Json(new Dictionary<string, bool> { ["seen"] = LedgerCheck is not null && await LedgerCheck(marker) }));
        _app.Map("/git/{**path}", GitAsync);
    }

    private static async Task EchoAsync(HttpContext context)
    {
        using var sha = SHA256.Create();
        var length = 0L;
        var buffer = new byte[64 * 1024];
        int read;
        while ((read = await context.Request.Body.ReadAsync(buffer, context.RequestAborted)) > 0)
        {
            sha.TransformBlock(buffer, 0, read, null, 0);
            length += read;
        }

        sha.TransformFinalBlock([], 0, 0);
        var headers = context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString());
        await context.Response.WriteAsJsonAsync(new Dictionary<string, object>
        {
            ["method"] = context.Request.Method,
            ["host"] = context.Request.Host.Value ?? "",
            ["path"] = context.Request.Path.Value ?? "",
            ["query"] = context.Request.QueryString.Value ?? "",
            ["protocol"] = context.Request.Protocol,
            ["headers"] = headers,
            ["body_length"] = length,
            ["body_sha256"] = Convert.ToHexStringLower(sha.Hash!),
        });
    }

    private static async Task SseAsync(HttpContext context, int n = 50, int intervalMs = 50)
    {
        context.Response.ContentType = "text/event-stream";
        for (var i = 0; i < n; i++)
        {
            await context.Response.WriteAsync($"id: {i}\nevent: tick\ndata: {{\"i\":{i}}}\n\n", context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
            if (i < n - 1)
            {
                await Task.Delay(intervalMs, context.RequestAborted);
            }
        }
    }

    private static async Task<IResult> UploadAsync(HttpContext context)
    {
        var length = 0L;
        var buffer = new byte[256 * 1024];
        int read;
        while ((read = await context.Request.Body.ReadAsync(buffer, context.RequestAborted)) > 0)
        {
            length += read;
        }

        return Results.Json(new Dictionary<string, long> { ["length"] = length });
    }

    private static async Task DownloadAsync(HttpContext context, long bytes)
    {
        context.Response.ContentType = "application/octet-stream";
        context.Response.ContentLength = bytes;
        var chunk = new byte[256 * 1024];
        Random.Shared.NextBytes(chunk);
        for (var left = bytes; left > 0; left -= chunk.Length)
        {
            await context.Response.Body.WriteAsync(chunk.AsMemory(0, (int)Math.Min(chunk.Length, left)), context.RequestAborted);
        }
    }

    private static async Task WebSocketEchoAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = 400;
            return;
        }

        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        var buffer = new byte[16 * 1024];
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer, context.RequestAborted);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", context.RequestAborted);
                return;
            }

            await socket.SendAsync(buffer.AsMemory(0, result.Count), result.MessageType, result.EndOfMessage, context.RequestAborted);
        }
    }

    /// <summary>Smart HTTP through git's own CGI; Basic auth must carry <see cref="GitToken"/> as the password.</summary>
    private async Task GitAsync(HttpContext context, string path)
    {
        var authorization = context.Request.Headers.Authorization.ToString();
        var expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"x-access-token:{GitToken}"));
        if (GitToken is null || authorization != expected)
        {
            context.Response.StatusCode = 401;
            context.Response.Headers.WWWAuthenticate = "Basic realm=\"fake-git\"";
            return;
        }

        var start = new ProcessStartInfo("git", "http-backend")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["GIT_PROJECT_ROOT"] = GitRoot;
        start.Environment["GIT_HTTP_EXPORT_ALL"] = "1";
        start.Environment["PATH_INFO"] = "/" + path;
        start.Environment["REQUEST_METHOD"] = context.Request.Method;
        start.Environment["QUERY_STRING"] = context.Request.QueryString.Value?.TrimStart('?') ?? "";
        start.Environment["CONTENT_TYPE"] = context.Request.ContentType ?? "";
        start.Environment["REMOTE_USER"] = "x-access-token";
        start.Environment["REMOTE_ADDR"] = "127.0.0.1";
        start.Environment["HTTP_CONTENT_ENCODING"] = context.Request.Headers.ContentEncoding.ToString();
        start.Environment["GIT_PROTOCOL"] = context.Request.Headers["Git-Protocol"].ToString();
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync(context.RequestAborted);
        await context.Request.Body.CopyToAsync(process.StandardInput.BaseStream, context.RequestAborted);
        process.StandardInput.Close();

        var output = process.StandardOutput.BaseStream;
        var head = new List<byte>();
        while (!(head.Count >= 4 && head[^1] == '\n' && head[^2] == '\r' && head[^3] == '\n' && head[^4] == '\r')
               && !(head.Count >= 2 && head[^1] == '\n' && head[^2] == '\n'))
        {
            var b = output.ReadByte();
            if (b < 0)
            {
                break;
            }

            head.Add((byte)b);
        }

        foreach (var line in Encoding.ASCII.GetString([.. head]).Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            var (name, value) = (line[..colon], line[(colon + 1)..].Trim());
            if (name.Equals("Status", StringComparison.OrdinalIgnoreCase))
            {
                context.Response.StatusCode = int.Parse(value.AsSpan(0, 3), System.Globalization.CultureInfo.InvariantCulture);
            }
            else
            {
                context.Response.Headers[name] = value;
            }
        }

        await output.CopyToAsync(context.Response.Body, context.RequestAborted);
        await process.WaitForExitAsync(context.RequestAborted);
        await stderr;
    }

    private static string CreateGitRepository()
    {
        var root = Path.Combine(Path.GetTempPath(), $"centaur-fake-git-{Guid.NewGuid():N}");
        var work = Path.Combine(root, "work");
        Directory.CreateDirectory(work);
        File.WriteAllText(Path.Combine(work, "README.md"), "hello from the fake git server\n");
        Git(work, "init", "-q", "-b", "main");
        Git(work, "-c", "user.email=fake@test", "-c", "user.name=fake", "add", ".");
        Git(work, "-c", "user.email=fake@test", "-c", "user.name=fake", "commit", "-q", "-m", "initial");
        Git(root, "clone", "-q", "--bare", work, Path.Combine(root, "repo.git"));
        return root;
    }

    private static void Git(string directory, params string[] args)
    {
        var start = new ProcessStartInfo("git") { WorkingDirectory = directory, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        process.WaitForExit(30_000);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"git {string.Join(' ', args)} failed: {process.StandardError.ReadToEnd()}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _ca.Dispose();
        try
        {
            Directory.Delete(GitRoot, recursive: true);
        }
        catch (IOException)
        {
            // best effort: a temp folder
        }
    }
}
