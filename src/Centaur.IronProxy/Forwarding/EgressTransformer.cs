using Centaur.IronProxy.Audit;
using Microsoft.AspNetCore.Http.Features;
using Npgsql;
using Yarp.ReverseProxy.Forwarder;

namespace Centaur.IronProxy.Forwarding;

/// <summary>
/// YARP's default header copy (which drops the standard hop-by-hop headers and adds no X-Forwarded-*), then the
/// egress policy, then the side-effect ledger. Writing a response here stops YARP from sending the request.
/// </summary>
internal sealed class EgressTransformer(CredentialInjector injector, SideEffectLedger ledger, ILogger<EgressTransformer> logger) : HttpTransformer
{
    public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
    {
        await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);
        // Host (HTTP/1.1) and :authority (HTTP/2) come from the destination, never from what the sandbox wrote.
        proxyRequest.Headers.Host = null;

        var egress = httpContext.Features.GetRequiredFeature<EgressContext>();
        var denial = injector.Apply(httpContext, proxyRequest, egress);
        if (denial is not null)
        {
            if (denial.Reportable && egress.Policy.Mode == Policy.PolicyMode.Report)
            {
                egress.Report(denial);
            }
            else
            {
                egress.Deny(denial);
                await EgressResponses.WriteDenialAsync(httpContext, denial);
                return;
            }
        }

        if (SideEffectLedger.IsSideEffect(httpContext.Request.Method))
        {
            try
            {
                var target = RequestUtilities.MakeDestinationAddress(destinationPrefix, httpContext.Request.Path, QueryString.Empty);
                await ledger.RecordAsync(egress, httpContext.Request.Method, target.AbsolutePath, cancellationToken);
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
            {
                logger.LedgerWriteFailed(ex, egress.Host);
                var unavailable = EgressDenial.LedgerUnavailable();
                egress.Deny(unavailable);
                await EgressResponses.WriteDenialAsync(httpContext, unavailable);
            }
        }
    }
}
