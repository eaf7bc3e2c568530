using static Centaur.Tests.EndToEnd.SweepCase;
using static Centaur.Tests.EndToEnd.SweepCredentials;

namespace Centaur.Tests.EndToEnd;

/// <summary>
/// The bad requests every way into Centaur.IronProxy gets: its own endpoints, the forward proxy (absolute-form http://
/// and CONNECT) and a reverse route, whose credential is the sandbox token (Proxy-Authorization, a header, or a path
/// segment).
/// </summary>
internal static class ProxySweep
{
    /// <summary>The reverse route the sweep configures (and removes): its destination is never reached.</summary>
    public const string Route = "sweep-route";

    private const long Oversize = 64L * 1024 * 1024;

    /// <summary>Refusals are audited on purpose (asynchronously); the audit table may grow, nothing else.</summary>
    public static readonly HashSet<string> Audit = ["public.egress_audit"];

    public static IEnumerable<SweepCase> Cases(SweepCredentials c)
    {
        var bad = new (string Name, string? Value)[]
        {
            ("no credentials", null),
            ("forged token", Basic(c.ForgedSandboxToken)),
            ("foreign token", Basic(c.ForeignSandboxToken)),
            ("expired token", Basic(c.ExpiredSandboxToken)),
            ("admin API key", Bearer(c.AdminKey)),
            ("not base64", "Basic !!!not-base64!!!"),
            ("empty basic", "Basic "),
            ("unknown scheme", "Digest username=\"sandbox\""),
        };

        foreach (var (what, value) in bad)
        {
            (string, string)[] auth = value is null ? [] : [("Proxy-Authorization", value)];
            yield return Case("GET http://… (forward)", what, Http("GET", "http://plain.sweep.test/x", headers: [("Host", "plain.sweep.test"), .. auth]), 407, "proxy_authentication_required");
            yield return Case("CONNECT (forward)", what, Http("CONNECT", "api.sweep.test:443", headers: [("Host", "api.sweep.test:443"), .. auth]), 407, "proxy_authentication_required");
            yield return Case($"/{Route}/… (reverse)", $"{what} in Proxy-Authorization", Http("POST", $"/{Route}/v1/messages", body: "{}", headers: auth), 407, "proxy_authentication_required");
        }

        foreach (var (what, token) in new[] { ("forged", c.ForgedSandboxToken), ("foreign", c.ForeignSandboxToken), ("expired", c.ExpiredSandboxToken), ("garbage", "sbx1.x.y"), ("admin API key", c.AdminKey) })
        {
            yield return Case($"/{Route}/… (reverse)", $"{what} token header", Http("POST", $"/{Route}/v1/messages", body: "{}", headers: [("X-Centaur-Sandbox-Token", token)]), 407, "proxy_authentication_required");
            yield return Case($"/_t/…/{Route}/… (reverse)", $"{what} token in path", Http("POST", $"/_t/{Uri.EscapeDataString(token)}/{Route}/v1/messages", body: "{}"), 407, "proxy_authentication_required");
        }

        yield return Case("GET http://… (forward)", "oversize, no credentials", Http("POST", "http://plain.sweep.test/x", body: "{", declaredLength: Oversize, headers: [("Host", "plain.sweep.test")]), 407, "proxy_authentication_required");
        yield return Case($"/{Route}/… (reverse)", "oversize, no credentials", Http("POST", $"/{Route}/v1/messages", body: "{", declaredLength: Oversize), 407, "proxy_authentication_required");
        yield return Case("GET https://… (forward)", "https in absolute form", Http("GET", "https://api.sweep.test/x", headers: [("Host", "api.sweep.test"), ("Proxy-Authorization", Basic(c.SandboxToken))]), 400, "https_absolute_form");
        yield return Case("CONNECT (forward)", "no port", Http("CONNECT", "api.sweep.test", headers: [("Proxy-Authorization", Basic(c.SandboxToken))]), 400, "bad_connect");
        yield return Case("CONNECT (forward)", "head too large", Http("CONNECT", "api.sweep.test:443", headers: [("X-Filler", new string('x', 64 * 1024))]), 431, "connect_head_too_large");
        // A valid sandbox going where the policy does not allow (nothing is on the sweep AppHost's allowlist): refused
        // before the ledger or the upstream sees anything. (A CONNECT to such a host is accepted and refused inside the
        // tunnel, where the client's TLS stack can show the JSON error: IronProxy/ForwardProxyTests.)
        var valid = Basic(c.SandboxToken);
        yield return Case("GET http://… (forward)", "valid token, host not allowed", Http("GET", "http://plain.sweep.test/x", headers: [("Host", "plain.sweep.test"), ("Proxy-Authorization", valid)]), 403, "host_not_allowed");
        yield return Case($"/{Route}/… (reverse)", "valid token, path traversal", Http("GET", $"/{Route}/..%2F..%2Fetc%2Fpasswd", headers: [("Proxy-Authorization", valid)]), 403, "host_not_allowed");
        yield return Case($"/_t/…/{Route}/… (reverse)", "path traversal in the token", Http("GET", $"/_t/..%2F..%2Fetc%2Fpasswd/{Route}/x"), 407, "proxy_authentication_required");

        // The proxy's own endpoints and anything that is not a route.
        // (Health checks answer any method: they only read.)
        yield return Case("GET /ca.pem", "unknown method", Http("POST", "/ca.pem", body: "{}"), 404, "no_route");
        yield return Case("(fallback)", "no such route", Http("GET", "/no-such-route/x"), 404, "no_route");
        yield return Case("(fallback)", "dot segments to /etc/passwd", Http("GET", "/../../../etc/passwd"), 404, "no_route");
        yield return Case("(fallback)", "encoded dots", Http("GET", "/%2e%2e/%2e%2e/etc/passwd"), 404, "no_route");
        yield return Case("(fallback)", "climbing out of /ca.pem", Http("GET", "/ca.pem/..%2F..%2Fetc%2Fpasswd"), 404, "no_route");
        yield return Case("(fallback)", "appsettings next to the app", Http("GET", "/appsettings.json"), 404, "no_route");
    }

    /// <summary>The proxy's code: X-Centaur-Proxy-Error, which must match the JSON body's error.type.</summary>
    public static string? CodeOf(RawHttp.Response response)
    {
        var header = response.Header("X-Centaur-Proxy-Error");
        try
        {
            var type = System.Text.Json.Nodes.JsonNode.Parse(response.Body)?["error"]?["type"]?.GetValue<string>();
            return type == header ? header : $"header '{header}' but body '{type}'";
        }
        catch (System.Text.Json.JsonException)
        {
            return header is null ? null : $"header '{header}' but no JSON body";
        }
    }

    private static SweepCase Case(string endpoint, string name, RawHttp.Request request, int status, string? code) =>
        new(endpoint, name, request, status, code, Audit);
}
