using System.Text;
using System.Text.RegularExpressions;
using Markdig;
using Markdig.Extensions.Tables;
using Markdig.Syntax;
using Markdig.Syntax.Inlines;

namespace Centaur.Slack.Formatting;

/// <summary>
/// Markdown from the agent → Slack mrkdwn, by walking Markdig's syntax tree: bold *x*, italic _x_, strike ~x~, code
/// kept, links &lt;url|text&gt;, headings as bold lines, lists as • lines, tables as monospace blocks; &amp; &lt; &gt;
/// escaped everywhere except in the tokens produced here and in Slack's own user/channel mentions.
/// </summary>
internal static partial class MrkdwnConverter
{
    private const char ZeroWidthSpace = '\u200B';

    private static readonly MarkdownPipeline s_pipeline = new MarkdownPipelineBuilder()
        .UseEmphasisExtras(Markdig.Extensions.EmphasisExtras.EmphasisExtraOptions.Strikethrough)
        .UsePipeTables()
        .DisableHtml()
        .Build();

    public static string Convert(string markdown)
    {
        if (string.IsNullOrWhiteSpace(markdown))
        {
            return "";
        }

        var document = Markdown.Parse(markdown, s_pipeline);
        var output = new StringBuilder();
        WriteBlocks(output, document, indent: "");
        return output.ToString().TrimEnd();
    }

    /// <summary>Escapes Slack's control characters, keeping user, channel and user-group mentions intact.</summary>
    public static string Escape(string text)
    {
        var output = new StringBuilder(text.Length);
        var last = 0;
        foreach (Match match in SlackToken().Matches(text))
        {
            output.Append(EscapeAll(text.AsSpan(last, match.Index - last)));
            output.Append(match.Value);
            last = match.Index + match.Length;
        }

        output.Append(EscapeAll(text.AsSpan(last)));
        return output.ToString();
    }

    private static string EscapeAll(ReadOnlySpan<char> text) =>
        text.ToString().Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal);

    private static void WriteBlocks(StringBuilder output, ContainerBlock container, string indent)
    {
        var first = true;
        foreach (var block in container)
        {
            if (block is ThematicBreakBlock or LinkReferenceDefinitionGroup)
            {
                continue;
            }

            if (!first)
            {
                output.Append('\n');
                if (container is not ListItemBlock)
                {
                    output.Append(indent).Append('\n');
                }
            }

            first = false;
            WriteBlock(output, block, indent);
        }
    }

    private static void WriteBlock(StringBuilder output, Block block, string indent)
    {
        switch (block)
        {
            case HeadingBlock heading:
                output.Append(indent).Append('*');
                WriteInlines(output, heading.Inline, indent, plain: true);
                output.Append('*');
                break;
            case ParagraphBlock paragraph:
                output.Append(indent);
                WriteInlines(output, paragraph.Inline, indent, plain: false);
                break;
            case CodeBlock code:
                output.Append(indent).Append("```\n");
                var lines = code.Lines.ToString().TrimEnd('\n');
                output.Append(EscapeAll(lines)).Append('\n').Append(indent).Append("```");
                break;
            case QuoteBlock quote:
                var inner = new StringBuilder();
                WriteBlocks(inner, quote, "");
                output.Append(string.Join('\n', inner.ToString().Split('\n').Select(line => indent + "&gt;" + line)));
                break;
            case ListBlock list:
                WriteList(output, list, indent);
                break;
            case Table table:
                WriteTable(output, table, indent);
                break;
            case LeafBlock leaf:
                output.Append(indent).Append(EscapeAll(leaf.Lines.ToString()));
                break;
            case ContainerBlock other:
                WriteBlocks(output, other, indent);
                break;
        }
    }

    private static void WriteList(StringBuilder output, ListBlock list, string indent)
    {
        var number = int.TryParse(list.OrderedStart, out var start) ? start : 1;
        var firstItem = true;
        foreach (var item in list.OfType<ListItemBlock>())
        {
            if (!firstItem)
            {
                output.Append('\n');
            }

            firstItem = false;
            var bullet = list.IsOrdered ? $"{number++}. " : "• ";
            var content = new StringBuilder();
            WriteBlocks(content, item, "");
            var lines = content.ToString().Split('\n');
            output.Append(indent).Append(bullet).Append(lines[0]);
            foreach (var line in lines.Skip(1))
            {
                // Nested content (sub-lists, continuation paragraphs) is indented under the bullet.
                output.Append('\n').Append(indent).Append("    ").Append(line);
            }
        }
    }

    private static void WriteTable(StringBuilder output, Table table, string indent)
    {
        var rows = table.OfType<TableRow>()
            .Select(row => row.OfType<TableCell>().Select(cell =>
            {
                var text = new StringBuilder();
                foreach (var paragraph in cell.OfType<ParagraphBlock>())
                {
                    WriteInlines(text, paragraph.Inline, "", plain: true);
                }

                return text.ToString();
            }).ToList())
            .ToList();
        var columns = rows.Max(r => r.Count);
        var widths = Enumerable.Range(0, columns).Select(c => rows.Max(r => c < r.Count ? r[c].Length : 0)).ToArray();
        output.Append(indent).Append("```\n");
        for (var r = 0; r < rows.Count; r++)
        {
            output.Append(indent).Append(string.Join(" | ", Enumerable.Range(0, columns).Select(c => (c < rows[r].Count ? rows[r][c] : "").PadRight(widths[c]))).TrimEnd()).Append('\n');
            if (r == 0 && table.OfType<TableRow>().First().IsHeader)
            {
                output.Append(indent).Append(string.Join("-+-", widths.Select(w => new string('-', Math.Max(w, 1))))).Append('\n');
            }
        }

        output.Append(indent).Append("```");
    }

    private static void WriteInlines(StringBuilder output, ContainerInline? container, string indent, bool plain)
    {
        for (var inline = container?.FirstChild; inline is not null; inline = inline.NextSibling)
        {
            WriteInline(output, inline, indent, plain);
        }
    }

    private static void WriteInline(StringBuilder output, Inline inline, string indent, bool plain)
    {
        switch (inline)
        {
            case LiteralInline literal:
                output.Append(Escape(literal.Content.ToString()));
                break;
            case CodeInline code:
                output.Append('`').Append(EscapeAll(code.Content)).Append('`');
                break;
            case EmphasisInline emphasis:
                var marker = emphasis.DelimiterChar switch
                {
                    '~' => "~",
                    _ when emphasis.DelimiterCount >= 2 => "*",
                    _ => "_",
                };
                if (plain)
                {
                    WriteInlines(output, emphasis, indent, plain);
                    break;
                }

                // Slack only honours a marker at a word boundary; a zero-width space makes one inside a word.
                if (output.Length > 0 && char.IsLetterOrDigit(output[^1]))
                {
                    output.Append(ZeroWidthSpace);
                }

                output.Append(marker);
                WriteInlines(output, emphasis, indent, plain);
                output.Append(marker);
                if (emphasis.NextSibling is LiteralInline next && next.Content.Length > 0 && char.IsLetterOrDigit(next.Content[next.Content.Start]))
                {
                    output.Append(ZeroWidthSpace);
                }

                break;
            case LinkInline link:
                WriteLink(output, link, indent);
                break;
            case AutolinkInline autolink:
                output.Append('<').Append(autolink.IsEmail ? "mailto:" + autolink.Url : autolink.Url).Append('>');
                break;
            case LineBreakInline:
                output.Append('\n').Append(indent);
                break;
            case HtmlEntityInline entity:
                output.Append(EscapeAll(entity.Transcoded.ToString()));
                break;
            case ContainerInline children:
                WriteInlines(output, children, indent, plain);
                break;
            default:
                output.Append(Escape(inline.ToString() ?? ""));
                break;
        }
    }

    private static void WriteLink(StringBuilder output, LinkInline link, string indent)
    {
        var label = new StringBuilder();
        WriteInlines(label, link, indent, plain: true);
        var url = link.GetDynamicUrl?.Invoke() ?? link.Url ?? "";
        var text = label.ToString().Replace("|", "¦", StringComparison.Ordinal);
        if (!Uri.TryCreate(url, UriKind.Absolute, out var absolute) || absolute.Scheme is not ("http" or "https" or "mailto"))
        {
            // Relative links lead nowhere in Slack; keep the words.
            output.Append(text);
            return;
        }

        var escapedUrl = url.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "%3C", StringComparison.Ordinal).Replace(">", "%3E", StringComparison.Ordinal).Replace("|", "%7C", StringComparison.Ordinal);
        output.Append('<').Append(escapedUrl);
        if (text.Length > 0 && text != url)
        {
            output.Append('|').Append(text);
        }

        output.Append('>');
    }

    /// <summary>&lt;@U123&gt;, &lt;#C123&gt;, &lt;!subteam^S123&gt; (optionally with |label); never &lt;!here&gt;/&lt;!channel&gt;/&lt;!everyone&gt;.</summary>
    [GeneratedRegex(@"<(?:@[UW][A-Z0-9]+|#C[A-Z0-9]+|!subteam\^[A-Z0-9]+)(?:\|[^<>]*)?>")]
    private static partial Regex SlackToken();
}
