namespace Centaur.Api.Overlay;

/// <summary>
/// The org overlay (section "Overlay"): a folder beside the kernel with tools/*.dll, workflows/*.dll,
/// personas/*.json, skills/&lt;name&gt;/SKILL.md and prompts/AGENTS.md. Merged base → org; later wins on a name clash.
/// In Kubernetes the folder is a mounted volume. Empty = kernel only.
/// </summary>
internal sealed class OverlayOptions
{
    public const string Section = "Overlay";

    public string? Path { get; set; }
}
