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
    private long _running;
    private int _cancelRequested;
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

                await context.Api.MessageAsync(threadKey, text, Author(), $"cli-{Guid.NewGuid():N}", cancellationToken);
                var execution = await context.Api.ExecuteAsync(threadKey, $"cli-{Guid.NewGuid():N}", cancellationToken);
                await StreamAsync(threadKey, execution.ExecutionId, cancellationToken);
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

        var execution = await context.Api.ResumeAsync(id, cancellationToken);
        await StreamAsync(threadKey, execution.ExecutionId, cancellationToken);
    }

    /// <summary>Streams one execution to its end, rendering as it goes; Ctrl-C meanwhile asks the API to cancel it.</summary>
    private async Task StreamAsync(string threadKey, long executionId, CancellationToken cancellationToken)
    {
        var markdown = new MarkdownWriter(Terminal.Out, Terminal.Ansi);
        await using var progress = format == OutputFormat.Text ? new Progress(Terminal, () => markdown.AtLineStart) : null;
        var printer = new EventPrinter(Terminal, markdown, progress, log: false);
        var stream = new EventStream(context.Api, notice => Notify(progress, notice));
        Interlocked.Exchange(ref _cancelRequested, 0);
        Interlocked.Exchange(ref _running, executionId);
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
            Interlocked.Exchange(ref _running, 0);
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

    /// <summary>First Ctrl-C during a turn cancels it (the process goes on); a second one, or one at the prompt, quits.</summary>
    private void OnCancelKeyPress(object? sender, ConsoleCancelEventArgs e)
    {
        var running = Interlocked.Read(ref _running);
        if (running == 0 || Interlocked.Exchange(ref _cancelRequested, 1) == 1)
        {
            return;
        }

        e.Cancel = true;
        Terminal.Notice($"\n⊘ cancelling execution {running}… (Ctrl-C again to quit)", Ansi.Yellow);
        _ = Task.Run(async () =>
        {
            try
            {
                await context.Api.CancelAsync(running, CancellationToken.None);
            }
            catch (Exception ex) when (ex is CentaurApiException or HttpRequestException or TaskCanceledException)
            {
                Terminal.Notice($"error: could not cancel execution {running}: {ex.Message}", Ansi.Red);
            }
        });
    }

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

    private static string Author() => Environment.UserName is { Length: > 0 } user ? user : "cli";

    /// <summary>cli:&lt;user&gt;-&lt;utc time&gt;-&lt;4 hex&gt;: readable in the console's list and unique enough per person.</summary>
    internal static string NewThreadKey()
    {
        var user = new string(Author().ToLowerInvariant().Where(c => c is > ' ' and <= '~' and not ':').ToArray());
        return $"cli:{(user.Length > 0 ? user : "cli")}-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Random.Shared.Next(0x10000):x4}";
    }
}
