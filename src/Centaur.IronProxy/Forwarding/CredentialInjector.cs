using System.Text;
using Centaur.IronProxy.Policy;
using Centaur.IronProxy.Secrets;

namespace Centaur.IronProxy.Forwarding;

/// <summary>
/// The egress policy applied to one outgoing request, after YARP copied the headers: strip what the host may not
/// see, swap exact placeholders for secrets in bound headers only, refuse placeholders aimed at other hosts and
/// real-looking credentials aimed at bound hosts.
/// </summary>
internal sealed class CredentialInjector(ISecretStore secrets)
{
    private const string Marker = CredentialBinding.PlaceholderPrefix;

    /// <summary>Null when the request may go on (possibly with a report-mode note in <paramref name="egress"/>).</summary>
    public EgressDenial? Apply(HttpContext context, HttpRequestMessage request, EgressContext egress)
    {
        var target = egress.Target;
        StripHeaders(context, request, target);

        EgressDenial? denial = null;
        if (target.Bindings.Length > 0 && egress.Scheme != "https")
        {
            return EgressDenial.PlainHttpCredentials(egress.Host);
        }

        List<(string Name, string Value)>? swaps = null;
        foreach (var header in request.Headers.NonValidated)
        {
            var value = header.Value.Count == 1 ? header.Value.ToString() : string.Join(", ", header.Value);
            var bound = BindingFor(target.Bindings, header.Key);
            if (bound is not null)
            {
                var binding = MatchPlaceholder(value, target.Bindings, header.Key);
                if (binding is not null)
                {
                    var secret = secrets.Get(binding.Secret);
                    if (secret is null)
                    {
                        return EgressDenial.SecretUnavailable(binding.Name, binding.Secret);
                    }

                    (swaps ??= []).Add((header.Key, Render(value, binding, secret)));
                    egress.Inject(binding.Name);
                    continue;
                }

                denial ??= CheckPlaceholders(value, egress) ?? EgressDenial.CredentialNotPlaceholder(header.Key, egress.Host, bound.Name);
                continue;
            }

            denial ??= CheckPlaceholders(value, egress);
        }

        if (swaps is not null)
        {
            foreach (var (name, swapped) in swaps)
            {
                request.Headers.Remove(name);
                request.Headers.TryAddWithoutValidation(name, swapped);
            }
        }

        denial ??= CheckPlaceholders(context.Request.Path.Value, egress) ?? CheckPlaceholders(Unescape(context.Request.QueryString.Value), egress);

        // Fail closed: a bound host only ever gets requests that carried its placeholder.
        if (denial is null && target.Bindings.Length > 0 && egress.Injected is null)
        {
            var first = target.Bindings[0];
            var challenge = first.Format == CredentialFormat.Basic && !request.Headers.Contains("authorization") ? "centaur-ironproxy" : null;
            denial = EgressDenial.MissingPlaceholder(egress.Host, first.Name, first.Headers, challenge);
        }

        return denial;
    }

    /// <summary>
    /// The binding whose placeholder this header value carries in a shape its format allows, or null. Only an exact
    /// token counts: a placeholder embedded in a longer value would let an upstream that echoes bad keys reflect the
    /// secret back to the sandbox.
    /// </summary>
    internal static CredentialBinding? MatchPlaceholder(string value, CredentialBinding[] bindings, string header)
    {
        foreach (var binding in bindings)
        {
            if (!binding.BindsHeader(header))
            {
                continue;
            }

            var matches = binding.Format switch
            {
                CredentialFormat.Raw => value == binding.Placeholder,
                CredentialFormat.Bearer => value == binding.Placeholder
                    || (value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && value.AsSpan(7).Trim().SequenceEqual(binding.Placeholder)),
                CredentialFormat.Basic => TryDecodeBasic(value, out var user, out var password)
                    && (password == binding.Placeholder || user == binding.Placeholder),
                _ => false,
            };
            if (matches)
            {
                return binding;
            }
        }

        return null;
    }

    /// <summary>The header value with the binding's placeholder replaced by the secret, in the same shape.</summary>
    internal static string Render(string value, CredentialBinding binding, string secret)
    {
        if (binding.Format == CredentialFormat.Basic && TryDecodeBasic(value, out var user, out var password))
        {
            user = user == binding.Placeholder ? secret : user;
            password = password == binding.Placeholder ? secret : password;
            return "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}"));
        }

        return value == binding.Placeholder ? secret : "Bearer " + secret;
    }

    private EgressDenial? CheckPlaceholders(string? value, EgressContext egress)
    {
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }

        var decoded = value.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase) && TryDecodeBasic(value, out var user, out var password)
            ? $"{user}:{password}"
            : value;
        var at = decoded.IndexOf(Marker, StringComparison.OrdinalIgnoreCase);
        while (at >= 0)
        {
            var start = at + Marker.Length;
            var end = start;
            while (end < decoded.Length && IsNameChar(decoded[end]))
            {
                end++;
            }

            var name = decoded[start..end].ToLowerInvariant();
            var denial = CheckPlaceholder(name, egress);
            if (denial is not null)
            {
                return denial;
            }

            at = decoded.IndexOf(Marker, end, StringComparison.OrdinalIgnoreCase);
        }

        return null;
    }

    private static EgressDenial? CheckPlaceholder(string name, EgressContext egress)
    {
        foreach (var binding in egress.Target.Bindings)
        {
            if (binding.Name == name)
            {
                return null; // its own host: never swapped outside its bound headers, but nothing leaks either
            }
        }

        var named = egress.Policy.BindingsNamed(name);
        if (named.Length == 0)
        {
            return EgressDenial.PlaceholderUnknown(name, egress.Host);
        }

        return named.Any(b => b.AllowPassthrough) ? null : EgressDenial.PlaceholderWrongHost(name, egress.Host, named.Select(b => b.HostPattern));
    }

    private static void StripHeaders(HttpContext context, HttpRequestMessage request, ResolvedHost target)
    {
        var allow = target.Rule?.Headers ?? HeaderAllowlist.All;
        List<string>? remove = null;

        // RFC 9110 §7.6.1: headers the client named in Connection are hop-by-hop too (YARP drops only the standard set).
        foreach (var token in context.Request.Headers.Connection)
        {
            foreach (var name in (token ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (!name.Equals("upgrade", StringComparison.OrdinalIgnoreCase))
                {
                    (remove ??= []).Add(name);
                }
            }
        }

        foreach (var header in request.Headers.NonValidated)
        {
            var name = header.Key;
            if (IsProxyOnly(name) || (!allow.Allows(name) && BindingFor(target.Bindings, name) is null))
            {
                (remove ??= []).Add(name);
            }
        }

        if (remove is not null)
        {
            foreach (var name in remove)
            {
                request.Headers.Remove(name);
                request.Content?.Headers.Remove(name);
            }
        }
    }

    // Headers that describe the sandbox, the hop or the sandbox's traces, never the request: they would expose the
    // sandbox upstream.
    private static bool IsProxyOnly(string name) =>
        name.StartsWith("x-forwarded-", StringComparison.OrdinalIgnoreCase)
        || name.StartsWith("proxy-", StringComparison.OrdinalIgnoreCase)
        || name.Equals("forwarded", StringComparison.OrdinalIgnoreCase)
        || name.Equals("x-real-ip", StringComparison.OrdinalIgnoreCase)
        || name.Equals("via", StringComparison.OrdinalIgnoreCase)
        || name.Equals("traceparent", StringComparison.OrdinalIgnoreCase)
        || name.Equals("tracestate", StringComparison.OrdinalIgnoreCase)
        || name.Equals("baggage", StringComparison.OrdinalIgnoreCase)
        || name.Equals(EgressForwarder.SandboxTokenHeader, StringComparison.OrdinalIgnoreCase);

    private static CredentialBinding? BindingFor(CredentialBinding[] bindings, string header)
    {
        foreach (var binding in bindings)
        {
            if (binding.BindsHeader(header))
            {
                return binding;
            }
        }

        return null;
    }

    private static bool IsNameChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-';

    private static string? Unescape(string? query) =>
        query is null || !query.Contains('%', StringComparison.Ordinal) ? query : Uri.UnescapeDataString(query.Replace('+', ' '));

    internal static bool TryDecodeBasic(string value, out string user, out string password)
    {
        user = password = "";
        if (!value.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        try
        {
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(value[6..].Trim()));
            var colon = decoded.IndexOf(':', StringComparison.Ordinal);
            (user, password) = colon < 0 ? (decoded, "") : (decoded[..colon], decoded[(colon + 1)..]);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
