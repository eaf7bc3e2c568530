using System.Net.WebSockets;
using System.Text;

namespace Centaur.Tests.Fakes.FakeKubeApi;

/// <summary>
/// The server side of the channel protocol (v4.channel.k8s.io / v5.channel.k8s.io): stdin frames from the client go
/// to the process, its stdout/stderr go out as channel 1/2 frames, and when it exits a v4 Status (exit code) goes
/// out on channel 3 before the connection closes. v5 adds the client closing stdin alone (255, 0).
/// </summary>
internal static class FakeChannelSession
{
    public static async Task RunAsync(WebSocket socket, FakeContainer container, bool ownsContainer, CancellationToken cancellationToken)
    {
        var output = container.Subscribe();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var receiving = ReceiveAsync(socket, container, socket.SubProtocol?.StartsWith("v5.", StringComparison.Ordinal) == true, stop.Token);
        try
        {
            var sending = SendAsync(socket, container, output, stop.Token);
            if (await Task.WhenAny(receiving, sending) == sending)
            {
                // Closed from this side: wait for the client's close so the connection ends cleanly; a reset could
                // drop the last output and the status before the client has read them.
                await receiving.WaitAsync(TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
        finally
        {
            container.Unsubscribe(output);
            await stop.CancelAsync();
            if (ownsContainer)
            {
                await container.DisposeAsync();
            }

            await receiving.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private static async Task SendAsync(WebSocket socket, FakeContainer container, System.Threading.Channels.Channel<(byte Channel, byte[] Data)> output, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var (channel, data) in output.Reader.ReadAllAsync(cancellationToken))
            {
                await socket.SendAsync((byte[])[channel, .. data], WebSocketMessageType.Binary, endOfMessage: true, cancellationToken);
            }

            var exitCode = await container.Exited.WaitAsync(cancellationToken);
            await socket.SendAsync((byte[])[3, .. Encoding.UTF8.GetBytes(Status(exitCode))], WebSocketMessageType.Binary, endOfMessage: true, cancellationToken);
            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, cancellationToken);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
        }
    }

    private static async Task ReceiveAsync(WebSocket socket, FakeContainer container, bool v5, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        var message = new MemoryStream();
        try
        {
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer, cancellationToken);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }

                message.Write(buffer, 0, result.Count);
                if (!result.EndOfMessage)
                {
                    continue;
                }

                var frame = message.ToArray();
                message.SetLength(0);
                if (frame is [0, .. var stdin])
                {
                    await container.WriteStdinAsync(stdin, cancellationToken);
                }
                else if (v5 && frame is [255, 0])
                {
                    container.CloseStdin();
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
        }
    }

    private static string Status(int exitCode) => exitCode == 0
        ? """{"metadata":{},"status":"Success"}"""
        : "{\"metadata\":{},\"status\":\"Failure\",\"message\":\"command terminated with non-zero exit code: exit code " + exitCode
          + "\",\"reason\":\"NonZeroExitCode\",\"details\":{\"causes\":[{\"reason\":\"ExitCode\",\"message\":\"" + exitCode + "\"}]}}";
}
