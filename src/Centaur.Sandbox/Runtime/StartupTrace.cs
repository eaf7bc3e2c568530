namespace Centaur.Sandbox.Runtime;

/// <summary>
/// Start-up phases on stderr as <c>trace &lt;phase&gt; &lt;unix ms&gt;</c>, only when CENTAUR_SANDBOX_TRACE=1 (bench/sandbox.sh
/// with BENCH_TRACE=1 lines them up with the host's clock: the wall clock is the same inside the sandbox).
/// </summary>
internal static class StartupTrace
{
    public static readonly bool Enabled = Environment.GetEnvironmentVariable("CENTAUR_SANDBOX_TRACE") == "1";

    public static void Mark(string phase)
    {
        if (Enabled)
        {
            Console.Error.WriteLine($"trace {phase} {(DateTime.UtcNow - DateTime.UnixEpoch).TotalMilliseconds:F2}");
        }
    }
}
