namespace Centaur.Api.Sandboxes;

/// <summary>
/// What the API adds to a sandbox's AGENTS.md after the base prompt: the org overlay's prompt, the persona's prompt
/// and the generated "Tools" section, in that order. Backends put these into the setup line's prompt layers.
/// </summary>
internal interface ISandboxPrompts
{
    /// <summary>The layers for a thread running as <paramref name="persona"/>; an unknown persona is a SandboxStartException.</summary>
    IReadOnlyList<(string Name, string Text)> LayersFor(string? persona);

    /// <summary>
    /// The overlay's skill folders with their files, for a sandbox that cannot see the overlay folder (a pod): they
    /// travel in the setup line. The local backend mounts the folder instead.
    /// </summary>
    IReadOnlyList<SandboxSkill> Skills() => [];
}

/// <summary>One skill folder (SKILL.md and what it refers to); file paths are relative to the folder, '/'-separated.</summary>
internal sealed record SandboxSkill(string Name, IReadOnlyList<(string Path, byte[] Content)> Files);
