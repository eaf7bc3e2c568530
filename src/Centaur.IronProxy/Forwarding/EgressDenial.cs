namespace Centaur.IronProxy.Forwarding;

/// <summary>
/// A refusal the sandbox gets instead of an upstream response: a status, a stable code and a message that says
/// what happened and what to do. Never contains a secret value.
/// </summary>
internal sealed record EgressDenial(int Status, string Code, string Message)
{
    /// <summary>Codes that report mode may let through; the rest (identity, address guard, missing secrets) never.</summary>
    public bool Reportable { get; init; }

    /// <summary>Set for Basic-format bindings: a 401 challenge, so git retries with its (placeholder) credentials.</summary>
    public string? BasicRealm { get; init; }

    public const string HostNotAllowedCode = "host_not_allowed";

    public static EgressDenial HostNotAllowed(string host, int port) => new(403, HostNotAllowedCode,
        $"iron-proxy: egress to {host}:{port} is not on the allowlist. An operator can allow it with PUT /egress/hosts/{host} on the Centaur API.")
    { Reportable = true };

    public static EgressDenial PlaceholderWrongHost(string name, string host, IEnumerable<string> boundHosts) => new(403, "placeholder_wrong_host",
        $"iron-proxy: the placeholder credential '{name}' is only valid for {string.Join(", ", boundHosts)}; refusing to send it to {host}.")
    { Reportable = true };

    public static EgressDenial PlaceholderUnknown(string name, string host) => new(403, "placeholder_unknown",
        $"iron-proxy: no credential binding is named '{name}'; refusing to send its placeholder to {host}.")
    { Reportable = true };

    public static EgressDenial CredentialNotPlaceholder(string header, string host, string binding) => new(403, "credential_not_placeholder",
        $"iron-proxy: {host} only accepts the placeholder 'centaur-placeholder:{binding}' in {header}; a real-looking credential is never forwarded.")
    { Reportable = true };

    public static EgressDenial MissingPlaceholder(string host, string binding, IEnumerable<string> headers, string? basicRealm) => new(
        basicRealm is null ? 403 : 401, "missing_placeholder",
        $"iron-proxy: requests to {host} must carry 'centaur-placeholder:{binding}' in {string.Join(" or ", headers)}.")
    { Reportable = true, BasicRealm = basicRealm };

    public static EgressDenial PlainHttpCredentials(string host) => new(403, "plain_http_credentials",
        $"iron-proxy: {host} has bound credentials, which are only sent over https.");

    public static EgressDenial SecretUnavailable(string binding, string secret) => new(503, "secret_unavailable",
        $"iron-proxy: the secret '{secret}' for binding '{binding}' has no value in the proxy; an operator must set it.");

    public static EgressDenial DestinationNotAllowed(string host, string address) => new(403, "destination_address_not_allowed",
        $"iron-proxy: {host} resolves to {address}, a loopback, private, link-local or metadata address; refused (allow_private on its allowlist entry permits it).");

    public static EgressDenial MisdirectedRequest(string authority, string host) => new(421, "misdirected_request",
        $"iron-proxy: this tunnel was opened to {host}; a request for {authority} must open its own tunnel.");

    public static EgressDenial NestedConnect() => new(405, "nested_connect", "iron-proxy: CONNECT inside a tunnel is not allowed.");

    public static EgressDenial HttpsAbsoluteForm() => new(400, "https_absolute_form",
        "iron-proxy: send https:// requests through CONNECT (HTTPS_PROXY), not as absolute-form requests.");

    /// <summary>
    /// A proxy that has just (re)started and not read its policy yet: retryable, unlike the 403 the empty policy
    /// would give, which tells a harness (and an operator) that the host is not allowed.
    /// </summary>
    public static EgressDenial PolicyNotLoaded() => new(503, "policy_not_loaded",
        "iron-proxy: the egress policy is not loaded yet (the proxy is starting); retry in a moment.");

    public static EgressDenial LedgerUnavailable() => new(503, "ledger_unavailable",
        "iron-proxy: the side-effect ledger could not be written, so the request was not forwarded; retry.");

    public static EgressDenial UpstreamUnreachable(string host, string error) => new(502, "upstream_unreachable",
        $"iron-proxy: could not reach {host} ({error}).");

    public static EgressDenial ProxyAuthenticationRequired() => new(407, "proxy_authentication_required",
        "iron-proxy: send the sandbox token as Proxy-Authorization (e.g. http://sandbox:<token>@proxy in HTTPS_PROXY).");

    public static EgressDenial NoRoute(string path) => new(404, "no_route",
        $"iron-proxy: {path} matches no reverse-proxy route; use the proxy as HTTPS_PROXY or a configured /<route>/ prefix.");
}
