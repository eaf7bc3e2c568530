namespace Centaur.Slack.Formatting;

/// <summary>
/// Cuts an answer into Slack-sized messages: at a paragraph or code-block boundary when there is one in the second
/// half of the budget, else at a line, else at a space. A code block that must be cut is closed and reopened, and
/// a cut never splits a surrogate pair or a &lt;…&gt; token.
/// </summary>
internal static class MessageSplitter
{
    private const string Fence = "```";

    public static IReadOnlyList<string> Split(string text, int budget)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(budget, 64);
        var parts = new List<string>();
        var rest = text.TrimEnd();
        while (rest.Length > budget)
        {
            var cut = ChooseCut(rest, budget - (Fence.Length + 1));
            var part = rest[..cut].TrimEnd();
            var remainder = rest[cut..].TrimStart('\n');
            if (EndsInsideFence(part))
            {
                part += "\n" + Fence;
                remainder = Fence + "\n" + remainder;
            }

            parts.Add(part);
            rest = remainder;
        }

        if (rest.Length > 0 || parts.Count == 0)
        {
            parts.Add(rest);
        }

        return parts;
    }

    private static int ChooseCut(string text, int limit)
    {
        int paragraph = -1, line = -1;
        var inFence = false;
        var lineStart = 0;
        while (lineStart < text.Length)
        {
            var newline = text.IndexOf('\n', lineStart);
            var lineEnd = newline < 0 ? text.Length : newline;
            if (lineEnd + 1 > limit)
            {
                break;
            }

            var content = text.AsSpan(lineStart, lineEnd - lineStart).Trim();
            var closesFence = false;
            if (content.StartsWith(Fence, StringComparison.Ordinal))
            {
                closesFence = inFence;
                inFence = !inFence;
            }

            var next = lineEnd + 1;
            line = next;
            if (closesFence || (!inFence && content.IsEmpty))
            {
                paragraph = next;
            }

            lineStart = next;
        }

        if (paragraph >= limit / 2)
        {
            return paragraph;
        }

        if (line >= limit / 2)
        {
            return line;
        }

        return HardCut(text, limit);
    }

    private static int HardCut(string text, int limit)
    {
        var cut = text.LastIndexOf(' ', limit - 1, limit / 2);
        cut = cut > 0 ? cut + 1 : limit;
        var open = text.LastIndexOf('<', cut - 1, Math.Min(cut, 200));
        if (open > 0 && text.IndexOf('>', open) is var close && close >= cut)
        {
            cut = open;
        }

        if (char.IsLowSurrogate(text[cut]) && cut > 0)
        {
            cut--;
        }

        return cut;
    }

    private static bool EndsInsideFence(string part)
    {
        var inFence = false;
        foreach (var line in part.Split('\n'))
        {
            if (line.TrimStart().StartsWith(Fence, StringComparison.Ordinal))
            {
                inFence = !inFence;
            }
        }

        return inFence;
    }
}
