using System.Text;
using Centaur.Api.Auth;
using Centaur.Api.Errors;
using Centaur.Api.Executions;
using Centaur.Api.Personas;
using Centaur.Api.Sandboxes;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Centaur.Api.Threads;

internal static class ThreadsEndpoints
{
    public static RouteGroupBuilder MapThreads(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/agent").WithTags("Threads").RequireAuthorization(AuthExtensions.AgentPolicy)
            .AddEndpointFilter<TextInputFilter>();
        group.MapPost("/spawn", SpawnAsync);
        group.MapPost("/message", MessageAsync);
        group.MapGet("/threads", ListAsync);
        group.MapGet("/threads/{threadKey}", GetAsync);
        return group;
    }

    private static async Task<Results<Ok<SessionResponse>, ProblemHttpResult>> SpawnAsync(
        SpawnRequest request, ThreadStore threads, SandboxManager sandboxes, IOptions<SandboxOptions> options, PersonaSwitch personas,
        CancellationToken cancellationToken)
    {
        if (ThreadKey.Validate(request.ThreadKey) is { } keyError)
        {
            return Problems.BadRequest("invalid_thread_key", keyError, "thread_key");
        }

        if (request.Harness is { } harness && !SandboxOptions.Harnesses.Contains(harness))
        {
            return Problems.BadRequest("invalid_harness", $"harness must be one of {string.Join(", ", SandboxOptions.Harnesses)}", "harness");
        }

        if (request.Persona is { } persona && !IsName(persona))
        {
            return Problems.BadRequest("invalid_persona", "persona must be 1-64 characters of a-z, 0-9, '-' and '_'", "persona");
        }

        if (request.Repo is { Length: > 2048 })
        {
            return Problems.BadRequest("invalid_repo", "repo must be at most 2048 characters", "repo");
        }

        if (personas.CheckSpawn(request, out var pinnedHarness) is { } unknownPersona)
        {
            return unknownPersona;
        }

        var session = await threads.SpawnAsync(request.ThreadKey!, pinnedHarness, request.Persona, request.Repo,
            options.Value.DefaultHarness, sandboxes.BackendName, cancellationToken);
        return TypedResults.Ok(session);
    }

    private static async Task<Results<Ok<MessageResponse>, ProblemHttpResult>> MessageAsync(
        MessageRequest request, ThreadStore threads, IOptions<CentaurOptions> options, PersonaSwitch personas, CancellationToken cancellationToken)
    {
        if (ThreadKey.Validate(request.ThreadKey) is { } keyError)
        {
            return Problems.BadRequest("invalid_thread_key", keyError, "thread_key");
        }

        if (string.IsNullOrWhiteSpace(request.Text))
        {
            return Problems.BadRequest("missing_field", "text is required", "text");
        }

        if (Encoding.UTF8.GetByteCount(request.Text) > options.Value.MaxTextBytes)
        {
            return Problems.BadRequest("text_too_large", $"text is larger than {options.Value.MaxTextBytes} bytes", "text");
        }

        if (string.IsNullOrWhiteSpace(request.Author) || request.Author.Length > 256)
        {
            return Problems.BadRequest("missing_field", "author is required (at most 256 characters)", "author");
        }

        if (string.IsNullOrWhiteSpace(request.ClientMessageId) || request.ClientMessageId.Length > 256)
        {
            return Problems.BadRequest("missing_field", "client_message_id is required (at most 256 characters)", "client_message_id");
        }

        if (request.Attachments is { Count: > 20 })
        {
            return Problems.BadRequest("too_many_attachments", "at most 20 attachments per message", "attachments");
        }

        if (!await threads.ExistsAsync(request.ThreadKey!, cancellationToken))
        {
            return Problems.NotFound("unknown_thread", $"thread {request.ThreadKey} does not exist; POST /agent/spawn first");
        }

        var (message, unknownPersona) = await personas.ApplyAsync(request, cancellationToken);
        return unknownPersona ?? (Results<Ok<MessageResponse>, ProblemHttpResult>)TypedResults.Ok(await threads.AppendMessageAsync(message, cancellationToken));
    }

    private static async Task<Ok<IReadOnlyList<ThreadSummary>>> ListAsync(
        ThreadStore threads, CancellationToken cancellationToken, int? limit = null, string? source = null) =>
        TypedResults.Ok(await threads.ListAsync(Math.Clamp(limit ?? 100, 1, 1000), source, cancellationToken));

    private static async Task<Results<Ok<ThreadDetail>, ProblemHttpResult>> GetAsync(
        string threadKey, ThreadStore threads, ExecutionStore executions, CancellationToken cancellationToken)
    {
        threadKey = ThreadKey.FromRoute(threadKey);
        var session = await threads.GetSessionAsync(threadKey, cancellationToken);
        if (session is null)
        {
            return Problems.NotFound("unknown_thread", $"thread {threadKey} does not exist");
        }

        return TypedResults.Ok(new ThreadDetail(session,
            await threads.TranscriptAsync(threadKey, cancellationToken),
            await executions.ListForThreadAsync(threadKey, 100, cancellationToken)));
    }

    internal static bool IsName(string value) =>
        value.Length is > 0 and <= 64 && value.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '_');
}
