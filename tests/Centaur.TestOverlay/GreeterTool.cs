using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using Centaur.Sdk;

namespace Centaur.TestOverlay;

/// <summary>An overlay tool that reports back what the gateway told it about its caller.</summary>
public sealed class GreeterTool : ITool
{
    public string Name => "greeter";

    public string Description => "Greets people (a test overlay tool).";

    public IReadOnlyList<ToolMethod> Methods { get; } =
    [
        ToolMethod.Create<HelloArgs, HelloResult>("hello", "Says hello to someone.", (context, args, _) => Task.FromResult(new HelloResult(
            $"hello {args.Name} from the overlay", context.ThreadKey, context.SandboxId, context.Author, context.Persona,
            context.ExecutionId, context.Secret("Greeter-Token")))),
    ];

    public sealed record HelloArgs([property: Description("Who to greet."), Required, StringLength(20, MinimumLength = 1)] string Name);

    public sealed record HelloResult(string Greeting, string ThreadKey, string SandboxId, string? Author, string? Persona, long? ExecutionId, string Token);
}
