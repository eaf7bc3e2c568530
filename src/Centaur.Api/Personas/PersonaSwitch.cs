using System.Text.RegularExpressions;
using Centaur.Api.Errors;
using Centaur.Api.Overlay;
using Centaur.Api.Sandboxes;
using Centaur.Api.Threads;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Centaur.Api.Personas;

/// <summary>
/// Choosing a thread's persona: by the spawn call's persona field, or by <c>/persona &lt;name&gt;</c> at the start of
/// a message (as in <c>@centaur /persona reviewer look at PR 12</c>), which re-pins the thread through the same
/// ThreadStore.SpawnAsync (assignment_generation + 1, so the next turn gets a sandbox set up for the persona).
/// A persona's default harness applies unless the caller names one.
/// </summary>
internal sealed partial class PersonaSwitch(ExtensionCatalog catalog, ThreadStore threads, SandboxManager sandboxes, IOptions<SandboxOptions> options)
{
    /// <summary>Null when the spawn may go ahead with <paramref name="harness"/>; a 422 for a persona that does not exist.</summary>
    public ProblemHttpResult? CheckSpawn(SpawnRequest request, out string? harness)
    {
        harness = request.Harness;
        if (request.Persona is null)
        {
            return null;
        }

        if (catalog.Current.FindPersona(request.Persona) is not { } persona)
        {
            return UnknownPersona(request.Persona, "persona");
        }

        harness ??= persona.Harness;
        return null;
    }

    /// <summary>
    /// Applies a leading <c>/persona &lt;name&gt;</c>: re-pins the thread and returns the message without the directive.
    /// Messages without one come back unchanged.
    /// </summary>
    public async Task<(MessageRequest Request, ProblemHttpResult? Problem)> ApplyAsync(MessageRequest request, CancellationToken cancellationToken)
    {
        var match = Directive().Match(request.Text!);
        if (!match.Success)
        {
            return (request, null);
        }

        var name = match.Groups["name"].Value;
        if (catalog.Current.FindPersona(name) is not { } persona)
        {
            return (request, UnknownPersona(name, "text"));
        }

        await threads.SpawnAsync(request.ThreadKey!, persona.Harness, persona.Name, null, options.Value.DefaultHarness, sandboxes.BackendName, cancellationToken);
        var rest = request.Text![match.Length..].Trim();
        return (request with { Text = rest.Length > 0 ? rest : $"(This thread now runs as the {persona.Name} persona.)" }, null);
    }

    private ProblemHttpResult UnknownPersona(string name, string field) =>
        Problems.Create(StatusCodes.Status422UnprocessableEntity, "unknown_persona",
            $"there is no persona '{name}'; known: {string.Join(", ", catalog.Current.Personas.Keys.Order(StringComparer.Ordinal))}", field);

    [GeneratedRegex(@"^\s*/persona\s+(?<name>[a-z0-9_-]{1,64})(?=\s|$)")]
    private static partial Regex Directive();
}
