using System.Text;
using Centaur.Slack.Formatting;

namespace Centaur.Tests.Slack;

public sealed class MessageSplitterTests
{
    [Fact]
    public void ShortTextIsOnePart() => Assert.Equal(["hello"], MessageSplitter.Split("hello", 3900));

    [Fact]
    public void SixtyThousandCharactersArriveSplitAndComplete()
    {
        var text = new StringBuilder();
        for (var i = 0; text.Length < 60_000; i++)
        {
            text.Append($"Paragraph {i}: ").Append(new string('x', 180 + (i % 7 * 40))).Append("\n\n");
        }

        var answer = text.ToString().TrimEnd();
        var parts = MessageSplitter.Split(answer, 3900);

        Assert.InRange(parts.Count, 16, 20);
        Assert.All(parts, p => Assert.InRange(p.Length, 1, 3900));
        Assert.All(parts, p => Assert.StartsWith("Paragraph ", p, StringComparison.Ordinal));
        Assert.Equal(Normalize(answer), Normalize(string.Join("\n\n", parts)));
    }

    [Fact]
    public void ACodeBlockThatMustBeCutIsClosedAndReopened()
    {
        var code = "```\n" + string.Join('\n', Enumerable.Range(0, 400).Select(i => $"line {i} of code")) + "\n```";
        var parts = MessageSplitter.Split("Intro paragraph.\n\n" + code, 1000);

        Assert.True(parts.Count > 1);
        Assert.All(parts, p => Assert.InRange(p.Length, 1, 1000));
        Assert.All(parts, p => Assert.Equal(0, p.Split('\n').Count(l => l.StartsWith("```", StringComparison.Ordinal)) % 2));
        var lines = string.Join('\n', parts).Split('\n').Where(l => l.StartsWith("line ", StringComparison.Ordinal)).ToList();
        Assert.Equal(400, lines.Count);
        Assert.Equal(lines.Distinct().Count(), lines.Count);
    }

    [Fact]
    public void PrefersAParagraphBoundaryOverALineBoundary()
    {
        var first = string.Join('\n', Enumerable.Repeat(new string('a', 50), 12));
        var second = string.Join('\n', Enumerable.Repeat(new string('b', 50), 12));

        var parts = MessageSplitter.Split(first + "\n\n" + second, 1000);

        Assert.Equal([first, second], parts);
    }

    [Fact]
    public void NeverCutsASlackTokenOrASurrogatePair()
    {
        var text = new string('a', 990) + " <https://example.com/a-long-link|link text> " + string.Concat(Enumerable.Repeat("😀", 600));

        var parts = MessageSplitter.Split(text, 1000);

        Assert.Contains(parts, p => p.Contains("<https://example.com/a-long-link|link text>", StringComparison.Ordinal));
        Assert.All(parts, p => Assert.False(char.IsLowSurrogate(p[0]) || char.IsHighSurrogate(p[^1])));
    }

    private static string Normalize(string text) => string.Join('\n', text.Split('\n').Where(l => l.Length > 0));
}
