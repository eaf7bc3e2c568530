using Centaur.Sdk;

namespace Centaur.TestOverlay;

/// <summary>
/// Three steps with a gate between two and three: the test kills the API while the handler waits at the gate, then
/// opens it. Every pass through the handler is recorded too, so the test sees that it re-ran from the top.
/// </summary>
public sealed class ThreeStepsWorkflow : Workflow<ThreeStepsWorkflow.Input, ThreeStepsWorkflow.Output>
{
    public override string Name => "three_steps";

    public override string Description => "Three recorded steps, with an optional gate file between the second and third.";

    protected override async Task<Output> RunAsync(WorkflowContext context, Input input, CancellationToken cancellationToken)
    {
        await EffectLog.RecordAsync(context.Services, input.Tag, "handler", cancellationToken);
        var one = await context.StepAsync("one", ct => EffectLog.RecordAsync(context.Services, input.Tag, "one", ct));
        var two = await context.StepAsync("two", ct => EffectLog.RecordAsync(context.Services, input.Tag, "two", ct));
        while (input.Gate is { } gate && !File.Exists(gate))
        {
            await Task.Delay(50, cancellationToken);
        }

        var three = await context.StepAsync("three", ct => EffectLog.RecordAsync(context.Services, input.Tag, "three", ct));
        return new Output(one, two, three, context.Attempt);
    }

    public sealed record Input(string Tag, string? Gate = null);

    public sealed record Output(long One, long Two, long Three, int Attempt);
}
