using Centaur.IronProxy.Tunnel;
using Microsoft.AspNetCore.Http.Features;

namespace Centaur.IronProxy.Forwarding;

/// <summary>
/// First in the pipeline: anything a sandbox sends out is forwarded here and never reaches the proxy's own
/// endpoints (/health, /ca.pem), even when its path looks like one.
/// </summary>
internal sealed class EgressMiddleware(RequestDelegate next, EgressForwarder forwarder)
{
    public Task InvokeAsync(HttpContext context)
    {
        if (context.Features.Get<TunnelFeature>() is { } tunnel)
        {
            return forwarder.ForwardTunnelAsync(context, tunnel);
        }

        // Absolute-form (RFC 9112 §3.2.2) is what HTTP_PROXY clients send; Kestrel has checked Host against it.
        var rawTarget = context.Features.GetRequiredFeature<IHttpRequestFeature>().RawTarget;
        if (rawTarget.Length > 0 && rawTarget[0] != '/' && rawTarget != "*")
        {
            return forwarder.ForwardAbsoluteAsync(context, rawTarget);
        }

        return forwarder.TryForwardReverse(context, out var forwarding) ? forwarding : next(context);
    }
}
