namespace Centaur.Cli.Rendering;

/// <summary>Left-aligned columns sized to their widest cell; the last column is never padded.</summary>
internal static class Table
{
    public static void Write(Terminal terminal, string[] headers, IEnumerable<string[]> rows, Func<int, string, string[]>? style = null)
    {
        var all = rows.ToList();
        var widths = headers.Select((h, i) => all.Select(r => r[i].Length).Append(h.Length).Max()).ToArray();
        terminal.Out.WriteLine(terminal.Style(Line(headers, widths), Ansi.Bold));
        foreach (var row in all)
        {
            var cells = row.Select((cell, i) =>
            {
                var padded = i == row.Length - 1 ? cell : cell.PadRight(widths[i]);
                return style?.Invoke(i, cell) is { Length: > 0 } codes ? terminal.Style(padded, codes) : padded;
            });
            terminal.Out.WriteLine(string.Join("  ", cells));
        }

        terminal.Out.Flush();
    }

    private static string Line(string[] cells, int[] widths) =>
        string.Join("  ", cells.Select((c, i) => i == cells.Length - 1 ? c : c.PadRight(widths[i])));

    /// <summary>"3m ago", "2h ago", "5d ago": enough to scan a list.</summary>
    public static string Ago(DateTimeOffset when, DateTimeOffset now)
    {
        var d = now - when;
        return d.TotalSeconds < 60 ? $"{Math.Max(0, (int)d.TotalSeconds)}s ago"
            : d.TotalMinutes < 60 ? $"{(int)d.TotalMinutes}m ago"
            : d.TotalHours < 48 ? $"{(int)d.TotalHours}h ago"
            : $"{(int)d.TotalDays}d ago";
    }

    public static string[] StateStyle(string state) => state switch
    {
        "succeeded" or "ready" => [Ansi.Green],
        "running" or "queued" or "spawning" => [Ansi.Cyan],
        "failed" => [Ansi.Red],
        "cancelled" or "interrupted" or "suspended" => [Ansi.Yellow],
        _ => [],
    };
}
