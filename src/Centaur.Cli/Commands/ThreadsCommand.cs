using System.CommandLine;
using Centaur.Cli.Rendering;

namespace Centaur.Cli.Commands;

/// <summary><c>centaur threads</c>: the threads the API knows, most recently active first.</summary>
internal static class ThreadsCommand
{
    public static Command Create()
    {
        var limit = new Option<int>("--limit", "-n") { Description = "How many threads", DefaultValueFactory = _ => 50 };
        var source = new Option<string?>("--source") { Description = "Only threads of one source, e.g. slack or cli" };
        var command = new Command("threads", "List threads with their sandbox and last execution state") { limit, source };
        command.SetAction((parse, cancellationToken) => CliCommands.RunAsync(parse, async (context, ct) =>
        {
            var threads = await context.Api.ThreadsAsync(Math.Clamp(parse.GetValue(limit), 1, 1000), parse.GetValue(source), ct);
            if (threads.Count == 0)
            {
                context.Terminal.Notice("no threads yet: start one with `centaur chat`");
                return 0;
            }

            var now = DateTimeOffset.UtcNow;
            Table.Write(context.Terminal, ["THREAD", "HARNESS", "SANDBOX", "LAST RUN", "ACTIVE"],
                threads.Select(t => new[]
                {
                    t.ThreadKey, t.Harness, t.SandboxState,
                    t.LastExecutionId is { } id ? $"#{id} {t.LastExecutionState}" : "-",
                    Table.Ago(t.LastActivityAt, now),
                }),
                (column, cell) => column is 2 or 3 ? Table.StateStyle(cell.Split(' ')[^1]) : []);
            return 0;
        }, cancellationToken));
        return command;
    }
}
