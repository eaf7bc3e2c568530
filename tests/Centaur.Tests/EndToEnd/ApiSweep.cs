using static Centaur.Tests.EndToEnd.SweepCase;
using static Centaur.Tests.EndToEnd.SweepCredentials;

namespace Centaur.Tests.EndToEnd;

/// <summary>The bad requests every Centaur.Api route gets, by what the route expects.</summary>
internal static class ApiSweep
{
    /// <summary>More than Kestrel's 30 MB default; only the head announces it.</summary>
    private const long Oversize = 64L * 1024 * 1024;

    private const string Unauthorized = "unauthorized";

    /// <summary>Refused tool calls are audited on purpose: the sandbox's attempt is what an operator wants to see.</summary>
    private static readonly HashSet<string> s_toolAudit = ["public.tool_calls"];

    /// <summary>Route values that try to climb out of their segment, encoded so they reach the server verbatim.</summary>
    private static readonly string[] s_traversals = ["..%2F..%2F..%2Fetc%2Fpasswd", "%2e%2e%2f%2e%2e%2fadmin%2fkeys", "..%5C..%5Cappsettings.json"];

    /// <summary>Postgres refuses U+0000 in text: a field that reaches the database unchecked becomes a 500.</summary>
    private static readonly string s_nulBody = new System.Text.Json.Nodes.JsonObject
    {
        ["thread_key"] = "sweep:nul\u0000", ["text"] = "a\u0000b", ["author"] = "\u0000", ["client_message_id"] = "\u0000",
        ["idempotency_key"] = "\u0000", ["harness"] = "\u0000", ["persona"] = "\u0000", ["repo"] = "\u0000",
        ["client"] = "\u0000", ["lease_token"] = "\u0000", ["external_ref"] = "\u0000", ["name"] = "\u0000", ["scopes"] = new System.Text.Json.Nodes.JsonArray("\u0000"),
        ["mode"] = "\u0000", ["connect_to"] = "\u0000", ["host"] = "\u0000", ["secret"] = "\u0000", ["format"] = "\u0000",
        ["headers"] = new System.Text.Json.Nodes.JsonArray("\u0000"), ["destination"] = "\u0000", ["command"] = "\u0000",
        ["inputs"] = new System.Text.Json.Nodes.JsonObject { ["\u0000"] = "\u0000" }, ["trusted_ca_pem"] = "\u0000", ["granted_by"] = "\u0000",
    }.ToJsonString();

    /// <param name="revokedKey">A key that was valid and has been revoked.</param>
    public static IEnumerable<SweepCase> Cases(SweepCredentials c, string revokedKey) =>
        ApiRoute.All.SelectMany(route => For(route, c, revokedKey)).Concat(Service(c));

    private static IEnumerable<SweepCase> For(ApiRoute route, SweepCredentials c, string revokedKey)
    {
        var path = route.SamplePath;
        var name = route.ToString();
        var valid = ValidCredential(route, c);
        var json = route.Body == BodyKind.Json ? "{}" : null;
        var audit = route.Access == Access.Sandbox && route.Body == BodyKind.Json ? s_toolAudit : null;

        if (route.Method != "*")
        {
            yield return new(name, "unknown method", Http("PATCH", path, valid, json), 405, "method_not_allowed");
        }

        if (route.Access is Access.Agent or Access.Admin or Access.EgressGrant or Access.AnyCaller or Access.Sandbox)
        {
            yield return new(name, "no credentials", Http(route.Method, path, body: json), 401, Unauthorized);
            yield return new(name, "unknown API key", Http(route.Method, path, Bearer("ck_sweep_unknown_key_0123456789"), json), 401, Unauthorized);
            yield return new(name, "revoked API key", Http(route.Method, path, Bearer(revokedKey), json), 401, Unauthorized);
            yield return new(name, "unknown key cookie", Http(route.Method, path, body: json, headers: [("Cookie", "centaur_key=ck_sweep_unknown_key_0123456789")]), 401, Unauthorized);
            yield return new(name, "not a bearer", Http(route.Method, path, "Basic " + Convert.ToBase64String("user:pass"u8), json), 401, Unauthorized);
            yield return new(name, "forged sandbox token", Http(route.Method, path, Bearer(c.ForgedSandboxToken), json), 401, Unauthorized);
            yield return new(name, "foreign sandbox token", Http(route.Method, path, Bearer(c.ForeignSandboxToken), json), 401, Unauthorized);
            yield return new(name, "expired sandbox token", Http(route.Method, path, Bearer(c.ExpiredSandboxToken), json), 401, Unauthorized);
            yield return new(name, "oversize body, no credentials", Http(route.Method, path, body: "{", declaredLength: Oversize), 401, Unauthorized);
        }

        if (route.Access is Access.Agent or Access.Admin or Access.EgressGrant)
        {
            yield return new(name, "sandbox token (wrong scope)", Http(route.Method, path, Bearer(c.SandboxToken), json), 401, Unauthorized);
        }

        if (route.Access == Access.Admin)
        {
            yield return new(name, "agent key (wrong scope)", Http(route.Method, path, Bearer(c.AgentKey), json), 403, "forbidden");
        }

        if (route.Access == Access.Sandbox)
        {
            yield return new(name, "admin API key (wrong scope)", Http(route.Method, path, Bearer(c.AdminKey), json), 401, Unauthorized);
        }

        if (route.Body == BodyKind.Json)
        {
            var malformed = route.Access == Access.Sandbox ? "invalid_json" : "invalid_request";
            yield return new(name, "malformed JSON", Http(route.Method, path, valid, """{"thread_key": """), 400, malformed, audit);
            yield return new(name, "JSON of the wrong shape", Http(route.Method, path, valid, "[1,2,3]"), 400, malformed, audit);
            yield return new(name, "not UTF-8", Http(route.Method, path, valid, [0xFF, 0xFE, (byte)'{']), 400, malformed, audit);
            yield return new(name, "NUL characters in every field", Http(route.Method, path, valid, s_nulBody), 0, null, audit);
            yield return new(name, "oversize body", Http(route.Method, path, valid, "{", declaredLength: Oversize), 413, "body_too_large");
            if (route.Access != Access.Sandbox)
            {
                yield return new(name, "not JSON content", Http(route.Method, path, valid, "thread_key=x", "application/x-www-form-urlencoded"), 415, null);
            }
        }

        foreach (var query in route.BadQueries)
        {
            yield return new(name, $"query {query}", Http(route.Method, path + query, valid), 400, query.Contains("%00", StringComparison.Ordinal) ? "invalid_text" : "invalid_request");
        }

        foreach (var traversal in s_traversals)
        {
            if (route.PathWith(traversal) is { } climbing)
            {
                // A HEAD answer has no body to carry a code.
                yield return new(name, $"path traversal {traversal}", Http(route.Method, climbing, valid, json), 0, route.Method == "HEAD" ? "" : null, audit);
            }
        }

        if (route.Access == Access.ConsolePage)
        {
            yield return new(name, "no key cookie", Http(route.Method, path), 302, "");
            yield return new(name, "unknown key cookie", Http(route.Method, path, headers: [("Cookie", "centaur_key=ck_sweep_unknown_key_0123456789")]), 302, "");
            yield return new(name, "revoked key cookie", Http(route.Method, path, headers: [("Cookie", $"centaur_key={revokedKey}")]), 302, "");
            if (route.Method == "POST")
            {
                yield return new(name, "signed in, no antiforgery token", Http(route.Method, path, body: "_handler=x", contentType: "application/x-www-form-urlencoded",
                    headers: [("Cookie", $"centaur_key={c.AgentKey}")]), 400, "invalid_antiforgery_token");
            }
        }

        if (route.Access == Access.ConsoleForm)
        {
            yield return new(name, "no antiforgery token", Http(route.Method, path, body: $"key={c.AdminKey}&_handler=login", contentType: "application/x-www-form-urlencoded"), 400, "invalid_antiforgery_token");
            yield return new(name, "no form at all", Http(route.Method, path), 400, "invalid_antiforgery_token");
            // The antiforgery check reads the form first; a form too large to read has no valid token either.
            yield return new(name, "oversize form", Http(route.Method, path, body: "key=", contentType: "application/x-www-form-urlencoded", declaredLength: Oversize), 400, "invalid_antiforgery_token");
        }
    }

    /// <summary>Requests aimed at no route at all: dot segments, encoded separators, files next to the app.</summary>
    private static IEnumerable<SweepCase> Service(SweepCredentials c)
    {
        const string Name = "(any path)";
        var admin = Bearer(c.AdminKey);
        yield return new(Name, "dot segments to /etc/passwd", Http("GET", "/../../../../etc/passwd"), 404, "not_found");
        yield return new(Name, "encoded dots to /etc/passwd", Http("GET", "/%2e%2e/%2e%2e/%2e%2e/etc/passwd"), 404, "not_found");
        yield return new(Name, "appsettings next to the app", Http("GET", "/appsettings.json"), 404, "not_found");
        yield return new(Name, "static assets climbing out", Http("GET", "/console/..%2F..%2Fappsettings.json"), 404, "not_found");
        yield return new(Name, "static assets, encoded dots", Http("GET", "/console/%2e%2e/%2e%2e/appsettings.Development.json"), 404, "not_found");
        yield return new(Name, "agent route climbing into admin", Http("POST", "/agent/threads/../../admin/keys", Bearer(c.AgentKey), """{"name":"sweep"}"""), 403, "forbidden");
        yield return new(Name, "admin key through a thread path", Http("DELETE", "/agent/threads/..%2F..%2Fadmin%2Fkeys%2Fadmin", admin), 0, null);
        // Kestrel refuses a head over its 32 KB limit before the app runs: no body, no code.
        yield return new(Name, "huge Authorization header", Http("GET", "/agent/threads", Bearer(new string('k', 64 * 1024))), 431, "");
        // Kestrel refuses NUL in a path before routing (so no route value ever holds one): no body, no code.
        yield return new(Name, "NUL in the path", Http("GET", "/agent/threads/sweep%3A%00", Bearer(c.AgentKey)), 400, "");
        // Kestrel refuses a Host that differs from the absolute-form authority before the app runs: no body, no code.
        yield return new(Name, "absolute-form target, other host", Http("GET", "http://evil.test/agent/threads", Bearer(c.AgentKey)), 400, "");
    }

    private static string? ValidCredential(ApiRoute route, SweepCredentials c) => route.Access switch
    {
        Access.Agent or Access.AnyCaller => Bearer(c.AgentKey),
        Access.Admin or Access.EgressGrant => Bearer(c.AdminKey),
        Access.Sandbox => Bearer(c.SandboxToken),
        _ => null,
    };
}
