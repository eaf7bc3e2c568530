namespace Centaur.Sdk;

/// <summary>
/// What a tool method knows about its caller: the thread and sandbox the sandbox token speaks for, the turn in
/// flight, who asked, and the persona the thread runs as.
/// </summary>
public sealed class ToolContext(Lazy<HttpClient> upstream)
{
    public required string ThreadKey { get; init; }

    public required string SandboxId { get; init; }

    /// <summary>The execution whose turn made this call (null outside a turn).</summary>
    public long? ExecutionId { get; init; }

    public string? TurnId { get; init; }

    /// <summary>The author of the latest message of the turn in flight (e.g. the Slack user who asked).</summary>
    public string? Author { get; init; }

    public string? Persona { get; init; }

    /// <summary>The API's services (scoped to this call), e.g. for a data source or options.</summary>
    public required IServiceProvider Services { get; init; }

    /// <summary>
    /// An HttpClient whose requests leave through IronProxy as this thread's sandbox, so every upstream call of a tool
    /// is audited with the sandbox's own egress and placeholders are swapped for secrets on the wire.
    /// </summary>
    public HttpClient Upstream => upstream.Value;

    /// <summary>
    /// The placeholder for secret <paramref name="name"/>: put it where the credential goes (a header); the proxy
    /// replaces it with the real value, only toward the host the secret is bound to. Tools never see secrets.
    /// </summary>
    public string Secret(string name) => Secrets.Placeholder(name);
}
