using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using Centaur.Sdk;

namespace Centaur.Api.Workflows.BuiltIn;

/// <summary>One agent turn, durably: e.g. a slash command <c>/centaur run agent_turn summarise yesterday's incidents</c>.</summary>
internal sealed class AgentTurnWorkflow : Workflow<AgentTurnWorkflow.Input, AgentTurnResult>
{
    public override string Name => "agent_turn";

    public override string Description => "Runs one agent turn in a thread (a new workflow thread by default) and returns its answer.";

    protected override Task<AgentTurnResult> RunAsync(WorkflowContext context, Input input, CancellationToken cancellationToken) =>
        context.StartAgentTurnAsync("turn", input.ThreadKey ?? $"workflow:{context.Workflow}-{context.RunId}", input.Text, input.Persona);

    internal sealed record Input(
        [property: Description("What to ask the agent."), Required, StringLength(100_000, MinimumLength = 1)] string Text,
        [property: Description("The thread to run in; default workflow:agent_turn-<run id>.")] string? ThreadKey = null,
        [property: Description("The persona to run as.")] string? Persona = null,
        [property: Description("Set by the Slack slash command trigger.")] SlackOrigin? Slack = null);

    internal sealed record SlackOrigin(string? UserId = null, string? ChannelId = null, string? TeamId = null);
}
