using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Centaur.Api.Sandboxes.Kubernetes;

/// <summary>
/// The NDJSON wire to a sandbox pod's main process over pods/attach: each line written goes to its stdin, each line
/// it prints comes back. Reading ends when the process exits or the pod goes away (the attach connection closes).
/// </summary>
internal sealed class KubernetesSandboxWire : ISandboxWire
{
    private readonly PodStreamConnection _connection;
    private readonly string _pod;
    private readonly ILogger _logger;
    private readonly Func<JsonObject, JsonObject> _prepare;
    private readonly Action _onActivity;
    private readonly Func<ValueTask> _onDispose;
    private readonly Task _stderr;
    private int _disposed;

    /// <param name="prepare">Completes each line on its way to the pod (setup layers, tokens bound to the pod's address).</param>
    public KubernetesSandboxWire(PodStreamConnection connection, string pod, ILogger logger, Func<JsonObject, JsonObject> prepare, Action onActivity, Func<ValueTask> onDispose)
    {
        _prepare = prepare;
        _connection = connection;
        _pod = pod;
        _logger = logger;
        _onActivity = onActivity;
        _onDispose = onDispose;
        _stderr = DrainStderrAsync();
    }

    public async Task SendAsync(JsonObject line, CancellationToken cancellationToken)
    {
        line = _prepare(line);

        var bytes = JsonSerializer.SerializeToUtf8Bytes(line);
        var framed = new byte[bytes.Length + 1];
        bytes.CopyTo(framed, 0);
        framed[^1] = (byte)'\n';
        try
        {
            await _connection.WriteStdinAsync(framed, cancellationToken);
        }
        catch (Exception ex) when (ex is System.Net.WebSockets.WebSocketException or ObjectDisposedException)
        {
            // The control plane treats an IOException on the wire as "the sandbox went away" (replay decides next).
            throw new IOException($"the wire to sandbox {_pod} is closed", ex);
        }

        _onActivity();
    }

    public async IAsyncEnumerable<JsonObject> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var line in ReadLinesAsync(_connection.Stdout, cancellationToken))
        {
            JsonObject? parsed;
            try
            {
                parsed = JsonNode.Parse(line.Span) as JsonObject;
            }
            catch (JsonException)
            {
                parsed = null;
            }

            if (parsed is null)
            {
                // Not logged verbatim: a sandbox's output is untrusted and may hold anything.
                _logger.NonJsonLine(_pod, line.Length);
                continue;
            }

            yield return parsed;
        }

        _logger.WireEnded(_pod, _connection.ClosedBy?.Message ?? "the process closed its output");
    }

    private async Task DrainStderrAsync()
    {
        await foreach (var line in ReadLinesAsync(_connection.Stderr, CancellationToken.None))
        {
            _logger.SandboxStderr(_pod, System.Text.Encoding.UTF8.GetString(line.Span));
        }
    }

    internal static async IAsyncEnumerable<ReadOnlyMemory<byte>> ReadLinesAsync(PipeReader reader, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            while (TryReadLine(ref buffer, out var line))
            {
                if (line.Length > 0)
                {
                    yield return line;
                }
            }

            if (result.IsCompleted)
            {
                if (buffer.Length > 0)
                {
                    yield return buffer.ToArray();
                }

                await reader.CompleteAsync();
                yield break;
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private static bool TryReadLine(ref ReadOnlySequence<byte> buffer, out ReadOnlyMemory<byte> line)
    {
        var position = buffer.PositionOf((byte)'\n');
        if (position is null)
        {
            line = default;
            return false;
        }

        var slice = buffer.Slice(0, position.Value);
        line = (slice.Length > 0 && slice.Slice(slice.Length - 1).FirstSpan[0] == (byte)'\r' ? slice.Slice(0, slice.Length - 1) : slice).ToArray();
        buffer = buffer.Slice(buffer.GetPosition(1, position.Value));
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _connection.DisposeAsync();
        await _stderr.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await _onDispose();
    }
}
