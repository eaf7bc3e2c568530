namespace Centaur.Cli;

/// <summary>--format: rendered for people, or every event as the API sent it (one JSON object per line) for scripts.</summary>
internal enum OutputFormat
{
    Text,
    Jsonl,
}
