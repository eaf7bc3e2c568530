using System.CommandLine;
using System.Globalization;
using System.Net;
using Centaur.Cli.Api;
using Centaur.Cli.Rendering;

namespace Centaur.Cli.Commands;

/// <summary><c>centaur audit KEY</c>: every request the thread's sandbox made through IronProxy (GET /audit/egress).</summary>
internal static class AuditCommand
{
    public static Command Create()
    {
        var thread = new Argument<string>("thread") { Description = "The thread key" };
        var limit = new Option<int>("--limit", "-n") { Description = "At most this many requests", DefaultValueFactory = _ => 500 };
        var command = new Command("audit", "Show a thread's egress audit: host, method, path, status, credential bindings") { thread, limit };
        command.SetAction((parse, cancellationToken) => CliCommands.RunAsync(parse, async (context, ct) =>
        {
            var key = parse.GetValue(thread)!;
            var max = Math.Clamp(parse.GetValue(limit), 1, 100_000);
            var rows = new List<EgressAuditRow>();
            try
            {
                var after = 0L;
                while (rows.Count < max)
                {
                    var page = await context.Api.EgressAuditAsync(key, after, Math.Min(500, max - rows.Count), ct);
                    rows.AddRange(page.Items);
                    if (page.Items.Count == 0 || page.NextAfterId <= after)
                    {
                        break;
                    }

                    after = page.NextAfterId;
                }
            }
            catch (CentaurApiException ex) when (ex.Status == HttpStatusCode.NotFound && ex.Code is null or "not_found")
            {
                context.Terminal.Notice($"this API has no egress audit (GET /audit/egress answered 404): {context.Api.BaseAddress} runs without "
                    + "Centaur.IronProxy's audit endpoint. Update the API, or read the proxy's audit table directly.", Ansi.Yellow);
                return 2;
            }

            if (rows.Count == 0)
            {
                context.Terminal.Notice($"no egress recorded for {key}");
                return 0;
            }

            Table.Write(context.Terminal, ["TIME", "METHOD", "HOST", "PATH", "STATUS", "DECISION", "BINDINGS", "IN/OUT", "MS"],
                rows.Select(r => new[]
                {
                    r.CreatedAt.ToLocalTime().ToString("HH:mm:ss", CultureInfo.InvariantCulture), r.Method,
                    r.Port is 443 or 80 ? r.Host : $"{r.Host}:{r.Port}", r.Path.Length > 60 ? r.Path[..59] + "…" : r.Path,
                    r.Status.ToString(CultureInfo.InvariantCulture), r.Decision + (r.Reason is null ? "" : $" ({r.Reason})"),
                    r.Bindings.Length == 0 ? "-" : string.Join(",", r.Bindings), $"{Bytes(r.BytesIn)}/{Bytes(r.BytesOut)}",
                    r.DurationMs.ToString("0", CultureInfo.InvariantCulture),
                }),
                (column, cell) => column == 5 ? (cell.StartsWith("allow", StringComparison.Ordinal) ? [Ansi.Green] : [Ansi.Red]) : []);
            context.Terminal.Notice($"{rows.Count} request(s)", Ansi.Dim);
            return 0;
        }, cancellationToken));
        return command;
    }

    private static string Bytes(long n) => n < 1024 ? $"{n}B" : n < 1024 * 1024 ? $"{n / 1024.0:0.#}k" : $"{n / (1024.0 * 1024):0.#}M";
}
