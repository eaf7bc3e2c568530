namespace Centaur.Sandbox.Harnesses;

internal static class HarnessFactory
{
    public static IHarness Create(HarnessContext context) => context.Setup.Harness switch
    {
        HarnessNames.Claude => new ClaudeCodeHarness(context),
        HarnessNames.Codex => new CodexHarness(context),
        HarnessNames.Pi => new PiHarness(context),
        HarnessNames.Amp => new AmpHarness(context),
        var other => throw new ArgumentOutOfRangeException(nameof(context), other, "unknown harness"),
    };
}
