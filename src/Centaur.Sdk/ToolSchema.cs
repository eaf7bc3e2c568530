using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Schema;
using System.Text.RegularExpressions;

namespace Centaur.Sdk;

/// <summary>
/// JSON schemas for tool arguments and workflow inputs, generated from a parameter record with System.Text.Json's
/// exporter (DataAnnotations and [Description] become schema keywords), and the checks that refuse a bad argument
/// with the name of the field before any code runs.
/// </summary>
public static class ToolSchema
{
    private static readonly JsonSchemaExporterOptions s_exporter = new()
    {
        TreatNullObliviousAsNonNullable = true,
        TransformSchemaNode = Annotate,
    };

    /// <summary>The schema of an object without properties (a method that takes no arguments).</summary>
    public static JsonObject Empty() =>
        new() { ["type"] = "object", ["properties"] = new JsonObject(), ["additionalProperties"] = false };

    public static JsonObject For(Type type) =>
        JsonSchemaExporter.GetJsonSchemaAsNode(ToolJson.Options, type, s_exporter) as JsonObject
        ?? throw new InvalidOperationException($"{type} does not have an object schema");

    /// <summary>Checks then deserializes; every failure is a <see cref="ToolArgumentException"/> naming the field.</summary>
    public static T Bind<T>(JsonObject arguments)
    {
        T? value;
        try
        {
            value = arguments.Deserialize<T>(ToolJson.Options);
        }
        catch (JsonException ex)
        {
            var field = FieldOf(ex.Path);
            throw new ToolArgumentException(field, $"{field}: {FirstSentence(ex.Message)}");
        }

        if (value is null)
        {
            throw new ToolArgumentException("arguments", "the arguments must be a JSON object");
        }

        var results = new List<ValidationResult>();
        if (!Validator.TryValidateObject(value, new ValidationContext(value), results, validateAllProperties: true))
        {
            var failure = results[0];
            var field = failure.MemberNames.Select(n => JsonNamingPolicy.SnakeCaseLower.ConvertName(n)).FirstOrDefault() ?? "arguments";
            throw new ToolArgumentException(field, failure.ErrorMessage ?? $"{field} is not valid");
        }

        return value;
    }

    /// <summary>
    /// The first way <paramref name="value"/> breaks <paramref name="schema"/> (the subset the exporter writes: type,
    /// properties, required, additionalProperties, items, enum, bounds, lengths, pattern), or null when it fits.
    /// </summary>
    public static (string Field, string Message)? Check(JsonObject schema, JsonNode? value) => Check(schema, value, "");

    private static (string Field, string Message)? Check(JsonNode? schemaNode, JsonNode? value, string path)
    {
        if (schemaNode is not JsonObject schema)
        {
            // true / absent: anything goes; false: nothing does
            return schemaNode is JsonValue v && v.TryGetValue<bool>(out var allowed) && !allowed
                ? (Name(path), $"{Name(path)} is not allowed")
                : null;
        }

        var field = Name(path);
        var kind = value?.GetValueKind() ?? JsonValueKind.Null;
        if (schema["type"] is { } type && !TypeMatches(type, kind, value))
        {
            return (field, $"{field} must be {Describe(type)}, not {KindName(kind)}");
        }

        if (schema["enum"] is JsonArray choices && !choices.Any(c => JsonNode.DeepEquals(c, value)))
        {
            return (field, $"{field} must be one of {string.Join(", ", choices.Select(c => c?.ToJsonString() ?? "null"))}");
        }

        switch (kind)
        {
            case JsonValueKind.Object:
                return CheckObject(schema, value!.AsObject(), path);
            case JsonValueKind.Array:
                var items = value!.AsArray();
                if (Number(schema["minItems"]) is { } minItems && items.Count < minItems)
                {
                    return (field, $"{field} needs at least {minItems} item(s)");
                }

                if (Number(schema["maxItems"]) is { } maxItems && items.Count > maxItems)
                {
                    return (field, $"{field} takes at most {maxItems} item(s)");
                }

                for (var i = 0; i < items.Count; i++)
                {
                    if (Check(schema["items"], items[i], $"{path}[{i}]") is { } itemError)
                    {
                        return itemError;
                    }
                }

                return null;
            case JsonValueKind.String:
                var text = value!.GetValue<string>();
                if (Number(schema["minLength"]) is { } minLength && text.Length < minLength)
                {
                    return (field, minLength == 1 ? $"{field} must not be empty" : $"{field} must be at least {minLength} characters");
                }

                if (Number(schema["maxLength"]) is { } maxLength && text.Length > maxLength)
                {
                    return (field, $"{field} must be at most {maxLength} characters");
                }

                if (schema["pattern"]?.GetValue<string>() is { } pattern && !Regex.IsMatch(text, pattern, RegexOptions.None, TimeSpan.FromSeconds(1)))
                {
                    return (field, $"{field} must match {pattern}");
                }

                return null;
            case JsonValueKind.Number:
                var number = AsDouble(value!);
                if (Number(schema["minimum"]) is { } minimum && number < minimum)
                {
                    return (field, $"{field} must be at least {minimum.ToString(CultureInfo.InvariantCulture)}");
                }

                if (Number(schema["maximum"]) is { } maximum && number > maximum)
                {
                    return (field, $"{field} must be at most {maximum.ToString(CultureInfo.InvariantCulture)}");
                }

                return null;
            default:
                return null;
        }
    }

    private static (string Field, string Message)? CheckObject(JsonObject schema, JsonObject value, string path)
    {
        var properties = schema["properties"] as JsonObject;
        foreach (var required in schema["required"] as JsonArray ?? [])
        {
            var name = required!.GetValue<string>();
            if (!value.ContainsKey(name))
            {
                var field = Join(path, name);
                return (field, $"{field} is required");
            }
        }

        foreach (var (name, item) in value)
        {
            var field = Join(path, name);
            if (properties?[name] is { } property)
            {
                if (Check(property, item, field) is { } error)
                {
                    return error;
                }
            }
            else if (schema["additionalProperties"] is { } additional)
            {
                if (additional is JsonValue flag && flag.TryGetValue<bool>(out var allowed))
                {
                    if (!allowed)
                    {
                        var known = properties is { Count: > 0 } ? $"; known fields: {string.Join(", ", properties.Select(p => p.Key))}" : "";
                        return (field, $"{field} is not a known field{known}");
                    }
                }
                else if (Check(additional, item, field) is { } error)
                {
                    return error;
                }
            }
        }

        return null;
    }

    private static bool TypeMatches(JsonNode type, JsonValueKind kind, JsonNode? value) => type switch
    {
        JsonArray any => any.Any(t => t is not null && TypeMatches(t, kind, value)),
        _ => type.GetValue<string>() switch
        {
            "object" => kind == JsonValueKind.Object,
            "array" => kind == JsonValueKind.Array,
            "string" => kind == JsonValueKind.String,
            "boolean" => kind is JsonValueKind.True or JsonValueKind.False,
            "null" => kind == JsonValueKind.Null,
            "number" => kind == JsonValueKind.Number,
            "integer" => kind == JsonValueKind.Number && AsDouble(value!) is var d && Math.Floor(d) == d && !double.IsInfinity(d),
            _ => true,
        },
    };

    private static string Describe(JsonNode type) => type is JsonArray any
        ? string.Join(" or ", any.Select(t => Article(t!.GetValue<string>())))
        : Article(type.GetValue<string>());

    private static string Article(string type) => type switch
    {
        "object" or "array" or "integer" => $"an {type}",
        "null" => "null",
        _ => $"a {type}",
    };

    private static string KindName(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };

    private static double? Number(JsonNode? node) =>
        node is JsonValue value && value.GetValueKind() == JsonValueKind.Number ? AsDouble(value) : null;

    /// <summary>Works for values parsed from JSON and for values built in code (an int-backed JsonValue has no double).</summary>
    private static double AsDouble(JsonNode node) => double.Parse(node.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture);

    private static string Join(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";

    private static string Name(string path) => path.Length == 0 ? "arguments" : path;

    /// <summary>"$.files[0].title" → "files[0].title".</summary>
    private static string FieldOf(string? path) =>
        string.IsNullOrEmpty(path) || path == "$" ? "arguments" : path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(". Path:", StringComparison.Ordinal);
        return end > 0 ? message[..end] : message;
    }

    /// <summary>Copies [Description] and DataAnnotations from the property (or its constructor parameter) into the schema.</summary>
    private static JsonNode Annotate(JsonSchemaExporterContext context, JsonNode schema)
    {
        if (schema is not JsonObject node)
        {
            return schema;
        }

        var attributes = new List<object>();
        if (context.PropertyInfo is { } property)
        {
            attributes.AddRange(property.AttributeProvider?.GetCustomAttributes(inherit: true) ?? []);
            attributes.AddRange(property.AssociatedParameter?.AttributeProvider?.GetCustomAttributes(inherit: true) ?? []);
        }
        else if (context.Path.IsEmpty)
        {
            attributes.AddRange(context.TypeInfo.Type.GetCustomAttributes<DescriptionAttribute>(inherit: true));
        }

        var isString = node["type"] is { } t && (t.ToJsonString().Contains("\"string\"", StringComparison.Ordinal));
        foreach (var attribute in attributes)
        {
            switch (attribute)
            {
                case DescriptionAttribute description:
                    node["description"] = description.Description;
                    break;
                case RangeAttribute range when range.Minimum is int or double && range.Maximum is int or double:
                    node["minimum"] = Convert.ToDouble(range.Minimum, CultureInfo.InvariantCulture);
                    node["maximum"] = Convert.ToDouble(range.Maximum, CultureInfo.InvariantCulture);
                    break;
                case StringLengthAttribute length:
                    node["maxLength"] = length.MaximumLength;
                    if (length.MinimumLength > 0)
                    {
                        node["minLength"] = length.MinimumLength;
                    }

                    break;
                case MinLengthAttribute min:
                    node[isString ? "minLength" : "minItems"] = min.Length;
                    break;
                case MaxLengthAttribute max:
                    node[isString ? "maxLength" : "maxItems"] = max.Length;
                    break;
                case RequiredAttribute { AllowEmptyStrings: false } when isString && node["minLength"] is null:
                    node["minLength"] = 1;
                    break;
                case RegularExpressionAttribute regex:
                    node["pattern"] = regex.Pattern;
                    break;
                case AllowedValuesAttribute allowed:
                    node["enum"] = new JsonArray([.. allowed.Values.Select(v => JsonValue.Create(v?.ToString()))]);
                    break;
            }
        }

        return node;
    }
}
