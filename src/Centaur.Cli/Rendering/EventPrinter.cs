using System.Globalization;
using System.Text.Json.Nodes;
using Centaur.Cli.Api;

namespace Centaur.Cli.Rendering;

/// <summary>
/// Turns a thread's events into a readable conversation: the answer rendered as Markdown while it streams, tool
/// activity on one line each, and one outcome line per execution (state, duration, tokens). A replay status drops
/// the partial answer of the failed attempt, as the API asks clients to.
/// </summary>
internal sealed class EventPrinter(Terminal terminal, MarkdownWriter markdown, Progress? progress, bool log)
{
    private long _execution;
    private bool _streaming;
    private bool _answered;
    private DateTimeOffset? _startedAt;
    private JsonNode? _usage;
    private JsonNode? _cost;

    /// <summary>The state of the last execution seen (queued … succeeded).</summary>
    public string? LastState { get; private set; }

    public JsonObject? LastTerminalData { get; private set; }

    public void Print(StreamEvent e)
    {
        if (progress is null)
        {
            PrintCore(e);
        }
        else
        {
            progress.Output(() => PrintCore(e));
        }
    }

    private void PrintCore(StreamEvent e)
    {
        if (e.ExecutionId != _execution)
        {
            EndText();
            _execution = e.ExecutionId;
            _streaming = _answered = false;
            _startedAt = null;
            _usage = _cost = null;
            if (log)
            {
                WriteLine(terminal.Style($"── execution {e.ExecutionId} · {e.CreatedAt.ToLocalTime():yyyy-MM-dd HH:mm:ss} ──", Ansi.Dim));
            }
        }

        switch (e.Type)
        {
            case "assistant_delta":
                markdown.Append(e.Text ?? "");
                _streaming = _answered = true;
                break;
            case "assistant_message":
                if (!_streaming)
                {
                    markdown.Append(e.Text ?? "");
                }

                markdown.Finish();
                _streaming = false;
                _answered = true;
                break;
            case "tool_use":
                EndText();
                WriteLine($"{terminal.Style("⚙ " + (e.Data["name"]?.ToString() ?? "tool"), Ansi.Magenta)} {terminal.Style(Summarize(e.Data["input"]), Ansi.Dim)}");
                break;
            case "tool_result":
                EndText();
                WriteLine(ToolResult(e.Data));
                break;
            case "status":
                Status(e);
                break;
            case "error":
                EndText();
                WriteLine(terminal.Style($"✗ {e.Data["message"]} ({e.Data["code"]})", Ansi.Red));
                break;
            case "usage":
                _usage = e.Data["usage"];
                _cost = e.Data["cost_usd"];
                break;
            case "execution_state":
                State(e);
                break;
            default:
                break; // types added later are skipped, not fatal
        }
    }

    private void Status(StreamEvent e)
    {
        var text = e.Text ?? "";
        if (e.Data["replay"]?.GetValue<bool>() == true)
        {
            EndText();
            WriteLine(terminal.Style($"↻ {text}" + (_answered ? " (the partial answer above is discarded)" : ""), Ansi.Yellow));
            _answered = _streaming = false;
            progress?.SetPhase("replaying");
            return;
        }

        progress?.SetPhase(text);
        if (log)
        {
            EndText();
            WriteLine(terminal.Style($"… {text}", Ansi.Dim));
        }
        else if (!terminal.ErrorIsTerminal)
        {
            terminal.Notice($"… {text}", Ansi.Dim);
        }
    }

    private void State(StreamEvent e)
    {
        var state = e.State ?? "unknown";
        LastState = state;
        switch (state)
        {
            case "queued":
                progress?.SetPhase("queued");
                if (log)
                {
                    WriteLine(terminal.Style("· queued", Ansi.Dim));
                }

                return;
            case "running":
                _startedAt = e.CreatedAt;
                progress?.SetPhase("running");
                if (log)
                {
                    WriteLine(terminal.Style("· running", Ansi.Dim));
                }

                return;
        }

        LastTerminalData = e.Data;
        EndText();
        if (!_answered && e.Data["result"]?.GetValue<string>() is { Length: > 0 } result && state == "succeeded")
        {
            // A late joiner (or a turn that streamed nothing) still gets the answer from the terminal snapshot.
            markdown.Append(result);
            markdown.Finish();
        }

        _usage ??= e.Data["usage"];
        var took = _startedAt is { } started ? $" in {Duration(e.CreatedAt - started)}" : "";
        var tokens = Tokens();
        var line = state switch
        {
            "succeeded" => terminal.Style($"✓ succeeded{took}", Ansi.Green) + tokens,
            "cancelled" => terminal.Style($"⊘ cancelled{took}", Ansi.Yellow),
            "interrupted" => terminal.Style($"⚠ interrupted{took}: {ErrorText(e.Data)}", Ansi.Yellow) + Effects(e.Data),
            _ => terminal.Style($"✗ {state}{took}: {ErrorText(e.Data)}", Ansi.Red) + tokens,
        };
        WriteLine(line);
    }

    private string Tokens()
    {
        if (_usage is not JsonObject usage)
        {
            return "";
        }

        var input = Number(usage["input_tokens"]);
        var output = Number(usage["output_tokens"]);
        var cost = _cost is JsonValue c && c.TryGetValue<double>(out var usd) ? $" · ${usd.ToString("0.0000", CultureInfo.InvariantCulture)}" : "";
        return input is null && output is null ? "" : terminal.Style($" · {input ?? 0:N0} in / {output ?? 0:N0} out tokens{cost}", Ansi.Dim);
    }

    private string Effects(JsonObject data)
    {
        if (data["effects"] is not JsonArray { Count: > 0 } effects)
        {
            return "";
        }

        var list = effects.Take(5).Select(x => $"{x?["source"]} {x?["method"]} {x?["target"]}");
        return "\n" + terminal.Style("  already happened: " + string.Join("; ", list) + (effects.Count > 5 ? " …" : "")
            + "\n  type /resume to continue the turn knowing this", Ansi.Yellow);
    }

    private string ToolResult(JsonObject data)
    {
        var content = data["content"] switch
        {
            JsonValue v when v.TryGetValue<string>(out var s) => s,
            JsonArray blocks => string.Concat(blocks.Select(b => b?["text"]?.ToString())),
            null => "",
            var other => other.ToJsonString(),
        };
        if (data["is_error"]?.GetValue<bool>() == true)
        {
            return terminal.Style("  ↳ error: " + Truncate(FirstLine(content), terminal.Width - 12), Ansi.Red);
        }

        var lines = content.Count(ch => ch == '\n') + (content.Length > 0 ? 1 : 0);
        var preview = Truncate(FirstLine(content), Math.Max(20, terminal.Width - 30));
        return terminal.Style($"  ↳ {preview}" + (lines > 1 ? $" (+{lines - 1} lines)" : ""), Ansi.Dim);
    }

    /// <summary>The one argument that says what a tool does (a command, a path, a query), else compact JSON.</summary>
    private string Summarize(JsonNode? input)
    {
        string text;
        if (input is JsonObject o && new[] { "command", "cmd", "file_path", "path", "pattern", "query", "url", "description" }
                .Select(k => o[k]).FirstOrDefault(v => v is JsonValue value && value.TryGetValue<string>(out _)) is { } main)
        {
            text = main.GetValue<string>();
        }
        else
        {
            text = input?.ToJsonString() ?? "";
        }

        return Truncate(FirstLine(text), Math.Max(20, terminal.Width - 20));
    }

    private static string ErrorText(JsonObject data) => data["error"] switch
    {
        JsonObject error => $"{error["message"]} ({error["code"]})",
        JsonNode other => other.ToString(),
        null => data["result"]?.ToString() ?? "no details",
    };

    private void EndText()
    {
        if (_streaming || !markdown.AtLineStart)
        {
            markdown.Finish();
            _streaming = false;
        }
    }

    private void WriteLine(string line)
    {
        terminal.Out.WriteLine(line);
        terminal.Out.Flush();
    }

    private static long? Number(JsonNode? node) => node is JsonValue v && v.TryGetValue<long>(out var n) ? n : null;

    private static string FirstLine(string s) => s.Split('\n', 2)[0].Trim();

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..Math.Max(1, max - 1)] + "…";

    internal static string Duration(TimeSpan d) => d.TotalSeconds < 60
        ? d.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + "s"
        : $"{(int)d.TotalMinutes}m{d.Seconds:00}s";

    /// <summary>For --format jsonl: the event exactly as the API sent it, one per line.</summary>
    public static void PrintJson(TextWriter output, StreamEvent e)
    {
        output.WriteLine(JsonNode.Parse(e.Json)!.ToJsonString());
        output.Flush();
    }
}
