using Centaur.Tests.Infrastructure;

namespace Centaur.Tests.Tools;

/// <summary>
/// An org overlay folder as a team would mount it: tests/Centaur.TestOverlay's assembly in tools/ (with a stray copy
/// of Centaur.Sdk beside it, which the API must ignore), personas, a skill, a prompt addition and one broken file.
/// </summary>
public static class TestOverlayFolder
{
    public const string OrgPrompt = "Org rule: every answer ends with the ticket number.";
    public const string ReviewerPrompt = "## Persona: reviewer (org)\nReview like the org does.";

    public static string Create()
    {
        var root = Path.Combine(Path.GetTempPath(), $"centaur-test-overlay-{Guid.NewGuid():N}");
        var tools = Directory.CreateDirectory(Path.Combine(root, "tools")).FullName;
        foreach (var file in new[] { "Centaur.TestOverlay.dll", "Centaur.Sdk.dll" })
        {
            File.Copy(RepositoryPaths.Output("tests/Centaur.TestOverlay", file), Path.Combine(tools, file));
        }

        var personas = Directory.CreateDirectory(Path.Combine(root, "personas")).FullName;
        File.WriteAllText(Path.Combine(personas, "reviewer.json"), """
            {
              "description": "The org's reviewer",
              "prompt_file": "reviewer.md",
              "allowed_tools": ["greeter.hello", "centaur.thread_status"]
            }
            """);
        File.WriteAllText(Path.Combine(personas, "reviewer.md"), ReviewerPrompt);
        File.WriteAllText(Path.Combine(personas, "pi-coder.json"), """{"description": "Codes with pi", "harness": "pi", "model": "small"}""");
        File.WriteAllText(Path.Combine(personas, "broken.json"), """{"description": "bad", "allowed_tools": ["not a rule"]}""");

        Directory.CreateDirectory(Path.Combine(root, "skills", "deploy"));
        File.WriteAllText(Path.Combine(root, "skills", "deploy", "SKILL.md"), "---\nname: deploy\n---\nHow we deploy.");
        Directory.CreateDirectory(Path.Combine(root, "prompts"));
        File.WriteAllText(Path.Combine(root, "prompts", "AGENTS.md"), OrgPrompt);
        return root;
    }

    /// <summary>The settings of an API process that loads the overlay and runs workflows briskly.</summary>
    public static Dictionary<string, string> Settings(string root) => new()
    {
        ["Overlay__Path"] = root,
        ["Workflows__LeaseSeconds"] = "3",
        ["Workflows__PollMilliseconds"] = "200",
        ["Workflows__MaxFailures"] = "2",
    };
}
