namespace Centaur.Api.Sandboxes;

/// <summary>
/// What the API adds to a sandbox's AGENTS.md after the base prompt: the org overlay's prompt, the persona's prompt
/// and the generated "Tools" section, in that order. Backends put these into the setup line's prompt layers.
/// </summary>
internal interface ISandboxPrompts
{
    /// <summary>The layers for a thread running as <paramref name="persona"/>; an unknown persona is a SandboxStartException.</summary>
    IReadOnlyList<(string Name, string Text)> LayersFor(string? persona);
}
