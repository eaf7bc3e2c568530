using System.Collections;
using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Centaur.Api.Errors;

/// <summary>
/// Refuses U+0000 anywhere in a request's strings (route values, body fields, nested JSON) with 400
/// <c>invalid_text</c>. Postgres cannot store it in text or jsonb: unchecked, it failed as a 500 in the middle of a
/// handler, after it may have written. Other control characters stay allowed (messages have newlines and tabs).
/// </summary>
internal sealed class TextInputFilter : IEndpointFilter
{
    private const int MaxDepth = 8;

    private static readonly ConcurrentDictionary<Type, (string Field, PropertyInfo Property)[]> s_properties = new();

    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var parameters = context.HttpContext.GetEndpoint()?.Metadata.GetMetadata<MethodInfo>()?.GetParameters();
        var services = context.HttpContext.RequestServices.GetService<IServiceProviderIsService>();
        for (var i = 0; i < context.Arguments.Count; i++)
        {
            var parameter = parameters is not null && i < parameters.Length ? parameters[i] : null;
            var argument = context.Arguments[i];
            if (argument is HttpContext or CancellationToken
                || (parameter is not null && services?.IsService(parameter.ParameterType) == true))
            {
                continue;
            }

            if (FindNul(argument, JsonNamingPolicy.SnakeCaseLower.ConvertName(parameter?.Name ?? "request"), 0) is { } field)
            {
                return ValueTask.FromResult<object?>(Problems.BadRequest(
                    "invalid_text", $"{field} contains the character U+0000, which is never valid here", field));
            }
        }

        return next(context);
    }

    /// <summary>The JSON path of the first string holding U+0000, or null.</summary>
    internal static string? FindNul(object? value, string path, int depth) => value switch
    {
        _ when depth > MaxDepth => null,
        null => null,
        string text => text.Contains('\0', StringComparison.Ordinal) ? path : null,
        JsonNode node => FindNul(node, path),
        IDictionary dictionary => dictionary.Keys.Cast<object>()
            .Select(key => key is string k && k.Contains('\0', StringComparison.Ordinal) ? path : FindNul(dictionary[key], $"{path}.{key}", depth + 1))
            .FirstOrDefault(found => found is not null),
        IEnumerable items => items.Cast<object?>().Select((item, i) => FindNul(item, $"{path}[{i}]", depth + 1)).FirstOrDefault(found => found is not null),
        // Request contracts (XxxRequest) and what they hold; never a bundle of services.
        _ when value.GetType().Assembly == typeof(TextInputFilter).Assembly && (depth > 0 || value.GetType().Name.EndsWith("Request", StringComparison.Ordinal)) => Properties(value.GetType())
            .Select(p => FindNul(p.Property.GetValue(value), p.Field, depth + 1)).FirstOrDefault(found => found is not null),
        _ => null,
    };

    private static string? FindNul(JsonNode node, string path) => node switch
    {
        JsonObject o => o.Select(p => p.Key.Contains('\0', StringComparison.Ordinal) ? path : p.Value is null ? null : FindNul(p.Value, $"{path}.{p.Key}"))
            .FirstOrDefault(found => found is not null),
        JsonArray a => a.Select((item, i) => item is null ? null : FindNul(item, $"{path}[{i}]")).FirstOrDefault(found => found is not null),
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>().Contains('\0', StringComparison.Ordinal) ? path : null,
        _ => null,
    };

    /// <summary>The request record's readable properties with the names clients send them by.</summary>
    private static (string Field, PropertyInfo Property)[] Properties(Type type) => s_properties.GetOrAdd(type, static t =>
        [.. t.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetIndexParameters().Length == 0 && p.CanRead)
            .Select(p => (p.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name ?? JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name), p))]);
}
