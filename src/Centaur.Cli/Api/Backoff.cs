namespace Centaur.Cli.Api;

internal static class Backoff
{
    /// <summary>250 ms doubling to a 5 s cap, with up to 25 % jitter so many clients do not reconnect in step.</summary>
    public static TimeSpan Delay(int attempt)
    {
        var ms = Math.Min(5000, 250 * Math.Pow(2, Math.Min(attempt, 5)));
        return TimeSpan.FromMilliseconds(ms * (1 + (Random.Shared.NextDouble() * 0.25)));
    }
}
