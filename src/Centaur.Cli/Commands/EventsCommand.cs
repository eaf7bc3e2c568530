using System.CommandLine;
using Centaur.Cli.Api;
using Centaur.Cli.Rendering;

namespace Centaur.Cli.Commands;

/// <summary><c>centaur events KEY [--follow]</c>: a thread's event log, rendered or as JSON lines.</summary>
internal static class EventsCommand
{
    public static Command Create()
    {
        var thread = new Argument<string>("thread") { Description = "The thread key, e.g. slack:C123:1700000000.000100" };
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep waiting for new events (Ctrl-C stops)" };
        var after = new Option<long>("--after") { Description = "Start after this event id", DefaultValueFactory = _ => 0 };
        var execution = new Option<long?>("--execution") { Description = "Only this execution's events (ends with it)" };
        var format = new Option<OutputFormat>("--format") { Description = "text (rendered) or jsonl (every event as the API sent it)" };
        var command = new Command("events", "Show a thread's events; --follow tails new ones") { thread, follow, after, execution, format };
        command.SetAction((parse, cancellationToken) => CliCommands.RunAsync(parse, async (context, ct) =>
        {
            var terminal = context.Terminal;
            var jsonl = parse.GetValue(format) == OutputFormat.Jsonl;
            var markdown = new MarkdownWriter(terminal.Out, terminal.Ansi);
            var printer = new EventPrinter(terminal, markdown, progress: null, log: true);
            var stream = new EventStream(context.Api, notice => terminal.Notice(notice switch
            {
                StreamNotice.Dropped d => $"⚡ connection lost ({d.Reason}); reconnecting after event {d.AfterEventId}",
                StreamNotice.Resumed r => $"⚡ reconnected after event {r.AfterEventId}",
                _ => notice.ToString(),
            }, Ansi.Yellow));
            await foreach (var e in stream.ReadAsync(parse.GetValue(thread)!, parse.GetValue(execution), parse.GetValue(after), parse.GetValue(follow), ct))
            {
                if (jsonl)
                {
                    EventPrinter.PrintJson(terminal.Out, e);
                }
                else
                {
                    printer.Print(e);
                }
            }

            markdown.Finish();
            return 0;
        }, cancellationToken));
        return command;
    }
}
