using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace Centaur.Api.Sandboxes;

/// <summary>
/// A live wire to one thread's sandbox. A single pump reads the sandbox's stdout into a channel, so a turn can stop
/// waiting (cancel, timeout) without losing a half-read line, and the next turn continues where it stopped. The
/// channel completes when the sandbox process ends: that is how a driver learns that the sandbox died.
/// </summary>
internal sealed class SandboxConnection : IAsyncDisposable
{
    private readonly Channel<JsonObject> _lines = Channel.CreateUnbounded<JsonObject>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _pump;

    public SandboxConnection(string threadKey, string sandboxId, int generation, ISandboxWire wire)
    {
        ThreadKey = threadKey;
        SandboxId = sandboxId;
        Generation = generation;
        Wire = wire;
        _pump = PumpAsync();
    }

    public string ThreadKey { get; }

    public string SandboxId { get; }

    public int Generation { get; }

    public ISandboxWire Wire { get; }

    public bool IsClosed => _lines.Reader.Completion.IsCompleted;

    public ChannelReader<JsonObject> Lines => _lines.Reader;

    private async Task PumpAsync()
    {
        await Task.Yield();
        try
        {
            await foreach (var line in Wire.ReadAllAsync(_stop.Token))
            {
                _lines.Writer.TryWrite(line);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            // the wire ended; completion below tells the driver
        }
        finally
        {
            _lines.Writer.TryComplete();
        }
    }

    /// <summary>Drops lines left over from an earlier turn (e.g. the tail of a cancelled one).</summary>
    public void DrainStale()
    {
        while (_lines.Reader.TryRead(out _))
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Wire.DisposeAsync();
        try
        {
            await _pump.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (TimeoutException)
        {
            // a wire that ignores cancellation must not block shutdown
        }

        _stop.Dispose();
    }
}
