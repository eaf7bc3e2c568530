using System.Net;

namespace Centaur.Cli.Api;

/// <summary>The API answered with an error (a ProblemDetails with a stable code, or a bare status).</summary>
internal sealed class CentaurApiException(HttpStatusCode status, string? code, string message) : Exception(message)
{
    public HttpStatusCode Status => status;

    /// <summary>The ProblemDetails <c>code</c> extension, e.g. unknown_thread; null when the body had none.</summary>
    public string? Code => code;

    /// <summary>Worth retrying with the same idempotency key: the API (or something in front of it) is restarting.</summary>
    public bool IsTransient => status is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests || (int)status >= 500;
}
