using System.Text.Json;
using System.Text.Json.Serialization;

namespace Centaur.IronProxy.Forwarding;

/// <summary>
/// Writes refusals in the Anthropic error shape (<c>{"type":"error","error":{"type":…,"message":…}}</c>), which
/// LLM SDKs print as is, plus <c>X-Centaur-Proxy-Error</c> for tools that only show headers.
/// </summary>
internal static class EgressResponses
{
    public const string ErrorHeader = "X-Centaur-Proxy-Error";

    public static Task WriteDenialAsync(HttpContext context, EgressDenial denial)
    {
        var response = context.Response;
        response.StatusCode = denial.Status;
        response.Headers[ErrorHeader] = denial.Code;
        if (denial.Status == StatusCodes.Status407ProxyAuthenticationRequired)
        {
            response.Headers.ProxyAuthenticate = "Basic realm=\"centaur-ironproxy\"";
        }

        if (denial.BasicRealm is not null)
        {
            response.Headers.WWWAuthenticate = $"Basic realm=\"{denial.BasicRealm}\"";
        }

        response.ContentType = "application/json";
        var body = Serialize(denial);
        response.ContentLength = body.Length;
        return response.Body.WriteAsync(body, context.RequestAborted).AsTask();
    }

    public static byte[] Serialize(EgressDenial denial) =>
        JsonSerializer.SerializeToUtf8Bytes(new ErrorBody("error", new ErrorDetail(denial.Code, denial.Message)), EgressJson.Default.ErrorBody);

    internal sealed record ErrorBody(string Type, ErrorDetail Error);

    internal sealed record ErrorDetail(string Type, string Message);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(EgressResponses.ErrorBody))]
internal sealed partial class EgressJson : JsonSerializerContext;
