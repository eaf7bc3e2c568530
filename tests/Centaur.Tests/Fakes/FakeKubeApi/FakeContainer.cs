using System.Diagnostics;
using System.Threading.Channels;

namespace Centaur.Tests.Fakes.FakeKubeApi;

/// <summary>
/// A running process and the channel sessions (attach) that share its stdin and see its output from the moment they
/// join, like a container's attach: nothing is buffered for later attachers.
/// </summary>
internal sealed class FakeContainer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Lock _lock = new();
    private readonly List<ChannelWriter<(byte Channel, byte[] Data)>> _sessions = [];
    private readonly Task _pumps;
    private readonly SemaphoreSlim _stdinLock = new(1, 1);
    private bool _finished;
    private List<(byte Channel, byte[] Data)>? _backlog;

    private FakeContainer(Process process, bool keepOutputForFirstSession)
    {
        _process = process;
        _backlog = keepOutputForFirstSession ? [] : null;
        // Process pipes are synchronous on Unix: their "async" reads block a pool thread each, and a handful of pods
        // would starve a 2-core machine's pool (timers and HTTP stall). Each pump gets a thread of its own instead.
        _pumps = Task.WhenAll(
            Task.Factory.StartNew(() => Pump(process.StandardOutput.BaseStream, 1), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default),
            Task.Factory.StartNew(() => Pump(process.StandardError.BaseStream, 2), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default));
        Exited = ExitAsync();
    }

    /// <summary>The exit code once the process ended and its output was delivered.</summary>
    public Task<int> Exited { get; }

    /// <summary>
    /// An exec'd process keeps its output until its session subscribes (it starts before the session is wired up);
    /// a container's main process does not, like attach on a real node.
    /// </summary>
    public static FakeContainer Start(ProcessStartInfo start, bool keepOutputForFirstSession = false) =>
        new(Process.Start(start) ?? throw new InvalidOperationException("process did not start"), keepOutputForFirstSession);

    public Channel<(byte Channel, byte[] Data)> Subscribe()
    {
        var channel = Channel.CreateUnbounded<(byte Channel, byte[] Data)>();
        lock (_lock)
        {
            foreach (var chunk in _backlog ?? [])
            {
                channel.Writer.TryWrite(chunk);
            }

            _backlog = null;
            if (_finished)
            {
                channel.Writer.TryComplete();
            }
            else
            {
                _sessions.Add(channel.Writer);
            }
        }

        return channel;
    }

    public void Unsubscribe(Channel<(byte Channel, byte[] Data)> channel)
    {
        lock (_lock)
        {
            _sessions.Remove(channel.Writer);
        }
    }

    public async Task WriteStdinAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        await _stdinLock.WaitAsync(cancellationToken);
        try
        {
            // Synchronous on purpose (see the pumps): a pipe write of a line does not block.
            _process.StandardInput.BaseStream.Write(data.Span);
            _process.StandardInput.BaseStream.Flush();
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The process is gone (or its stdin closed); its exit is reported separately.
        }
        finally
        {
            _stdinLock.Release();
        }
    }

    public void CloseStdin()
    {
        try
        {
            _process.StandardInput.Close();
        }
        catch (IOException)
        {
        }
    }

    public void Kill()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }

    private void Pump(Stream stream, byte channel)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = stream.Read(buffer)) > 0)
            {
                var chunk = buffer[..read];
                lock (_lock)
                {
                    _backlog?.Add((channel, chunk));
                    foreach (var session in _sessions)
                    {
                        session.TryWrite((channel, chunk));
                    }
                }
            }
        }
        catch (IOException)
        {
        }
    }

    private async Task<int> ExitAsync()
    {
        await _process.WaitForExitAsync();
        await _pumps;
        lock (_lock)
        {
            _finished = true;
            foreach (var session in _sessions)
            {
                session.TryComplete();
            }

            _sessions.Clear();
        }

        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        await ((Task)Exited).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _process.Dispose();
        _stdinLock.Dispose();
    }
}
