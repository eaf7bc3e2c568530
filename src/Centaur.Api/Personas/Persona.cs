using System.Security.Cryptography;
using System.Text;

namespace Centaur.Api.Personas;

/// <summary>
/// A named profile a thread runs as: a prompt addition (appended to AGENTS.md), a default harness and model, and
/// the tools it may call. <see cref="AllowedTools"/> null = every tool; entries are "tool", "tool.*" or "tool.method".
/// </summary>
internal sealed record Persona(
    string Name,
    string Description,
    string Prompt,
    string? Harness,
    string? Model,
    IReadOnlyList<string>? AllowedTools,
    string Source)
{
    public string PromptSha256 => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Prompt)));

    public bool Allows(string tool, string method) =>
        AllowedTools is null || AllowedTools.Any(rule => rule == tool || rule == $"{tool}.*" || rule == $"{tool}.{method}");

    /// <summary>True when some method of the tool may be called (for listings).</summary>
    public bool AllowsAny(string tool) =>
        AllowedTools is null || AllowedTools.Any(rule => rule == tool || rule.StartsWith(tool + ".", StringComparison.Ordinal));
}
