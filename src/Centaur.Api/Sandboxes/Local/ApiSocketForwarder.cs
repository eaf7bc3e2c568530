using System.Net.Sockets;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace Centaur.Api.Sandboxes.Local;

/// <summary>
/// Sandboxes have no network, so the API's /tools endpoint reaches them as a Unix socket bind-mounted into each
/// (Centaur.Sandbox exposes it on 127.0.0.1 inside). This listens on that socket and pipes every connection to the
/// API's own HTTP address: a byte pipe, so auth stays with the API (the sandbox token on each request).
/// </summary>
internal sealed class ApiSocketForwarder(IOptions<LocalSandboxOptions> options, IServiceProvider services, ILogger<ApiSocketForwarder> logger) : IAsyncDisposable
{
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _stop = new();
    private Socket? _listener;
    private Task _acceptLoop = Task.CompletedTask;

    /// <summary>Starts listening on first use and returns the socket's path.</summary>
    public string EnsureListening(string socketPath)
    {
        lock (_lock)
        {
            if (_listener is not null)
            {
                return socketPath;
            }

            Directory.CreateDirectory(Path.GetDirectoryName(socketPath)!);
            File.Delete(socketPath);
            var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            listener.Bind(new UnixDomainSocketEndPoint(socketPath));
            listener.Listen(256);
            _listener = listener;
            _acceptLoop = AcceptLoopAsync(listener, _stop.Token);
            return socketPath;
        }
    }

    private async Task AcceptLoopAsync(Socket listener, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _ = PipeAsync(client, cancellationToken);
        }
    }

    private async Task PipeAsync(Socket client, CancellationToken cancellationToken)
    {
        using var upstream = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            var api = ApiUri() ?? throw new InvalidOperationException("the API has no http address yet");
            await upstream.ConnectAsync(api.Host, api.Port, cancellationToken);
            upstream.NoDelay = true;
            await using var a = new NetworkStream(client, ownsSocket: false);
            await using var b = new NetworkStream(upstream, ownsSocket: false);
            await Task.WhenAll(CopyAsync(a, upstream, cancellationToken), CopyAsync(b, client, cancellationToken));
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException or InvalidOperationException)
        {
            LocalSandboxLog.ApiForwardFailed(logger, ex.Message);
        }
        finally
        {
            client.Dispose();
        }
    }

    private static async Task CopyAsync(NetworkStream from, Socket to, CancellationToken cancellationToken)
    {
        var buffer = new byte[32 * 1024];
        try
        {
            int read;
            while ((read = await from.ReadAsync(buffer, cancellationToken)) > 0)
            {
                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, cancellationToken);
            }
        }
        finally
        {
            try
            {
                to.Shutdown(SocketShutdown.Send);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                // The other side is gone already.
            }
        }
    }

    /// <summary>Sandbox:ApiUrl, else the server's first http:// address with a wildcard host made loopback.</summary>
    private Uri? ApiUri()
    {
        if (options.Value.ApiUrl is { Length: > 0 } configured)
        {
            return new Uri(configured);
        }

        var addresses = services.GetService<IServer>()?.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var http = addresses.FirstOrDefault(a => a.StartsWith("http://", StringComparison.OrdinalIgnoreCase));
        if (http is null)
        {
            return null;
        }

        var uri = new UriBuilder(http.Replace("://+", "://127.0.0.1", StringComparison.Ordinal).Replace("://*", "://127.0.0.1", StringComparison.Ordinal));
        if (uri.Host is "0.0.0.0" or "[::]" or "::" or "localhost")
        {
            uri.Host = "127.0.0.1";
        }

        return uri.Uri;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener?.Dispose();
        await _acceptLoop;
        _stop.Dispose();
    }
}
