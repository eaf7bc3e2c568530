using System.Globalization;
using System.Text.Json.Nodes;

namespace Centaur.Api.WebConsole;

/// <summary>How the console writes times, durations, states and events (the live view's JS mirrors Summary).</summary>
internal static class ConsoleFormat
{
    public static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + " UTC";

    public static string Clock(DateTimeOffset t) => t.UtcDateTime.ToString("HH:mm:ss", CultureInfo.InvariantCulture);

    public static string Ago(DateTimeOffset t, DateTimeOffset now)
    {
        var d = now - t;
        return d.TotalSeconds < 60 ? $"{Math.Max(0, (int)d.TotalSeconds)}s ago"
            : d.TotalMinutes < 60 ? $"{(int)d.TotalMinutes}m ago"
            : d.TotalHours < 48 ? $"{(int)d.TotalHours}h ago"
            : $"{(int)d.TotalDays}d ago";
    }

    public static string Duration(DateTimeOffset? from, DateTimeOffset? to) =>
        from is { } a && to is { } b ? Duration(b - a) : "–";

    public static string Duration(TimeSpan d) => d.TotalSeconds < 60
        ? d.TotalSeconds.ToString(d.TotalSeconds < 10 ? "0.00" : "0.0", CultureInfo.InvariantCulture) + " s"
        : $"{(int)d.TotalMinutes} m {d.Seconds:00} s";

    /// <summary>The CSS class of a state badge: good, busy, bad, warn or idle.</summary>
    public static string Badge(string? state) => state switch
    {
        "succeeded" or "ready" or "allow" => "badge good",
        "running" or "queued" or "spawning" => "badge busy",
        "failed" or "deny" => "badge bad",
        "cancelled" or "interrupted" or "suspended" or "report" => "badge warn",
        _ => "badge idle",
    };

    public static string Tokens(JsonNode? usage)
    {
        if (usage is not JsonObject u)
        {
            return "–";
        }

        var input = Number(u["input_tokens"]);
        var output = Number(u["output_tokens"]);
        return input is null && output is null ? "–" : $"{input ?? 0:N0} / {output ?? 0:N0}";
    }

    public static string Bytes(long n) => n < 1024 ? $"{n} B" : n < 1024 * 1024 ? $"{n / 1024.0:0.#} kB" : $"{n / (1024.0 * 1024):0.#} MB";

    public static string Summary(string type, JsonObject data) => type switch
    {
        "execution_state" => (data["state"]?.ToString() ?? "") + data["error"] switch
        {
            JsonObject e => $": {e["message"]} ({e["code"]})",
            _ => "",
        },
        "assistant_message" or "assistant_delta" or "status" => Truncate(data["text"]?.ToString() ?? "", 200),
        "tool_use" => $"{data["name"]} {Truncate(data["input"]?.ToJsonString() ?? "", 160)}",
        "tool_result" => (data["is_error"]?.GetValue<bool>() == true ? "error: " : "") + Truncate(Text(data["content"]), 160),
        "error" => $"{data["message"]} ({data["code"]})",
        "usage" => $"tokens {Tokens(data["usage"])}" + (data["cost_usd"] is JsonValue c && c.TryGetValue<double>(out var usd) ? $" · ${usd:0.0000}" : ""),
        _ => Truncate(data.ToJsonString(), 200),
    };

    public static string Truncate(string s, int max) => s.Length <= max ? s : s[..(max - 1)] + "…";

    private static string Text(JsonNode? content) => content switch
    {
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonArray blocks => string.Concat(blocks.Select(b => b?["text"]?.ToString())),
        null => "",
        var other => other.ToJsonString(),
    };

    private static long? Number(JsonNode? node) => node is JsonValue v && v.TryGetValue<long>(out var n) ? n : null;
}
