using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Centaur.Api.Sandboxes;

/// <summary>
/// The NDJSON wire over a pair of streams (a child's stdin/stdout, or a Kubernetes attach stream). Lines that are
/// not JSON objects are passed on as <c>{"type":"log","text":…}</c> rather than dropped.
/// </summary>
public sealed class StreamSandboxWire(Stream input, Stream output, bool ownsStreams) : ISandboxWire
{
    private static readonly byte[] s_newline = "\n"u8.ToArray();
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly StreamReader _reader = new(output, Encoding.UTF8, detectEncodingFromByteOrderMarks: false, bufferSize: 16 * 1024, leaveOpen: !ownsStreams);

    public async Task SendAsync(JsonObject line, CancellationToken cancellationToken)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(line);
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            await input.WriteAsync(bytes, cancellationToken);
            await input.WriteAsync(s_newline, cancellationToken);
            await input.FlushAsync(cancellationToken);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async IAsyncEnumerable<JsonObject> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (true)
        {
            string? line;
            try
            {
                line = await _reader.ReadLineAsync(cancellationToken);
            }
            catch (IOException)
            {
                yield break;
            }

            if (line is null)
            {
                yield break;
            }

            if (line.Length == 0)
            {
                continue;
            }

            yield return Parse(line);
        }
    }

    internal static JsonObject Parse(string line)
    {
        try
        {
            if (JsonNode.Parse(line) is JsonObject obj)
            {
                return obj;
            }
        }
        catch (JsonException)
        {
            // not JSON: fall through
        }

        return new JsonObject { ["type"] = "log", ["text"] = line };
    }

    public async ValueTask DisposeAsync()
    {
        _reader.Dispose();
        if (ownsStreams)
        {
            await input.DisposeAsync();
            await output.DisposeAsync();
        }

        _writeLock.Dispose();
    }
}
