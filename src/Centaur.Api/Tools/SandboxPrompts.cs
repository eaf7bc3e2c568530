using Centaur.Api.Overlay;
using Centaur.Api.Sandboxes;

namespace Centaur.Api.Tools;

/// <summary>The overlay catalog's prompt layers for sandbox setup (the same text GET /tools/agents-md serves).</summary>
internal sealed class SandboxPrompts(ExtensionCatalog catalog) : ISandboxPrompts
{
    /// <summary>Skills are instructions and small scripts; a setup line is not the way to ship anything bigger.</summary>
    private const long MaxSkillBytes = 1024 * 1024;

    public IReadOnlyList<(string Name, string Text)> LayersFor(string? persona)
    {
        var snapshot = catalog.Current;
        var profile = snapshot.FindPersona(persona);
        if (persona is not null && profile is null)
        {
            throw new SandboxStartException($"there is no persona '{persona}' (GET /personas lists them)", code: "unknown_persona");
        }

        return PromptLayers.For(snapshot, profile);
    }

    public IReadOnlyList<SandboxSkill> Skills()
    {
        var skills = new List<SandboxSkill>();
        long total = 0;
        foreach (var skill in catalog.Current.Skills.Values.OrderBy(s => s.Name, StringComparer.Ordinal))
        {
            if (!Directory.Exists(skill.Directory))
            {
                continue;
            }

            var files = new List<(string, byte[])>();
            foreach (var file in Directory.EnumerateFiles(skill.Directory, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                var length = new FileInfo(file).Length;
                if (total + length > MaxSkillBytes)
                {
                    throw new SandboxStartException($"the overlay's skills exceed {MaxSkillBytes / 1024} KiB, too much to send to a sandbox pod", code: "skills_too_large");
                }

                total += length;
                files.Add((Path.GetRelativePath(skill.Directory, file).Replace(Path.DirectorySeparatorChar, '/'), File.ReadAllBytes(file)));
            }

            skills.Add(new SandboxSkill(skill.Name, files));
        }

        return skills;
    }
}
