using Centaur.Cli.Rendering;

namespace Centaur.Tests.Clients;

public sealed class MarkdownWriterTests
{
    private const string Sample = """
        # Why the billing tests fail

        The **invoice** total uses `decimal` rounding, see [the spec](https://example.test/spec) and snake_case_names.
        - first *point*
        - second point
        1. step one
        > a quote

        ```csharp
        var total = items.Sum(i => i.Price * 2);
        ```
        ---
        2 * 3 * 4 and a \*literal\* star
        """;

    [Fact]
    public void PlainOutputDropsMarkersAndKeepsStructure()
    {
        var output = Render(Sample, ansi: false, chunk: int.MaxValue);

        Assert.Equal("""
            Why the billing tests fail
            ==========================

            The invoice total uses `decimal` rounding, see the spec (https://example.test/spec) and snake_case_names.
            • first point
            • second point
            1. step one
            │ a quote

                var total = items.Sum(i => i.Price * 2);
            ────────────────────────────────────────
            2 * 3 * 4 and a *literal* star

            """.ReplaceLineEndings("\n"), output);
    }

    [Fact]
    public void AnsiOutputStylesInsteadOfMarkers()
    {
        var output = Render("Use **bold**, *italic* and `code`.\n## Next", ansi: true, chunk: int.MaxValue);

        Assert.DoesNotContain("**", output, StringComparison.Ordinal);
        Assert.DoesNotContain("`", output, StringComparison.Ordinal);
        Assert.Contains("\e[0m\e[1mbold", output, StringComparison.Ordinal);
        Assert.Contains("\e[0m\e[3mitalic", output, StringComparison.Ordinal);
        Assert.Contains("\e[0m\e[36mcode", output, StringComparison.Ordinal);
        Assert.Contains("\e[0m\e[1;4mNext", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(64)]
    public void OutputDoesNotDependOnHowTheStreamWasChunked(int chunk)
    {
        Assert.Equal(Render(Sample, ansi: true, chunk: int.MaxValue), Render(Sample, ansi: true, chunk));
        Assert.Equal(Render(Sample, ansi: false, chunk: int.MaxValue), Render(Sample, ansi: false, chunk));
    }

    [Fact]
    public void RandomChunkingOfRandomMarkdownNeverChangesTheOutput()
    {
        var random = new Random(20261127);
        string[] pieces = ["# ", "**", "*", "_", "`", "```\n", "- ", "1. ", "> ", "[a](b)", "[", "]", "(", ")", "\n", " ", "word", "x_y", "---\n", "\\*"];
        for (var round = 0; round < 200; round++)
        {
            var text = string.Concat(Enumerable.Range(0, 40).Select(_ => pieces[random.Next(pieces.Length)]));
            var whole = Render(text, ansi: true, chunk: int.MaxValue);
            var chunked = Render(text, ansi: true, chunk: 1 + random.Next(5));
            Assert.True(whole == chunked, $"chunking changed the output of: {text}");
        }
    }

    [Fact]
    public void FinishEndsAnUnterminatedLineAndUnclosedStyles()
    {
        var output = Render("an **unclosed bold", ansi: true, chunk: int.MaxValue);

        Assert.EndsWith("\e[0m\n", output, StringComparison.Ordinal);
    }

    private static string Render(string text, bool ansi, int chunk)
    {
        text = text.ReplaceLineEndings("\n");
        using var output = new StringWriter { NewLine = "\n" };
        var writer = new MarkdownWriter(output, ansi);
        for (var i = 0; i < text.Length; i += chunk)
        {
            writer.Append(text.Substring(i, Math.Min(chunk, text.Length - i)));
        }

        writer.Finish();
        return output.ToString();
    }
}
