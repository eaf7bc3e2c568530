using System.Text.Json.Nodes;

namespace Centaur.Sandbox.Wire;

/// <summary>
/// Writes canonical NDJSON lines to the sandbox's stdout (the wire to the API). Several tasks write (the turn, the
/// setup, errors), so every line goes out whole under one lock and is flushed at once: the API streams it live.
/// </summary>
internal sealed class WireWriter(TextWriter output)
{
    private readonly SemaphoreSlim _lock = new(1, 1);

    public async Task WriteAsync(JsonObject line, CancellationToken cancellationToken = default)
    {
        var text = line.ToJsonString(WireJson.Options);
        await _lock.WaitAsync(cancellationToken);
        try
        {
            await output.WriteAsync(text.AsMemory(), cancellationToken);
            await output.WriteAsync("\n".AsMemory(), cancellationToken);
            await output.FlushAsync(cancellationToken);
        }
        finally
        {
            _lock.Release();
        }
    }
}
