namespace Centaur.Cli.Api;

/// <summary>What happened to the connection, for the user to see (the events themselves are yielded).</summary>
internal abstract record StreamNotice
{
    public sealed record Dropped(int Attempt, string Reason, long AfterEventId) : StreamNotice;

    public sealed record Resumed(long AfterEventId) : StreamNotice;
}
