using Centaur.Slack.Formatting;

namespace Centaur.Tests.Slack;

public sealed class MrkdwnConverterTests
{
    private const string Zw = "\u200B";

    public static TheoryData<string, string, string> Cases => new()
    {
        { "plain text", "hello world", "hello world" },
        { "escapes & < >", "*h&ello>world<", "*h&amp;ello&gt;world&lt;" },
        { "bold", "**bold text**", "*bold text*" },
        { "bold with underscores", "__bold__", "*bold*" },
        { "italic", "*italic*", "_italic_" },
        { "italic with underscores", "_italic_", "_italic_" },
        { "strike", "~~gone~~", "~gone~" },
        { "bold inside a word", "he**l**lo", $"he{Zw}*l*{Zw}lo" },
        { "inline code is escaped but not formatted", "run `a < b && **c**`", "run `a &lt; b &amp;&amp; **c**`" },
        { "code block drops the language", "```csharp\nvar x = a < b;\n```", "```\nvar x = a &lt; b;\n```" },
        { "link", "[docs](https://example.com/a?b=1&c=2)", "<https://example.com/a?b=1&amp;c=2|docs>" },
        { "link whose text is the url", "[https://example.com](https://example.com)", "<https://example.com>" },
        { "relative link keeps the words", "[test](/relative)", "test" },
        { "autolink", "<https://example.com>", "<https://example.com>" },
        { "image becomes a link", "![chart](https://example.com/c.png)", "<https://example.com/c.png|chart>" },
        { "headings", "# heading 1\n## heading 2", "*heading 1*\n\n*heading 2*" },
        { "bullet list", "- one\n- two", "• one\n• two" },
        { "ordered list", "1. one\n2. two", "1. one\n2. two" },
        { "ordered list starting at 3", "3. three\n4. four", "3. three\n4. four" },
        { "nested list", "- one\n  - inner\n- two", "• one\n    • inner\n• two" },
        { "quote", "> quoted\n> more", "&gt;quoted\n&gt;more" },
        { "paragraphs stay apart", "first\n\nsecond", "first\n\nsecond" },
        { "rule is dropped", "above\n\n---\n\nbelow", "above\n\nbelow" },
        { "user mention kept", "ask <@U0LAN0Z89> please", "ask <@U0LAN0Z89> please" },
        { "channel mention kept", "see <#C123ABC456>", "see <#C123ABC456>" },
        { "broadcast neutralised", "<!channel> hi", "&lt;!channel&gt; hi" },
        { "table becomes monospace", "| a | bb |\n|---|---|\n| 1 | 2 |", "```\na | bb\n--+---\n1 | 2\n```" },
        { "empty", "", "" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void ConvertsMarkdownToMrkdwn(string name, string markdown, string expected)
    {
        Assert.NotEmpty(name);
        Assert.Equal(expected, MrkdwnConverter.Convert(markdown));
    }
}
