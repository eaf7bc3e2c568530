using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Centaur.Sandbox.Egress;

/// <summary>
/// Exposes a Unix socket that the backend bind-mounted into the sandbox (the egress proxy's, the API's) on
/// 127.0.0.1 inside it. The sandbox has no network of its own, so these forwards are the only ways out; they are
/// byte pipes and never look at what passes (the proxy authenticates and audits).
/// </summary>
internal sealed partial class LoopbackForwarder : IAsyncDisposable
{
    private readonly string _socketPath;
    private readonly Socket _listener;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;

    private LoopbackForwarder(string name, string socketPath, Socket listener, ILogger logger)
    {
        Name = name;
        _socketPath = socketPath;
        _listener = listener;
        _logger = logger;
        Port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        _acceptLoop = AcceptLoopAsync(_stop.Token);
    }

    public string Name { get; }

    public int Port { get; }

    public string Url => $"http://127.0.0.1:{Port}";

    /// <summary>Listens on 127.0.0.1:<paramref name="port"/> (0 = any free port, used when sandboxes share a network).</summary>
    public static LoopbackForwarder Start(string name, string socketPath, int port, ILogger logger)
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, port));
            listener.Listen(128);
        }
        catch
        {
            listener.Dispose();
            throw;
        }

        return new LoopbackForwarder(name, socketPath, listener, logger);
    }

    private async Task AcceptLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(cancellationToken);
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
        using var upstream = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            client.NoDelay = true;
            await upstream.ConnectAsync(new UnixDomainSocketEndPoint(_socketPath), cancellationToken);
            await using var a = new NetworkStream(client, ownsSocket: false);
            await using var b = new NetworkStream(upstream, ownsSocket: false);
            var up = CopyThenShutdownAsync(a, upstream, cancellationToken);
            var down = CopyThenShutdownAsync(b, client, cancellationToken);
            await Task.WhenAll(up, down);
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException)
        {
            ForwarderLog.ConnectionFailed(_logger, Name, _socketPath, ex.Message);
        }
        finally
        {
            client.Dispose();
        }
    }

    // Half-close keeps HTTP/1.0-style "read until EOF" clients working in both directions.
    private static async Task CopyThenShutdownAsync(NetworkStream from, Socket to, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
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
            catch (SocketException)
            {
                // The other side is already gone.
            }
            catch (ObjectDisposedException)
            {
                // Same.
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        await _acceptLoop;
        _stop.Dispose();
    }
}

internal static partial class ForwarderLog
{
    [LoggerMessage(1, LogLevel.Warning, "{Name} forward to {Socket} failed: {Reason}")]
    public static partial void ConnectionFailed(ILogger logger, string name, string socket, string reason);
}
