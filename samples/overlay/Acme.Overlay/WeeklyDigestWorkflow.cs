using System.ComponentModel;
using Centaur.Sdk;

namespace Acme.Overlay;

/// <summary>
/// Every Monday at 09:00 UTC: the agent, as the on-call persona, summarises last week's incidents in a thread of
/// its own. Durable: if the API restarts while the turn runs, the handler runs again and waits for the same turn.
/// </summary>
public sealed class WeeklyDigestWorkflow : Workflow<WeeklyDigestWorkflow.Input, WeeklyDigestWorkflow.Output>
{
    public override string Name => "weekly_digest";

    public override string Description => "Summarises last week's incidents (Mondays 09:00 UTC).";

    public override WorkflowSchedule? Schedule => new("0 9 * * MON");

    protected override async Task<Output> RunAsync(WorkflowContext context, Input input, CancellationToken cancellationToken)
    {
        // A step's result is stored: a re-run gets the same week even if it runs after midnight.
        var week = await context.StepAsync("week", _ => Task.FromResult(DateTime.UtcNow.AddDays(-7).ToString("yyyy-MM-dd")));
        var turn = await context.StartAgentTurnAsync("digest", $"workflow:weekly-digest-{week}",
            $"Summarise the incidents since {week} on status page {input.PageId} (`call statuspage incidents`), with one line per incident.",
            persona: "oncall");
        return new Output(week, turn.State, turn.Result);
    }

    public sealed record Input([property: Description("The status page to summarise.")] string PageId = "acme");

    public sealed record Output(string Week, string State, string? Digest);
}
