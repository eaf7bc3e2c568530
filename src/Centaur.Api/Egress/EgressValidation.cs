using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Centaur.Api.Egress;

/// <summary>The same rules as 0010_egress.sql's CHECKs, answered as ProblemDetails with a stable code before anything is stored.</summary>
internal static partial class EgressValidation
{
    public static ProblemHttpResult Problem(string code, string detail, int status = StatusCodes.Status400BadRequest) =>
        TypedResults.Problem(detail, statusCode: status, title: "Invalid egress policy", extensions: new Dictionary<string, object?> { ["code"] = code });

    public static ProblemHttpResult? Host(string host, bool allowAny) =>
        (allowAny && host == "*") || HostPattern().IsMatch(host)
            ? null
            : Problem("egress_invalid_host", $"'{host}' is not a host name, '*.suffix'{(allowAny ? " or '*'" : "")} (lower case).");

    public static ProblemHttpResult? HostRequest(EgressHostRequest request)
    {
        if (request.Ports is { } ports && (ports.Length == 0 || ports.Any(p => p is < 1 or > 65535)))
        {
            return Problem("egress_invalid_ports", "ports must be a non-empty list of numbers between 1 and 65535.");
        }

        if (request.RequestHeaders is { } headers && headers.Any(h => !HeaderPattern().IsMatch(h)))
        {
            return Problem("egress_invalid_headers", "request_headers must be header names, 'prefix-*' or '*'.");
        }

        if (request.ConnectTo is { } connectTo && (!IPEndPoint.TryParse(connectTo, out var endpoint) || endpoint.Port == 0 || !connectTo.Contains(':', StringComparison.Ordinal)))
        {
            return Problem("egress_invalid_connect_to", "connect_to must be 'ip:port' (e.g. 10.0.0.5:443 or [fd00::5]:443).");
        }

        if (request.TrustedCaPem is { } pem)
        {
            try
            {
                using var certificate = X509Certificate2.CreateFromPem(pem);
            }
            catch (CryptographicException)
            {
                return Problem("egress_invalid_trusted_ca", "trusted_ca_pem must be one PEM certificate.");
            }
        }

        return null;
    }

    public static ProblemHttpResult? BindingRequest(string name, EgressBindingRequest request)
    {
        if (!NamePattern().IsMatch(name))
        {
            return Problem("egress_invalid_binding_name", "A binding name is 1-63 of a-z, 0-9, '.', '_', '-', starting with a letter or digit.");
        }

        if (request.Host is null || Host(request.Host, allowAny: false) is not null)
        {
            return Problem("egress_invalid_host", "host must be an exact host name or '*.suffix' (lower case).");
        }

        if (request.Headers is not { Length: > 0 } headers || headers.Any(h => !TokenPattern().IsMatch(h)))
        {
            return Problem("egress_invalid_headers", "headers must name one or more request headers (e.g. x-api-key, authorization).");
        }

        if (request.Format is not ("raw" or "bearer" or "basic"))
        {
            return Problem("egress_invalid_format", "format must be raw, bearer or basic.");
        }

        return request.Secret is null || !SecretPattern().IsMatch(request.Secret)
            ? Problem("egress_invalid_secret", "secret must name a secret of the proxy (e.g. anthropic-api-key), never hold its value.")
            : null;
    }

    public static ProblemHttpResult? Route(string prefix, EgressRouteRequest request) =>
        !NamePattern().IsMatch(prefix)
            ? Problem("egress_invalid_route", "A route prefix is 1-63 of a-z, 0-9, '.', '_', '-'.")
            : request.Destination is null || !DestinationPattern().IsMatch(request.Destination)
                ? Problem("egress_invalid_destination", "destination must be an http(s) URL without query or fragment.")
                : null;

    [GeneratedRegex(@"^(\*\.)?[a-z0-9]([a-z0-9._-]*[a-z0-9])?$|^\[[0-9a-f:.]+\]$")]
    private static partial Regex HostPattern();

    [GeneratedRegex(@"^(\*|[A-Za-z0-9!#$%&'+.^_`|~-]+\*?)$")]
    private static partial Regex HeaderPattern();

    [GeneratedRegex(@"^[A-Za-z0-9!#$%&'+.^_`|~-]+$")]
    private static partial Regex TokenPattern();

    [GeneratedRegex(@"^[a-z0-9][a-z0-9._-]{0,62}$")]
    private static partial Regex NamePattern();

    [GeneratedRegex(@"^[A-Za-z0-9._-]{1,128}$")]
    private static partial Regex SecretPattern();

    [GeneratedRegex(@"^https?://[^/?#\s]+(/[^?#\s]*)?$")]
    private static partial Regex DestinationPattern();
}
