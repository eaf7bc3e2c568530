using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace Centaur.Api.Tools.BuiltIn;

/// <summary>
/// The readable text of an HTML page: scripts, styles and tags removed, block elements as line breaks, entities
/// decoded, runs of blank space collapsed. Good enough for an agent to read a page; not a renderer.
/// </summary>
internal static partial class HtmlText
{
    public static string From(string html)
    {
        var text = Invisible().Replace(html, " ");
        text = Blocks().Replace(text, "\n");
        text = Tags().Replace(text, "");
        text = WebUtility.HtmlDecode(text);
        var lines = new StringBuilder();
        foreach (var line in text.Split('\n'))
        {
            var collapsed = Spaces().Replace(line, " ").Trim();
            if (collapsed.Length > 0)
            {
                lines.Append(collapsed).Append('\n');
            }
        }

        return lines.ToString().TrimEnd();
    }

    [GeneratedRegex(@"<(script|style|noscript|template|svg|head)\b[^>]*>.*?</\1\s*>|<!--.*?-->", RegexOptions.IgnoreCase | RegexOptions.Singleline)]
    private static partial Regex Invisible();

    [GeneratedRegex(@"<(br|/?p|/?div|/?li|/?tr|/?h[1-6]|/?section|/?article|/?ul|/?ol|/?table|/?pre|/?blockquote)\b[^>]*>", RegexOptions.IgnoreCase)]
    private static partial Regex Blocks();

    [GeneratedRegex(@"<[^>]+>")]
    private static partial Regex Tags();

    [GeneratedRegex(@"[ \t\r\f\v\u00a0]+")]
    private static partial Regex Spaces();
}
