namespace Centaur.Tests.EndToEnd;

/// <summary>Who may call a route, which decides the credentials the sweep tries on it.</summary>
internal enum Access
{
    /// <summary>Health, sign-in page, static files: open to anyone.</summary>
    Anonymous,

    /// <summary>A console page: a browser without the key cookie is redirected to the sign-in page.</summary>
    ConsolePage,

    /// <summary>A console form post: the antiforgery token is the credential.</summary>
    ConsoleForm,

    Agent,
    Admin,

    /// <summary>
    /// Admin, or the egress_grant scope. The sweep's agent key is the AppHost's Slack key, which holds egress_grant, so
    /// the wrong-scope case is IronProxy/ThreadAllowanceTests' (an agent-only key gets 403 there).
    /// </summary>
    EgressGrant,

    /// <summary>An API key or a sandbox token.</summary>
    AnyCaller,

    /// <summary>A sandbox token only.</summary>
    Sandbox,
}

internal enum BodyKind
{
    None,
    Json,
}

/// <summary>One endpoint of Centaur.Api as the app maps it (method and route pattern), and what it expects.</summary>
internal sealed record ApiRoute(string Method, string Pattern, Access Access, BodyKind Body = BodyKind.None, params string[] BadQueries)
{
    /// <summary>
    /// Every public endpoint of Centaur.Api. A test compares this list with the app's EndpointDataSource, so an
    /// endpoint added without a row here fails it.
    /// </summary>
    public static readonly IReadOnlyList<ApiRoute> All =
    [
        // Health checks answer any method (they only read).
        new("*", "/health", Access.Anonymous),
        new("*", "/alive", Access.Anonymous),

        new("POST", "/agent/spawn", Access.Agent, BodyKind.Json),
        new("POST", "/agent/message", Access.Agent, BodyKind.Json),
        new("GET", "/agent/threads", Access.Agent, BodyKind.None, "?limit=ten", "?source=%00"),
        new("GET", "/agent/threads/{threadKey}", Access.Agent),
        new("GET", "/agent/threads/{threadKey}/events", Access.Agent, BodyKind.None, "?after_event_id=first", "?execution_id=1e3"),
        new("POST", "/agent/execute", Access.Agent, BodyKind.Json),
        new("GET", "/agent/executions/{executionId:long}", Access.Agent),
        new("POST", "/agent/executions/{executionId:long}/cancel", Access.Agent),
        new("POST", "/agent/executions/{executionId:long}/resume", Access.Agent),
        new("POST", "/agent/deliveries/claim", Access.Agent, BodyKind.Json),
        new("POST", "/agent/deliveries/{deliveryId:long}/ack", Access.Agent, BodyKind.Json),

        new("GET", "/tools/", Access.AnyCaller),
        new("GET", "/tools/agents-md", Access.Sandbox),
        new("POST", "/tools/{tool}/{method}", Access.Sandbox, BodyKind.Json),

        new("GET", "/overlay/", Access.Agent),
        new("POST", "/overlay/reload", Access.Admin),
        new("GET", "/personas/", Access.Agent),
        new("GET", "/workflows/", Access.Agent),
        new("POST", "/workflows/{workflow}/runs", Access.Agent, BodyKind.Json),
        new("GET", "/workflows/runs", Access.Agent, BodyKind.None, "?limit=%2B%2B", "?workflow=%00"),
        new("GET", "/workflows/runs/{runId:long}", Access.Agent),
        new("POST", "/workflows/runs/{runId:long}/cancel", Access.Agent),
        new("POST", "/workflows/slash-command", Access.Agent, BodyKind.Json),

        new("POST", "/admin/keys", Access.Admin, BodyKind.Json),
        new("DELETE", "/admin/keys/{name}", Access.Admin),
        new("POST", "/admin/reconcile", Access.Admin),

        new("GET", "/audit/egress", Access.Admin, BodyKind.None, "?after_id=x", "?limit=99999999999999999999", "?thread_key=%00"),
        new("GET", "/egress/policy", Access.Admin),
        new("PUT", "/egress/settings", Access.Admin, BodyKind.Json),
        new("PUT", "/egress/hosts/{host}", Access.Admin, BodyKind.Json),
        new("DELETE", "/egress/hosts/{host}", Access.Admin),
        new("PUT", "/egress/bindings/{name}", Access.Admin, BodyKind.Json),
        new("DELETE", "/egress/bindings/{name}", Access.Admin),
        new("PUT", "/egress/routes/{prefix}", Access.Admin, BodyKind.Json),
        new("DELETE", "/egress/routes/{prefix}", Access.Admin),
        new("GET", "/egress/threads/{threadKey}/hosts/", Access.EgressGrant),
        new("PUT", "/egress/threads/{threadKey}/hosts/{host}", Access.EgressGrant, BodyKind.Json),
        new("DELETE", "/egress/threads/{threadKey}/hosts/{host}", Access.EgressGrant),

        new("GET", "/console/login", Access.Anonymous),
        new("POST", "/console/login", Access.ConsoleForm),
        new("GET", "/console", Access.ConsolePage),
        new("POST", "/console", Access.ConsolePage),
        new("GET", "/console/thread", Access.ConsolePage),
        new("POST", "/console/thread", Access.ConsolePage),
        new("POST", "/console/logout", Access.ConsoleForm),
        new("GET", "/_framework/opaque-redirect", Access.Anonymous),

        // Development only (the AppHost runs the API as Development): wwwroot files outside the static assets manifest.
        new("GET", "/{**path:file}", Access.Anonymous),
        new("HEAD", "/{**path:file}", Access.Anonymous),
    ];

    public override string ToString() => $"{Method} {Pattern}";

    /// <summary>The route with harmless values that name nothing that exists.</summary>
    public string SamplePath => Fill(static p => p switch
    {
        "threadKey" => "sweep%3Ano-such-thread",
        "tool" => "centaur",
        "method" => "thread_status",
        "host" => "no-such-host.sweep.test",
        _ when p.EndsWith(":long", StringComparison.Ordinal) => "987654321",
        _ when p.EndsWith(":file", StringComparison.Ordinal) => "no-such-file.txt",
        _ => "sweep-no-such-name",
    });

    /// <summary>
    /// The route with every parameter replaced by <paramref name="value"/>, or null when it has none. Values are sent
    /// verbatim (encoded slashes and dots survive to the server).
    /// </summary>
    public string? PathWith(string value) => Pattern.Contains('{', StringComparison.Ordinal) ? Fill(_ => value) : null;

    private string Fill(Func<string, string> valueFor)
    {
        var path = Pattern;
        while (path.IndexOf('{', StringComparison.Ordinal) is var start and >= 0)
        {
            var end = path.IndexOf('}', start);
            path = path[..start] + valueFor(path[(start + 1)..end]) + path[(end + 1)..];
        }

        return path;
    }
}
