using System.Diagnostics;

namespace Centaur.Cli.Rendering;

/// <summary>
/// Keeps a long wait visible: on a terminal a spinner line on stderr with the current phase (queued, spawning
/// sandbox, replaying, running) and the time waited; otherwise a "still waiting" line every 15 s of silence. All
/// output of a turn goes through <see cref="Output"/> so the spinner never tears a line of the answer.
/// </summary>
internal sealed class Progress : IAsyncDisposable
{
    private static readonly string[] s_frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
    private static readonly TimeSpan s_quietBeforeSpinner = TimeSpan.FromMilliseconds(600);
    private static readonly TimeSpan s_quietBeforeLogLine = TimeSpan.FromSeconds(15);

    private readonly Terminal _terminal;
    private readonly Func<bool> _atLineStart;
    private readonly Lock _lock = new();
    private readonly Stopwatch _since = Stopwatch.StartNew();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private TimeSpan _lastOutput;
    private string _phase = "waiting";
    private bool _drawn;
    private int _frame;

    public Progress(Terminal terminal, Func<bool> atLineStart)
    {
        _terminal = terminal;
        _atLineStart = atLineStart;
        _loop = Task.Run(LoopAsync);
    }

    public void SetPhase(string phase)
    {
        lock (_lock)
        {
            _phase = phase;
        }
    }

    /// <summary>Runs a write with the spinner cleared and marks the moment as "not quiet".</summary>
    public void Output(Action write)
    {
        lock (_lock)
        {
            ClearLine();
            write();
            _lastOutput = _since.Elapsed;
        }
    }

    private async Task LoopAsync()
    {
        var interval = TimeSpan.FromMilliseconds(_terminal.ErrorIsTerminal ? 120 : 1000);
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                lock (_lock)
                {
                    var quiet = _since.Elapsed - _lastOutput;
                    if (_terminal.ErrorIsTerminal && quiet > s_quietBeforeSpinner && _atLineStart())
                    {
                        var frame = s_frames[_frame++ % s_frames.Length];
                        _terminal.Error.Write($"{Ansi.ClearLine}{_terminal.StyleError($"{frame} {_phase} · {_since.Elapsed.TotalSeconds:0}s", Ansi.Dim)}");
                        _terminal.Error.Flush();
                        _drawn = true;
                    }
                    else if (!_terminal.ErrorIsTerminal && quiet > s_quietBeforeLogLine)
                    {
                        _terminal.Notice($"… still {_phase} ({_since.Elapsed.TotalSeconds:0}s)", Ansi.Dim);
                        _lastOutput = _since.Elapsed;
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            // disposed
        }
    }

    private void ClearLine()
    {
        if (_drawn)
        {
            _terminal.Error.Write(Ansi.ClearLine);
            _terminal.Error.Flush();
            _drawn = false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        lock (_lock)
        {
            ClearLine();
        }

        _stop.Dispose();
    }
}
