using Centaur.Api.Overlay;

namespace Centaur.Api.Personas;

/// <summary>The kernel's personas; an org overlay's persona of the same name replaces one.</summary>
internal static class BuiltInPersonas
{
    public static readonly IReadOnlyList<Persona> All =
    [
        new("reviewer", "Reviews changes and answers questions without changing anything outside the sandbox.",
            """
            ## Persona: reviewer
            You review code and designs. Read the repository, run the tests, and explain what you find with file and line
            references. Do not push branches or post anywhere; your answer in the thread is the review.
            """,
            Harness: null, Model: null,
            AllowedTools: ["centaur.thread_status", "centaur.list_threads", "slack.get_thread_history", "web.fetch"],
            Sources.Kernel),
        new("researcher", "Looks things up on the web and in the thread's history, and summarises them.",
            """
            ## Persona: researcher
            You research questions: read the thread's history, fetch the pages you need, and answer with sources.
            """,
            Harness: null, Model: null,
            AllowedTools: ["web", "slack.get_thread_history", "centaur.thread_status"],
            Sources.Kernel),
    ];
}
