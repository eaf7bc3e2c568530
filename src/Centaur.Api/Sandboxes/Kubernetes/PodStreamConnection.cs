using System.Buffers;
using System.IO.Pipelines;
using System.Net.WebSockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace Centaur.Api.Sandboxes.Kubernetes;

/// <summary>
/// One exec or attach session: the Kubernetes channel protocol over a WebSocket. Every binary message starts with
/// its channel (0 stdin, 1 stdout, 2 stderr, 3 error/status; with v5, 255 closes the channel named in the next
/// byte). Reading is fully asynchronous: stdout and stderr are pipes, the status a task, so no thread blocks on a
/// quiet sandbox and disposal ends every reader.
/// </summary>
internal sealed class PodStreamConnection : IAsyncDisposable
{
    private const byte StdinChannel = 0;
    private const byte StdoutChannel = 1;
    private const byte StderrChannel = 2;
    private const byte StatusChannel = 3;
    private const byte CloseChannel = 255;

    private readonly WebSocket _socket;
    private readonly Pipe _stdout = new();
    private readonly Pipe _stderr = new();
    private readonly TaskCompletionSource<V1Status?> _status = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _receiving;
    private Exception? _closedBy;

    private PodStreamConnection(WebSocket socket)
    {
        _socket = socket;
        _receiving = ReceiveAsync(_stop.Token);
    }

    public PipeReader Stdout => _stdout.Reader;

    public PipeReader Stderr => _stderr.Reader;

    /// <summary>The Status sent on channel 3 when the process ended (null when the connection just closed).</summary>
    public Task<V1Status?> Status => _status.Task;

    /// <summary>Completes when the connection is gone (the process ended, the pod was deleted, or it was disposed).</summary>
    public Task Completion => _receiving;

    /// <summary>Why the connection ended when it was not a clean close (the pod was deleted, the API server went away).</summary>
    public Exception? ClosedBy => _closedBy;

    public bool SupportsClose => _socket.SubProtocol == WebSocketProtocol.V5BinaryWebsocketProtocol;

    public static async Task<PodStreamConnection> AttachAsync(IKubernetes client, string ns, string pod, CancellationToken cancellationToken)
    {
        var socket = await client.WebSocketNamespacedPodAttachAsync(pod, ns, SandboxLabels.Container,
            stderr: true, stdin: true, stdout: true, tty: false, webSocketSubProtocol: WebSocketProtocol.V4BinaryWebsocketProtocol,
            cancellationToken: cancellationToken);
        return new PodStreamConnection(socket);
    }

    public static async Task<PodStreamConnection> ExecAsync(IKubernetes client, string ns, string pod, IEnumerable<string> command, CancellationToken cancellationToken)
    {
        var socket = await client.WebSocketNamespacedPodExecAsync(pod, ns, command, SandboxLabels.Container,
            stderr: true, stdin: true, stdout: true, tty: false, webSocketSubProtocol: WebSocketProtocol.V4BinaryWebsocketProtocol,
            cancellationToken: cancellationToken);
        return new PodStreamConnection(socket);
    }

    /// <summary>
    /// Makes the client offer v5 before v4 (KubernetesClient itself offers one protocol): servers that know v5 pick
    /// it, older ones fall back to v4.
    /// </summary>
    public static k8s.Kubernetes OfferV5(k8s.Kubernetes client)
    {
        client.CreateWebSocketBuilder = () =>
        {
            var builder = new WebSocketBuilder();
            builder.Options.AddSubProtocol(WebSocketProtocol.V5BinaryWebsocketProtocol);
            return builder;
        };
        return client;
    }

    public async Task WriteStdinAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        var frame = ArrayPool<byte>.Shared.Rent(data.Length + 1);
        try
        {
            frame[0] = StdinChannel;
            data.CopyTo(frame.AsMemory(1));
            await _sendLock.WaitAsync(cancellationToken);
            try
            {
                await _socket.SendAsync(frame.AsMemory(0, data.Length + 1), WebSocketMessageType.Binary, endOfMessage: true, cancellationToken);
            }
            finally
            {
                _sendLock.Release();
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(frame);
        }
    }

    /// <summary>End of input for the process (v5 only; v4 can only close the whole connection).</summary>
    public async Task CloseStdinAsync(CancellationToken cancellationToken)
    {
        if (!SupportsClose)
        {
            throw new NotSupportedException("closing stdin alone needs the v5 channel protocol");
        }

        await _sendLock.WaitAsync(cancellationToken);
        try
        {
            await _socket.SendAsync(new byte[] { CloseChannel, StdinChannel }, WebSocketMessageType.Binary, endOfMessage: true, cancellationToken);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    private async Task ReceiveAsync(CancellationToken cancellationToken)
    {
        await Task.Yield();
        var buffer = new byte[64 * 1024];
        var channel = (byte?)null;
        Exception? failure = null;
        var status = new ArrayBufferWriter<byte>();
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var result = await _socket.ReceiveAsync(buffer, cancellationToken);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    await AcknowledgeCloseAsync();
                    break;
                }

                var payload = buffer.AsMemory(0, result.Count);
                if (channel is null && payload.Length > 0)
                {
                    channel = payload.Span[0];
                    payload = payload[1..];
                    if (channel == CloseChannel && payload.Length > 0)
                    {
                        await CompleteAsync(payload.Span[0]);
                    }
                }

                switch (channel)
                {
                    case StdoutChannel:
                        await _stdout.Writer.WriteAsync(payload, cancellationToken);
                        break;
                    case StderrChannel:
                        await _stderr.Writer.WriteAsync(payload, cancellationToken);
                        break;
                    case StatusChannel:
                        status.Write(payload.Span);
                        break;
                }

                if (result.EndOfMessage)
                {
                    if (channel == StatusChannel && status.WrittenCount > 0)
                    {
                        _status.TrySetResult(ParseStatus(status.WrittenSpan));
                        status.Clear();
                    }

                    channel = null;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is WebSocketException or IOException)
        {
            // The pod (or the connection to the API server) went away: readers see the end of their streams.
            failure = ex;
        }
        finally
        {
            _status.TrySetResult(null);
            if (failure is not null)
            {
                _closedBy = failure;
            }

            await _stdout.Writer.CompleteAsync();
            await _stderr.Writer.CompleteAsync();
        }
    }

    private async Task AcknowledgeCloseAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
            // The other side is already gone.
        }
    }

    private async ValueTask CompleteAsync(byte channel)
    {
        if (channel == StdoutChannel)
        {
            await _stdout.Writer.CompleteAsync();
        }
        else if (channel == StderrChannel)
        {
            await _stderr.Writer.CompleteAsync();
        }
    }

    /// <summary>Read by hand: only status, reason, message and the ExitCode cause matter here.</summary>
    private static V1Status ParseStatus(ReadOnlySpan<byte> json)
    {
        try
        {
            var node = JsonNode.Parse(json) as JsonObject;
            return new V1Status
            {
                Status = node?["status"]?.GetValue<string>(),
                Reason = node?["reason"]?.GetValue<string>(),
                Message = node?["message"]?.GetValue<string>(),
                Details = node?["details"]?["causes"] is JsonArray causes
                    ? new V1StatusDetails
                    {
                        Causes = [.. causes.OfType<JsonObject>().Select(c => new V1StatusCause { Reason = c["reason"]?.GetValue<string>(), Message = c["message"]?.GetValue<string>() })],
                    }
                    : null,
            };
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return new V1Status { Status = "Failure", Message = System.Text.Encoding.UTF8.GetString(json) };
        }
    }

    /// <summary>The process's exit code from a v4/v5 Status: 0 on Success, the ExitCode cause otherwise, null if unknown.</summary>
    public static int? ExitCode(V1Status? status) => status switch
    {
        null => null,
        { Status: "Success" } => 0,
        { Details.Causes: { } causes } when causes.FirstOrDefault(c => c.Reason == "ExitCode") is { Message: { } code }
            && int.TryParse(code, out var exit) => exit,
        _ => null,
    };

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_socket.State == WebSocketState.Open)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
            // Already gone.
        }

        await _stop.CancelAsync();
        await _receiving.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _socket.Dispose();
        _stop.Dispose();
        _sendLock.Dispose();
    }
}
