namespace Centaur.IronProxy.Certificates;

internal static class CertificateAuthorityEndpoints
{
    /// <summary>GET /ca.pem: the CA certificate sandboxes install as trusted. Never the key.</summary>
    public static IEndpointRouteBuilder MapCertificateAuthority(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/ca.pem", (CertificateAuthority ca) => TypedResults.Text(ca.CertificatePem, "application/x-pem-file"));
        return endpoints;
    }
}
