using System.CommandLine;
using System.Text;
using Centaur.Cli.Api;
using Centaur.Cli.Rendering;

namespace Centaur.Cli.Commands;

/// <summary>
/// <c>centaur chat</c>: an interactive conversation on one thread. Each line typed is one turn
/// (spawn → message → execute → stream), Ctrl-C cancels the running turn, and a dropped connection is resumed
/// after the last event seen.
/// </summary>
internal sealed class ChatCommand(CliContext context, OutputFormat format)
{
    private static readonly string[] s_harnesses = ["claude-code", "codex", "pi", "amp"];
    private readonly Lock _turnLock = new();
    private TurnState _turn = TurnState.Idle;
    private long _execution;
    private volatile Progress? _progress;
    private long? _interrupted;

    public static Command Create()
    {
        var thread = new Option<string?>("--thread", "-t") { Description = "The thread to continue (default: a new cli:<user>-<time> thread)" };
        var harness = new Option<string?>("--harness") { Description = "The agent harness for a new thread" };
        harness.AcceptOnlyFromAmong(s_harnesses);
        var format = new Option<OutputFormat>("--format") { Description = "text (rendered) or jsonl (every event as the API sent it)" };
        var command = new Command("chat", "Talk to the agent on a thread; each line you type is one turn")
        {
            thread, harness, format,
        };
        command.SetAction((parse, cancellationToken) => CliCommands.RunAsync(parse, (context, ct) =>
            new ChatCommand(context, parse.GetValue(format)).RunAsync(parse.GetValue(thread), parse.GetValue(harness), Console.In, ct), cancellationToken));
        return command;
    }

    private Terminal Terminal => context.Terminal;

    public async Task<int> RunAsync(string? threadKey, string? harness, TextReader input, CancellationToken cancellationToken)
    {
        threadKey ??= NewThreadKey();
        var session = await context.Api.SpawnAsync(threadKey, harness, cancellationToken);
        Terminal.Notice($"centaur · thread {session.ThreadKey} · {session.Harness} · sandbox {session.State}", Ansi.Bold);
        if (Terminal.InputIsTerminal)
        {
            Terminal.Notice("Type a message and press Enter (end a line with \\ to go on). Ctrl-C cancels a running turn; /exit or Ctrl-D quits.", Ansi.Dim);
        }

        ConsoleCancelEventHandler onCancel = OnCancelKeyPress;
        Console.CancelKeyPress += onCancel;
        try
        {
            while (await ReadMessageAsync(input, cancellationToken) is { } text)
            {
                switch (text.Trim())
                {
                    case "":
                        continue;
                    case "/exit" or "/quit":
                        return 0;
                    case "/thread":
                        Terminal.Notice(threadKey);
                        continue;
                    case "/resume":
                        await ResumeAsync(threadKey, cancellationToken);
                        continue;
                }

                SetTurn(TurnState.Sending, 0);
                try
                {
                    await context.Api.MessageAsync(threadKey, text, Author(), $"cli-{Guid.NewGuid():N}", cancellationToken);
                    var execution = await context.Api.ExecuteAsync(threadKey, $"cli-{Guid.NewGuid():N}", cancellationToken);
                    await StreamAsync(threadKey, execution.ExecutionId, cancellationToken);
                }
                finally
                {
                    SetTurn(TurnState.Idle, 0);
                }
            }

            return 0;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    private async Task ResumeAsync(string threadKey, CancellationToken cancellationToken)
    {
        if (_interrupted is not { } id)
        {
            Terminal.Notice("nothing to resume: the last turn was not interrupted", Ansi.Yellow);
            return;
        }

        SetTurn(TurnState.Sending, 0);
        try
        {
            var execution = await context.Api.ResumeAsync(id, cancellationToken);
            await StreamAsync(threadKey, execution.ExecutionId, cancellationToken);
        }
        finally
        {
            SetTurn(TurnState.Idle, 0);
        }
    }

    /// <summary>Streams one execution to its end, rendering as it goes; Ctrl-C meanwhile asks the API to cancel it.</summary>
    private async Task StreamAsync(string threadKey, long executionId, CancellationToken cancellationToken)
    {
        var markdown = new MarkdownWriter(Terminal.Out, Terminal.Ansi);
        await using var progress = format == OutputFormat.Text ? new Progress(Terminal, () => markdown.AtLineStart) : null;
        var printer = new EventPrinter(Terminal, markdown, progress, log: false);
        _progress = progress;
        var stream = new EventStream(context.Api, notice => Notify(progress, notice));
        if (SetTurn(TurnState.Streaming, executionId))
        {
            // Ctrl-C came while the message was on its way: cancel now that the execution exists.
            RequestCancel(executionId);
        }

        try
        {
            await foreach (var e in stream.ReadAsync(threadKey, executionId, afterEventId: 0, follow: false, cancellationToken))
            {
                if (format == OutputFormat.Jsonl)
                {
                    EventPrinter.PrintJson(Terminal.Out, e);
                }
                else
                {
                    printer.Print(e);
                }

                if (e.IsTerminal)
                {
                    _interrupted = e.State == "interrupted" ? e.ExecutionId : null;
                }
            }
        }
        finally
        {
            SetTurn(TurnState.Sending, 0);
            _progress = null;
        }
    }

    private void Notify(Progress? progress, StreamNotice notice)
    {
        var text = notice switch
        {
            StreamNotice.Dropped d => $"⚡ connection lost ({d.Reason}); reconnecting after event {d.AfterEventId} (attempt {d.Attempt})",
            StreamNotice.Resumed r => $"⚡ reconnected; resuming after event {r.AfterEventId}",
            _ => notice.ToString(),
        };
        if (progress is null)
        {
            Terminal.Notice(text, Ansi.Yellow);
        }
        else
        {
            progress.Output(() => Terminal.Notice(text, Ansi.Yellow));
        }
    }

    /// <summary>A line on stderr that never lands in the middle of the progress line.</summary>
    private void Notice(string text, string color)
    {
        if (_progress is { } progress)
        {
            progress.Output(() => Terminal.Notice(text, color));
        }
        else
        {
            Terminal.Notice(text, color);
        }
    }

    private enum TurnState
    {
        Idle,
        Sending,
        Streaming,
        CancelRequested,
    }

    /// <summary>Moves the turn along; true when a Ctrl-C arrived while the message and execute were being sent.</summary>
    private bool SetTurn(TurnState state, long execution)
    {
        lock (_turnLock)
        {
            var cancelPending = _turn == TurnState.CancelRequested && _execution == 0;
            _turn = cancelPending && state == TurnState.Streaming ? TurnState.CancelRequested : state;
            _execution = execution;
            return cancelPending && state == TurnState.Streaming;
        }
    }

    /// <summary>First Ctrl-C during a turn cancels it (the process goes on); a second one, or one at the prompt, quits.</summary>
    private void OnCancelKeyPress(object? sender, ConsoleCancelEventArgs e)
    {
        long execution;
        lock (_turnLock)
        {
            if (_turn is TurnState.Idle or TurnState.CancelRequested)
            {
                return;
            }

            _turn = TurnState.CancelRequested;
            execution = _execution;
        }

        e.Cancel = true;
        Notice("⊘ cancelling the turn… (Ctrl-C again to quit)", Ansi.Yellow);
        if (execution != 0)
        {
            RequestCancel(execution);
        }
    }

    private void RequestCancel(long execution) => _ = Task.Run(async () =>
    {
        try
        {
            await context.Api.CancelAsync(execution, CancellationToken.None);
            Notice($"⊘ cancel requested for execution {execution}", Ansi.Yellow);
        }
        catch (Exception ex) when (ex is CentaurApiException or HttpRequestException or TaskCanceledException)
        {
            Notice($"error: could not cancel execution {execution}: {ex.Message}", Ansi.Red);
        }
    });

    /// <summary>One message: a line, or several when each but the last ends with a backslash.</summary>
    private async Task<string?> ReadMessageAsync(TextReader input, CancellationToken cancellationToken)
    {
        var message = new StringBuilder();
        var prompt = "you › ";
        while (true)
        {
            if (Terminal.InputIsTerminal)
            {
                Terminal.Error.Write(Terminal.StyleError(prompt, Ansi.Bold, Ansi.Blue));
                Terminal.Error.Flush();
            }

            var line = await input.ReadLineAsync(cancellationToken);
            if (line is null)
            {
                return message.Length > 0 ? message.ToString() : null;
            }

            if (line.EndsWith('\\'))
            {
                message.Append(line.AsSpan(0, line.Length - 1)).Append('\n');
                prompt = "   … ";
                continue;
            }

            message.Append(line);
            if (!Terminal.InputIsTerminal && message.Length > 0)
            {
                Terminal.Notice($"you › {message}", Ansi.Bold, Ansi.Blue);
            }

            return message.ToString();
        }
    }

    /// <summary>$USER as the shell has it (Environment.UserName asks the password database, which sudo and containers blur).</summary>
    private static string Author() =>
        Environment.GetEnvironmentVariable("USER") is { Length: > 0 } user ? user
        : Environment.UserName is { Length: > 0 } name ? name : "cli";

    /// <summary>cli:&lt;user&gt;-&lt;utc time&gt;-&lt;4 hex&gt;: readable in the console's list and unique enough per person.</summary>
    internal static string NewThreadKey()
    {
        var user = new string(Author().ToLowerInvariant().Where(c => c is > ' ' and <= '~' and not ':').ToArray());
        return $"cli:{(user.Length > 0 ? user : "cli")}-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Random.Shared.Next(0x10000):x4}";
    }
}
