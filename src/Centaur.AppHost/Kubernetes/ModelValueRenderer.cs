using System.Globalization;
using System.Text;
using Aspire.Hosting.ApplicationModel;

namespace Aspire.Hosting.Kubernetes;

/// <summary>
/// Turns a value from the app model (a string, a parameter, an endpoint, a connection string, a reference expression)
/// into what it is inside the cluster: literal text plus references to secret parameters. A value is secret-derived
/// when any part of it comes from a secret parameter; that is decided by the model's types, never by a key's name.
/// </summary>
internal sealed class ModelValueRenderer
{
    public static IReadOnlyList<ValueSegment> Render(object? value)
    {
        var segments = new List<ValueSegment>();
        Append(segments, value, format: null);
        return Merge(segments);
    }

    private static void Append(List<ValueSegment> segments, object? value, string? format)
    {
        switch (value)
        {
            case null:
                return;
            case string text:
                segments.Add(new ValueSegment(Apply(format, text), null));
                return;
            case ParameterResource { Secret: true } secret:
                if (format is not null && format != "uri")
                {
                    throw new NotSupportedException($"Format '{format}' on secret parameter '{secret.Name}' is not supported.");
                }

                // A secret cannot be URI-encoded at deploy time; the generated ones are alphanumeric, and the
                // README asks for URL-safe values for the rest.
                segments.Add(new ValueSegment(null, secret));
                return;
            case ParameterResource parameter:
                throw new NotSupportedException(
                    $"Non-secret parameter '{parameter.Name}' has no deploy-time value; give it a default or make it a secret.");
            case ReferenceExpression { IsConditional: true } conditional:
                var condition = Render(conditional.Condition);
                if (condition.Any(s => s.SecretParameter is not null))
                {
                    throw new NotSupportedException("A condition that depends on a secret cannot be decided at deploy time.");
                }

                var chosen = string.Concat(condition.Select(s => s.Literal)) == conditional.MatchValue
                    ? conditional.WhenTrue
                    : conditional.WhenFalse;
                Append(segments, chosen, format);
                return;
            case ReferenceExpression expression:
                AppendExpression(segments, expression);
                return;
            case ConnectionStringReference reference:
                Append(segments, reference.Resource.ConnectionStringExpression, format);
                return;
            case IResourceWithConnectionString resource:
                Append(segments, resource.ConnectionStringExpression, format);
                return;
            case EndpointReference endpoint:
                segments.Add(new ValueSegment(Apply(format, Endpoint(endpoint, EndpointProperty.Url)), null));
                return;
            case EndpointReferenceExpression property:
                segments.Add(new ValueSegment(Apply(format, Endpoint(property.Endpoint, property.Property)), null));
                return;
            case bool flag:
                segments.Add(new ValueSegment(Apply(format, flag ? "true" : "false"), null));
                return;
            case IFormattable formattable:
                segments.Add(new ValueSegment(Apply(format, formattable.ToString(null, CultureInfo.InvariantCulture)), null));
                return;
            default:
                throw new NotSupportedException($"A value of type {value.GetType().Name} cannot be rendered into a manifest yet.");
        }
    }

    /// <summary>Format holds literals (braces doubled) and {index} holes for ValueProviders, in order.</summary>
    private static void AppendExpression(List<ValueSegment> segments, ReferenceExpression expression)
    {
        var format = expression.Format;
        var literal = new StringBuilder();
        for (var i = 0; i < format.Length; i++)
        {
            var c = format[i];
            if ((c == '{' || c == '}') && i + 1 < format.Length && format[i + 1] == c)
            {
                literal.Append(c);
                i++;
            }
            else if (c == '{')
            {
                var end = format.IndexOf('}', i);
                var hole = format[(i + 1)..end];
                var index = int.Parse(hole.Split(':')[0], CultureInfo.InvariantCulture);
                segments.Add(new ValueSegment(literal.ToString(), null));
                literal.Clear();
                var providerFormat = index < expression.StringFormats.Count ? expression.StringFormats[index] : null;
                Append(segments, expression.ValueProviders[index], providerFormat);
                i = end;
            }
            else
            {
                literal.Append(c);
            }
        }

        segments.Add(new ValueSegment(literal.ToString(), null));
    }

    /// <summary>
    /// Inside the cluster services speak plain HTTP to each other (TLS ends at the ingress), so a reference to an
    /// https endpoint has no meaning there and is left out rather than pointing at a plain-text port.
    /// </summary>
    public static bool IsHttpsEndpoint(object? value) => value switch
    {
        EndpointReference endpoint => endpoint.Resource.Annotations.OfType<EndpointAnnotation>()
            .Single(a => a.Name == endpoint.EndpointName).UriScheme == "https",
        EndpointReferenceExpression property => IsHttpsEndpoint(property.Endpoint),
        _ => false,
    };

    /// <summary>Inside the cluster every resource is reached by its Service name on its target port.</summary>
    private static string Endpoint(EndpointReference endpoint, EndpointProperty property)
    {
        var annotation = endpoint.Resource.Annotations.OfType<EndpointAnnotation>()
            .Single(a => a.Name == endpoint.EndpointName);
        var host = endpoint.Resource.Name;
        var port = (annotation.TargetPort ?? KubernetesNames.HttpPort).ToString(CultureInfo.InvariantCulture);
        return property switch
        {
            EndpointProperty.Url => $"{annotation.UriScheme}://{host}:{port}",
            EndpointProperty.Host or EndpointProperty.IPV4Host => host,
            EndpointProperty.Port or EndpointProperty.TargetPort => port,
            EndpointProperty.Scheme => annotation.UriScheme,
            EndpointProperty.HostAndPort => $"{host}:{port}",
            EndpointProperty.TlsEnabled => "False",
            _ => throw new NotSupportedException($"Endpoint property {property} is not supported."),
        };
    }

    private static string Apply(string? format, string text) => format switch
    {
        null => text,
        "uri" => Uri.EscapeDataString(text),
        _ => throw new NotSupportedException($"Format '{format}' is not supported."),
    };

    private static List<ValueSegment> Merge(List<ValueSegment> segments)
    {
        var merged = new List<ValueSegment>();
        foreach (var segment in segments)
        {
            if (segment.Literal is { Length: 0 })
            {
                continue;
            }

            if (segment.Literal is not null && merged.Count > 0 && merged[^1].Literal is { } previous)
            {
                merged[^1] = new ValueSegment(previous + segment.Literal, null);
            }
            else
            {
                merged.Add(segment);
            }
        }

        return merged;
    }
}

/// <summary>Either literal text or a secret parameter, never both.</summary>
internal sealed record ValueSegment(string? Literal, ParameterResource? Secret)
{
    public string? SecretParameter => Secret?.Name;
}
