namespace Centaur.Cli.Rendering;

/// <summary>SGR codes (ECMA-48). Used only when the output is a terminal and NO_COLOR is unset.</summary>
internal static class Ansi
{
    public const string Reset = "\e[0m";
    public const string Bold = "1";
    public const string Dim = "2";
    public const string Italic = "3";
    public const string Underline = "4";
    public const string Red = "31";
    public const string Green = "32";
    public const string Yellow = "33";
    public const string Blue = "34";
    public const string Magenta = "35";
    public const string Cyan = "36";
    public const string ClearLine = "\r\e[K";
}
