using System.Text;

namespace Centaur.Cli.Rendering;

/// <summary>
/// Renders Markdown for a terminal as it streams in. Block syntax (headings, lists, quotes, fences, rules) is decided
/// at the start of each line, inline syntax (bold, italic, code, links) as characters arrive, so text appears as soon
/// as it is unambiguous and the output never depends on how the text was split into chunks. Without ANSI the markers
/// are dropped and structure is kept with plain characters (underlined headings, bullets, indented code).
/// </summary>
internal sealed class MarkdownWriter(TextWriter output, bool ansi)
{
    private enum LineKind { Paragraph, Heading, Quote, Code }

    private const int MaxLinkLength = 2000;
    private readonly StringBuilder _out = new();
    private readonly StringBuilder _lineStart = new();
    private readonly StringBuilder _link = new();
    private bool _atLineStart = true;
    private bool _inFence;
    private bool _swallowLine;
    private LineKind _line;
    private int _headingLevel;
    private int _lineLength;
    private bool _bold, _italic, _code, _escape;
    private char _runChar;
    private int _runLength;
    private char _previous = ' ';

    /// <summary>True when nothing is pending on the current output line (a progress line may be drawn there).</summary>
    public bool AtLineStart => _atLineStart && _lineStart.Length == 0;

    /// <summary>True once anything was written since the last <see cref="Finish"/>.</summary>
    public bool WroteSomething { get; private set; }

    public void Append(string text)
    {
        foreach (var c in text)
        {
            Feed(c);
        }

        Flush();
    }

    /// <summary>Ends the current block: pending text is written, styles are reset and the cursor is at a line start.</summary>
    public void Finish()
    {
        if (!AtLineStart || _link.Length > 0 || _runLength > 0)
        {
            Feed('\n');
        }

        _inFence = false;
        _swallowLine = false;
        WroteSomething = false;
        Flush();
    }

    private void Feed(char c)
    {
        if (c == '\r')
        {
            return;
        }

        WroteSomething = true;
        if (_swallowLine)
        {
            if (c == '\n')
            {
                _swallowLine = false;
                _atLineStart = true;
            }

            return;
        }

        if (_atLineStart)
        {
            _lineStart.Append(c);
            Classify();
            return;
        }

        if (_line == LineKind.Code)
        {
            if (c == '\n')
            {
                EndLine();
            }
            else
            {
                Emit(c);
            }

            return;
        }

        Inline(c);
    }

    /// <summary>Decides what the line is once its first characters make it unambiguous.</summary>
    private void Classify()
    {
        var s = _lineStart.ToString();
        var complete = s[^1] == '\n';
        var indent = 0;
        while (indent < s.Length && s[indent] == ' ')
        {
            indent++;
        }

        var rest = s[indent..];
        if (_inFence)
        {
            var fence = rest.TakeWhile(ch => ch is '`' or '~').Count();
            if (fence >= 3)
            {
                _inFence = false;
                StartLine(swallow: true);
                _swallowLine = !complete;
                _atLineStart = complete;
                return;
            }

            if (!complete && rest.Length > 0 && fence == rest.Length && indent < 4)
            {
                return; // "`" or "``": a closing fence or code; wait
            }

            if (!complete && rest.Length == 0)
            {
                return;
            }

            BeginLine(LineKind.Code);
            Replay(s);
            return;
        }

        if (rest.Length == 0)
        {
            return; // only spaces so far
        }

        switch (rest[0])
        {
            case '\n':
                StartLine(swallow: true);
                EndLine();
                return;
            case '#':
            {
                var level = rest.TakeWhile(ch => ch == '#').Count();
                if (level == rest.Length && level <= 6)
                {
                    return;
                }

                if (level <= 6 && rest[level] is ' ' or '\n')
                {
                    _headingLevel = level;
                    BeginLine(LineKind.Heading);
                    Replay(rest[level] == ' ' ? rest[(level + 1)..] : rest[level..]);
                    return;
                }

                break;
            }

            case '`' or '~':
            {
                var fence = rest.TakeWhile(ch => ch == rest[0]).Count();
                if (fence >= 3)
                {
                    _inFence = true;
                    StartLine(swallow: true);
                    _swallowLine = !complete;
                    _atLineStart = complete;
                    return;
                }

                if (fence == rest.Length)
                {
                    return;
                }

                break;
            }

            case '>':
                if (rest.Length == 1)
                {
                    return;
                }

                BeginLine(LineKind.Quote);
                Write(ansi ? Styled("│ ", Ansi.Dim) : "│ ");
                Restyle();
                Replay(rest[1] == ' ' ? rest[2..] : rest[1..]);
                return;
            case '-' or '*' or '+' or '_':
            {
                if (rest.Length == 1)
                {
                    return;
                }

                if (rest[0] != '_' && rest[1] == ' ')
                {
                    BeginLine(LineKind.Paragraph);
                    Write(new string(' ', indent) + (ansi ? Styled("•", Ansi.Cyan) : "•") + " ");
                    Replay(rest[2..]);
                    return;
                }

                var body = rest.TrimEnd('\n');
                if (body.All(ch => ch == rest[0] || ch == ' '))
                {
                    if (!complete)
                    {
                        return; // "---", "***": a rule if the line ends here
                    }

                    if (body.Count(ch => ch == rest[0]) >= 3)
                    {
                        StartLine(swallow: true);
                        Write((ansi ? Styled(new string('─', 40), Ansi.Dim) : new string('─', 40)) + "\n");
                        _atLineStart = true;
                        return;
                    }
                }

                break;
            }

            case >= '0' and <= '9':
            {
                var digits = rest.TakeWhile(char.IsAsciiDigit).Count();
                if (digits > 9)
                {
                    break;
                }

                if (digits == rest.Length || (digits + 1 == rest.Length && rest[digits] is '.' or ')'))
                {
                    return;
                }

                if (rest[digits] is '.' or ')' && rest[digits + 1] == ' ')
                {
                    BeginLine(LineKind.Paragraph);
                    Write(new string(' ', indent) + (ansi ? Styled(rest[..(digits + 1)], Ansi.Cyan) : rest[..(digits + 1)]) + " ");
                    Replay(rest[(digits + 2)..]);
                    return;
                }

                break;
            }
        }

        BeginLine(LineKind.Paragraph);
        Replay(s);
    }

    private void StartLine(bool swallow)
    {
        _lineStart.Clear();
        _atLineStart = swallow;
    }

    private void BeginLine(LineKind kind)
    {
        _lineStart.Clear();
        _atLineStart = false;
        _line = kind;
        _lineLength = 0;
        if (kind == LineKind.Code)
        {
            Write(ansi ? Styled("  │ ", Ansi.Dim) : "    ");
        }

        Restyle();
    }

    private void Replay(string text)
    {
        foreach (var c in text)
        {
            Feed(c);
        }
    }

    private void Inline(char c)
    {
        if (c == '\n')
        {
            FlushLink();
            ResolveRun(c);
            EndLine();
            return;
        }

        if (_link.Length > 0)
        {
            CollectLink(c);
            return;
        }

        if (_escape)
        {
            _escape = false;
            Emit(c);
            return;
        }

        if (_code)
        {
            if (c == '`')
            {
                _code = false;
                if (!ansi)
                {
                    Emit('`');
                }

                Restyle();
            }
            else
            {
                Emit(c);
            }

            return;
        }

        if (_runLength > 0)
        {
            if (c == _runChar)
            {
                _runLength++;
                return;
            }

            ResolveRun(c);
        }

        switch (c)
        {
            case '*' or '_':
                _runChar = c;
                _runLength = 1;
                break;
            case '`':
                _code = true;
                if (!ansi)
                {
                    Emit('`');
                }

                Restyle();
                break;
            case '[':
                _link.Append(c);
                break;
            case '\\':
                _escape = true;
                break;
            default:
                Emit(c);
                break;
        }
    }

    /// <summary>A run of * or _ becomes emphasis when it can open (text follows) or close (text precedes), else stays literal.</summary>
    private void ResolveRun(char next)
    {
        if (_runLength == 0)
        {
            return;
        }

        var run = _runLength;
        _runLength = 0;
        var wordBefore = char.IsLetterOrDigit(_previous);
        var wordAfter = char.IsLetterOrDigit(next);
        if (_runChar == '_' && wordBefore && wordAfter)
        {
            Emit(new string('_', run)); // snake_case_names stay as they are
            return;
        }

        var canOpen = !char.IsWhiteSpace(next);
        var canClose = !char.IsWhiteSpace(_previous);
        var toggled = false;
        if (run >= 2 && ((_bold && canClose) || (!_bold && canOpen)))
        {
            _bold = !_bold;
            toggled = true;
            run -= 2;
        }

        if (run >= 1 && ((_italic && canClose) || (!_italic && canOpen)))
        {
            _italic = !_italic;
            toggled = true;
            run--;
        }

        if (run > 0)
        {
            Emit(new string(_runChar, run));
        }

        if (toggled)
        {
            Restyle();
        }
    }

    /// <summary>[text](url) → text (url), text underlined; anything else that started with '[' is written as it came.</summary>
    private void CollectLink(char c)
    {
        _link.Append(c);
        var s = _link.ToString();
        var close = s.IndexOf("](", StringComparison.Ordinal);
        if (close < 0)
        {
            var bracket = s.IndexOf(']', StringComparison.Ordinal);
            if ((bracket >= 0 && bracket < s.Length - 1) || s.Length > MaxLinkLength)
            {
                FlushLink();
            }

            return;
        }

        if (c == ')')
        {
            var text = s[1..close];
            var url = s[(close + 2)..^1];
            _link.Clear();
            if (ansi)
            {
                Write(Styled(text, Ansi.Underline));
                Restyle();
            }
            else
            {
                Emit(text);
            }

            if (url != text && ansi)
            {
                Write(Styled($" ({url})", Ansi.Dim));
                Restyle();
            }
            else if (url != text)
            {
                Emit($" ({url})");
            }

            _previous = ')';
        }
        else if (s.Length > MaxLinkLength)
        {
            FlushLink();
        }
    }

    private void FlushLink()
    {
        if (_link.Length == 0)
        {
            return;
        }

        var s = _link.ToString();
        _link.Clear();
        Emit(s[0]);
        Replay(s[1..]);
    }

    private void EndLine()
    {
        _bold = _italic = _code = _escape = false;
        if (ansi)
        {
            Write(Ansi.Reset);
        }

        Write("\n");
        if (!ansi && _line == LineKind.Heading && _headingLevel <= 2 && _lineLength > 0)
        {
            Write(new string(_headingLevel == 1 ? '=' : '-', _lineLength) + "\n");
        }

        _line = LineKind.Paragraph;
        _atLineStart = true;
        _previous = ' ';
    }

    private void Emit(char c)
    {
        _out.Append(c);
        _lineLength++;
        _previous = c;
    }

    private void Emit(string s)
    {
        foreach (var c in s)
        {
            Emit(c);
        }
    }

    private void Write(string s) => _out.Append(s);

    /// <summary>Re-emits the active styles after any change: SGR has no "turn off bold only" that every terminal honours.</summary>
    private void Restyle()
    {
        if (!ansi)
        {
            return;
        }

        var codes = new List<string>();
        if (_line == LineKind.Heading)
        {
            codes.Add(Ansi.Bold);
            if (_headingLevel <= 2)
            {
                codes.Add(Ansi.Underline);
            }
        }

        if (_line == LineKind.Quote)
        {
            codes.Add(Ansi.Italic);
        }

        if (_bold)
        {
            codes.Add(Ansi.Bold);
        }

        if (_italic)
        {
            codes.Add(Ansi.Italic);
        }

        if (_code || _line == LineKind.Code)
        {
            codes.Add(Ansi.Cyan);
        }

        _out.Append(Ansi.Reset);
        if (codes.Count > 0)
        {
            _out.Append("\e[").AppendJoin(';', codes).Append('m');
        }
    }

    private static string Styled(string text, string code) => $"\e[{code}m{text}{Ansi.Reset}";

    private void Flush()
    {
        if (_out.Length > 0)
        {
            output.Write(_out.ToString());
            output.Flush();
            _out.Clear();
        }
    }
}
