using System.Diagnostics;
using System.Net;
using Centaur.IronProxy.Audit;
using Centaur.IronProxy.Identity;
using Centaur.IronProxy.Policy;
using Centaur.IronProxy.Tracing;
using Centaur.IronProxy.Tunnel;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Forwarder;

namespace Centaur.IronProxy.Forwarding;

/// <summary>
/// Every request a sandbox sends out, in its three shapes (inside a CONNECT tunnel, absolute-form http://, a
/// reverse route), goes through <see cref="ForwardAsync"/>: identity, allowlist, YARP's forwarder with the egress
/// transformer, error mapping and one audit row.
/// </summary>
internal sealed class EgressForwarder(
    IHttpForwarder forwarder,
    UpstreamClient upstream,
    EgressTransformer transformer,
    PolicyStore policies,
    SandboxAuthenticator authenticator,
    AuditLog audit,
    BlockedHostNotifier blocked,
    TurnTraces traces,
    IOptions<IronProxyOptions> options,
    TimeProvider time)
{
    /// <summary>Reverse mode: the sandbox token for clients that can add a header but not Proxy-Authorization.</summary>
    public const string SandboxTokenHeader = "X-Centaur-Sandbox-Token";

    /// <summary>Reverse mode: <c>/_t/&lt;token&gt;/&lt;route&gt;/…</c> for clients configured by base URL only.</summary>
    public const string TokenPathSegment = "_t";

    private readonly ForwarderRequestConfig _requestConfig = new()
    {
        ActivityTimeout = TimeSpan.FromSeconds(options.Value.UpstreamActivityTimeoutSeconds),
        Version = HttpVersion.Version20,
        VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
    };

    public Task ForwardTunnelAsync(HttpContext context, TunnelFeature tunnel)
    {
        var egress = new EgressContext(tunnel.Identity, EgressMode.Tunnel, "https", tunnel.Host, tunnel.Port, policies.Current);
        if (tunnel.Reported is { } reported)
        {
            egress.Report(reported);
        }

        EgressDenial? denial = tunnel.Denial;
        if (denial is null && HttpMethods.IsConnect(context.Request.Method)
            && context.Features.Get<IHttpExtendedConnectFeature>() is not { IsExtendedConnect: true, Protocol: "websocket" })
        {
            denial = EgressDenial.NestedConnect();
        }

        // The tunnel's destination was fixed by CONNECT (and matched by SNI); a request naming another host in Host
        // or :authority would otherwise be decided for one host and read by another.
        var authority = context.Request.Host;
        if (denial is null && (!string.Equals(authority.Host, tunnel.Host, StringComparison.OrdinalIgnoreCase)
                               || (authority.Port is { } port && port != tunnel.Port)))
        {
            denial = EgressDenial.MisdirectedRequest(authority.Value ?? "", tunnel.Host);
        }

        return ForwardAsync(context, egress, tunnel.DestinationPrefix, denial);
    }

    public Task ForwardAbsoluteAsync(HttpContext context, string rawTarget)
    {
        if (!authenticator.TryAuthenticate(context.Request.Headers.ProxyAuthorization, context.Connection.RemoteIpAddress, out var identity))
        {
            return DenyUnauthenticatedAsync(context, EgressMode.Http);
        }

        if (!rawTarget.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || !Uri.TryCreate(rawTarget, UriKind.Absolute, out var uri))
        {
            var https = new EgressContext(identity, EgressMode.Http, "https", context.Request.Host.Host, 443, policies.Current);
            return ForwardAsync(context, https, "", EgressDenial.HttpsAbsoluteForm());
        }

        var egress = new EgressContext(identity, EgressMode.Http, "http", uri.IdnHost.ToLowerInvariant(), uri.Port, policies.Current);
        return ForwardAsync(context, egress, uri.GetLeftPart(UriPartial.Authority), AllowlistDenial(egress));
    }

    /// <summary>False when the path matches no route (the request is not the proxy's to forward).</summary>
    public bool TryForwardReverse(HttpContext context, out Task forwarding)
    {
        forwarding = Task.CompletedTask;
        var policy = policies.Current;
        var path = context.Request.Path.Value ?? "";
        string? token = null;
        var consumed = 0;
        if (path.StartsWith("/" + TokenPathSegment + "/", StringComparison.Ordinal))
        {
            var end = path.IndexOf('/', TokenPathSegment.Length + 2);
            if (end < 0)
            {
                return false;
            }

            token = path[(TokenPathSegment.Length + 2)..end];
            consumed = end;
        }

        var routeEnd = path.IndexOf('/', consumed + 1);
        var routeName = routeEnd < 0 ? path[(consumed + 1)..] : path[(consumed + 1)..routeEnd];
        if (routeName.Length == 0 || !policy.Routes.TryGetValue(routeName, out var destination))
        {
            return false;
        }

        if (token is not null)
        {
            // The token is a credential: it must not reach traces (url.path) or the audit through the path.
            Activity.Current?.SetTag("url.path", "/" + TokenPathSegment + "/***" + path[consumed..]);
        }

        SandboxIdentity? identity = null;
        var remote = context.Connection.RemoteIpAddress;
        var authenticated = token is not null
            ? authenticator.TryAuthenticateToken(token, remote, out identity)
            : authenticator.TryAuthenticate(context.Request.Headers.ProxyAuthorization, remote, out identity)
              || authenticator.TryAuthenticateToken(context.Request.Headers[SandboxTokenHeader], remote, out identity);
        context.Request.PathBase = context.Request.PathBase.Add("/" + routeName);
        context.Request.Path = routeEnd < 0 ? PathString.Empty : path[routeEnd..];
        if (!authenticated || identity is null)
        {
            forwarding = DenyUnauthenticatedAsync(context, EgressMode.Reverse);
            return true;
        }

        var egress = new EgressContext(identity, EgressMode.Reverse, destination.Scheme, destination.IdnHost.ToLowerInvariant(), destination.Port, policy);
        forwarding = ForwardAsync(context, egress, destination.AbsoluteUri.TrimEnd('/'), AllowlistDenial(egress));
        return true;
    }

    private EgressDenial? AllowlistDenial(EgressContext egress) =>
        !policies.IsLoaded ? EgressDenial.PolicyNotLoaded()
        : egress.Policy.Allows(egress.Target, egress.Port, egress.Identity.ThreadKey) ? null
        : EgressDenial.HostNotAllowed(egress.Host, egress.Port);

    private async Task ForwardAsync(HttpContext context, EgressContext egress, string destinationPrefix, EgressDenial? denial)
    {
        var started = Stopwatch.GetTimestamp();
        using var span = await traces.StartEgressAsync(egress.Identity.ThreadKey, egress.Host, context.Request.Headers.TraceParent, context.RequestAborted);
        context.Features.Set(egress);
        var requestBody = new CountingStream(context.Request.Body);
        var responseBody = new CountingStream(context.Response.Body);
        context.Request.Body = requestBody;
        context.Response.Body = responseBody;
        try
        {
            if (denial is not null && denial.Reportable && egress.Policy.Mode == PolicyMode.Report)
            {
                egress.Report(denial);
                denial = null;
            }

            if (denial is not null)
            {
                egress.Deny(denial);
                if (denial.Code == EgressDenial.HostNotAllowedCode)
                {
                    blocked.Report(egress.Identity.ThreadKey, egress.Host, egress.Port);
                }

                await EgressResponses.WriteDenialAsync(context, denial);
                return;
            }

            var error = await forwarder.SendAsync(context, destinationPrefix, upstream.Invoker, _requestConfig, transformer);
            if (error != ForwarderError.None && egress.Decision != "deny" && !context.Response.HasStarted)
            {
                var exception = context.GetForwarderErrorFeature()?.Exception;
                var failure = FindBlocked(exception) is { } blocked
                    ? EgressDenial.DestinationNotAllowed(blocked.Host, blocked.Address.ToString())
                    : EgressDenial.UpstreamUnreachable(egress.Host, error.ToString());
                egress.Deny(failure);
                context.Response.Clear();
                await EgressResponses.WriteDenialAsync(context, failure);
            }
        }
        finally
        {
            context.Request.Body = requestBody.Inner;
            context.Response.Body = responseBody.Inner;
            span?.SetTag("http.response.status_code", context.Response.StatusCode);
            span?.SetTag("centaur.egress.decision", egress.Decision);
            var elapsed = Stopwatch.GetElapsedTime(started);
            EgressMetrics.Record(egress.Host, context.Response.StatusCode, egress.Decision, egress.Injected, elapsed);
            audit.Write(new AuditRecord(
                time.GetUtcNow(),
                egress.Identity.ThreadKey,
                egress.Identity.SandboxId,
                ModeName(egress.Mode),
                context.Request.Method,
                egress.Scheme,
                egress.Host,
                egress.Port,
                Truncate(context.Request.PathBase.Add(context.Request.Path).Value ?? "/"),
                context.Response.StatusCode,
                requestBody.Count,
                responseBody.Count,
                elapsed.TotalMilliseconds,
                egress.Injected is null ? [] : [.. egress.Injected],
                egress.Decision,
                egress.Reason));
        }
    }

    private Task DenyUnauthenticatedAsync(HttpContext context, EgressMode mode)
    {
        var denial = EgressDenial.ProxyAuthenticationRequired();
        var host = context.Request.Host;
        audit.Write(new AuditRecord(time.GetUtcNow(), null, null, ModeName(mode), context.Request.Method, context.Request.Scheme,
            host.Host, host.Port ?? 80, Truncate(context.Request.PathBase.Add(context.Request.Path).Value ?? "/"), denial.Status, 0, 0, 0, [], "deny", denial.Code));
        return EgressResponses.WriteDenialAsync(context, denial);
    }

    private static DestinationBlockedException? FindBlocked(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is DestinationBlockedException blocked)
            {
                return blocked;
            }
        }

        return null;
    }

    internal static string ModeName(EgressMode mode) => mode switch
    {
        EgressMode.Tunnel => "tunnel",
        EgressMode.Http => "http",
        EgressMode.Reverse => "reverse",
        _ => "connect",
    };

    internal static string Truncate(string path) => path.Length <= 2048 ? path : path[..2048];
}
