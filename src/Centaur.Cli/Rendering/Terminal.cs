namespace Centaur.Cli.Rendering;

internal enum ColorMode
{
    Auto,
    Always,
    Never,
}

/// <summary>
/// Where the CLI writes: the conversation (answers, tool activity, outcomes) on stdout; prompts, progress, notices
/// and errors on stderr, so <c>centaur chat &gt; answer.md</c> keeps only the conversation.
/// </summary>
internal sealed class Terminal(TextWriter output, TextWriter error, bool ansi, bool ansiError, bool errorIsTerminal, bool inputIsTerminal)
{
    public TextWriter Out => output;

    public TextWriter Error => error;

    /// <summary>ANSI styles on stdout.</summary>
    public bool Ansi => ansi;

    /// <summary>A person watches stderr: a redrawn progress line makes sense there.</summary>
    public bool ErrorIsTerminal => errorIsTerminal;

    /// <summary>A person types on stdin: show prompts.</summary>
    public bool InputIsTerminal => inputIsTerminal;

    public int Width
    {
        get
        {
            try
            {
                return Console.IsOutputRedirected ? 120 : Math.Max(40, Console.WindowWidth);
            }
            catch (IOException)
            {
                return 120;
            }
        }
    }

    public static Terminal FromConsole(ColorMode mode)
    {
        var noColor = !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR"))
            || Environment.GetEnvironmentVariable("TERM") == "dumb";
        bool Decide(bool redirected) => mode switch
        {
            ColorMode.Always => true,
            ColorMode.Never => false,
            _ => !redirected && !noColor,
        };
        return new Terminal(Console.Out, Console.Error, Decide(Console.IsOutputRedirected), Decide(Console.IsErrorRedirected),
            !Console.IsErrorRedirected, !Console.IsInputRedirected);
    }

    /// <summary>Text for stdout, styled when stdout takes ANSI.</summary>
    public string Style(string text, params string[] codes) => Apply(ansi, text, codes);

    /// <summary>Text for stderr, styled when stderr takes ANSI.</summary>
    public string StyleError(string text, params string[] codes) => Apply(ansiError, text, codes);

    public void Notice(string text, params string[] codes) => error.WriteLine(StyleError(text, codes));

    private static string Apply(bool on, string text, string[] codes) =>
        on && codes.Length > 0 ? $"\e[{string.Join(';', codes)}m{text}{Rendering.Ansi.Reset}" : text;
}
