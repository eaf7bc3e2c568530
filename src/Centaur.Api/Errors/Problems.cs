using Microsoft.AspNetCore.Http.HttpResults;

namespace Centaur.Api.Errors;

/// <summary>
/// Every error the API returns is a ProblemDetails with a stable machine-readable <c>code</c>; clients branch on
/// the code, people read the detail. Field errors also name the field.
/// </summary>
internal static class Problems
{
    public static ProblemHttpResult BadRequest(string code, string detail, string? field = null) =>
        Create(StatusCodes.Status400BadRequest, code, detail, field);

    public static ProblemHttpResult NotFound(string code, string detail) =>
        Create(StatusCodes.Status404NotFound, code, detail);

    public static ProblemHttpResult Conflict(string code, string detail) =>
        Create(StatusCodes.Status409Conflict, code, detail);

    public static ProblemHttpResult TooManyRequests(string code, string detail) =>
        Create(StatusCodes.Status429TooManyRequests, code, detail);

    public static ProblemHttpResult Create(int status, string code, string detail, string? field = null)
    {
        var extensions = new Dictionary<string, object?> { ["code"] = code };
        if (field is not null)
        {
            extensions["field"] = field;
        }

        return TypedResults.Problem(detail: detail, statusCode: status, extensions: extensions);
    }

    /// <summary>Codes for the errors ASP.NET Core produces itself (auth, routing, body binding, crashes).</summary>
    public static void AddStableCode(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        if (problem.Extensions.ContainsKey("code"))
        {
            return;
        }

        if (context.Exception is BadHttpRequestException bad)
        {
            problem.Status = bad.StatusCode;
            problem.Detail = bad.InnerException is System.Text.Json.JsonException json
                ? $"The request body is not valid JSON for this endpoint: {json.Message}"
                : bad.Message;
            problem.Extensions["code"] = bad.StatusCode == StatusCodes.Status413PayloadTooLarge ? "body_too_large" : "invalid_request";
            return;
        }

        problem.Extensions["code"] = problem.Status switch
        {
            StatusCodes.Status400BadRequest => "invalid_request",
            StatusCodes.Status401Unauthorized => "unauthorized",
            StatusCodes.Status403Forbidden => "forbidden",
            StatusCodes.Status404NotFound => "not_found",
            StatusCodes.Status405MethodNotAllowed => "method_not_allowed",
            StatusCodes.Status413PayloadTooLarge => "body_too_large",
            StatusCodes.Status415UnsupportedMediaType => "unsupported_media_type",
            _ => "internal_error",
        };
        if (problem.Status >= 500)
        {
            // Never leak exception text (it may carry connection strings or payloads); the trace id finds it in logs.
            problem.Detail = "The server failed to process the request. Quote the traceId when reporting it.";
        }
    }
}
