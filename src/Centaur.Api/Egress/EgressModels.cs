using System.Text.Json.Serialization;

namespace Centaur.Api.Egress;

// The egress policy's wire shapes (snake_case, as the whole API). Secret *names* only: values live in the proxy.

internal sealed record EgressSettingsRequest(
    [property: JsonPropertyName("mode")] string? Mode,
    [property: JsonPropertyName("deny_in_tunnel")] bool? DenyInTunnel);

internal sealed record EgressSettings(
    [property: JsonPropertyName("mode")] string Mode,
    [property: JsonPropertyName("deny_in_tunnel")] bool DenyInTunnel,
    [property: JsonPropertyName("policy_version")] long PolicyVersion);

internal sealed record EgressHostRequest(
    [property: JsonPropertyName("ports")] int[]? Ports,
    [property: JsonPropertyName("request_headers")] string[]? RequestHeaders,
    [property: JsonPropertyName("allow_private")] bool? AllowPrivate,
    [property: JsonPropertyName("connect_to")] string? ConnectTo,
    [property: JsonPropertyName("trusted_ca_pem")] string? TrustedCaPem,
    [property: JsonPropertyName("note")] string? Note);

internal sealed record EgressHost(
    [property: JsonPropertyName("host")] string Host,
    [property: JsonPropertyName("ports")] int[] Ports,
    [property: JsonPropertyName("request_headers")] string[]? RequestHeaders,
    [property: JsonPropertyName("allow_private")] bool AllowPrivate,
    [property: JsonPropertyName("connect_to")] string? ConnectTo,
    [property: JsonPropertyName("has_trusted_ca")] bool HasTrustedCa,
    [property: JsonPropertyName("note")] string? Note);

internal sealed record EgressBindingRequest(
    [property: JsonPropertyName("host")] string? Host,
    [property: JsonPropertyName("headers")] string[]? Headers,
    [property: JsonPropertyName("format")] string? Format,
    [property: JsonPropertyName("secret")] string? Secret,
    [property: JsonPropertyName("allow_passthrough")] bool? AllowPassthrough);

internal sealed record EgressBinding(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("host")] string Host,
    [property: JsonPropertyName("headers")] string[] Headers,
    [property: JsonPropertyName("format")] string Format,
    [property: JsonPropertyName("secret")] string Secret,
    [property: JsonPropertyName("allow_passthrough")] bool AllowPassthrough,
    [property: JsonPropertyName("placeholder")] string Placeholder);

internal sealed record EgressRouteRequest([property: JsonPropertyName("destination")] string? Destination);

internal sealed record EgressRoute(
    [property: JsonPropertyName("prefix")] string Prefix,
    [property: JsonPropertyName("destination")] string Destination);

internal sealed record EgressPolicyDocument(
    [property: JsonPropertyName("settings")] EgressSettings Settings,
    [property: JsonPropertyName("hosts")] IReadOnlyList<EgressHost> Hosts,
    [property: JsonPropertyName("bindings")] IReadOnlyList<EgressBinding> Bindings,
    [property: JsonPropertyName("routes")] IReadOnlyList<EgressRoute> Routes);

internal sealed record EgressChange(
    [property: JsonPropertyName("policy_version")] long PolicyVersion);

internal sealed record EgressAuditRow(
    [property: JsonPropertyName("id")] long Id,
    [property: JsonPropertyName("created_at")] DateTimeOffset CreatedAt,
    [property: JsonPropertyName("thread_key")] string? ThreadKey,
    [property: JsonPropertyName("sandbox_id")] string? SandboxId,
    [property: JsonPropertyName("mode")] string Mode,
    [property: JsonPropertyName("method")] string Method,
    [property: JsonPropertyName("scheme")] string Scheme,
    [property: JsonPropertyName("host")] string Host,
    [property: JsonPropertyName("port")] int Port,
    [property: JsonPropertyName("path")] string Path,
    [property: JsonPropertyName("status")] int Status,
    [property: JsonPropertyName("bytes_in")] long BytesIn,
    [property: JsonPropertyName("bytes_out")] long BytesOut,
    [property: JsonPropertyName("duration_ms")] double DurationMs,
    [property: JsonPropertyName("bindings")] string[] Bindings,
    [property: JsonPropertyName("decision")] string Decision,
    [property: JsonPropertyName("reason")] string? Reason);

internal sealed record EgressAuditPage(
    [property: JsonPropertyName("items")] IReadOnlyList<EgressAuditRow> Items,
    [property: JsonPropertyName("next_after_id")] long NextAfterId);
