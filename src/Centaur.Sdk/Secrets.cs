namespace Centaur.Sdk;

/// <summary>Placeholders IronProxy resolves on the wire: <c>centaur-placeholder:&lt;name&gt;</c>.</summary>
public static class Secrets
{
    public const string PlaceholderPrefix = "centaur-placeholder:";

    /// <summary>Names are matched case-insensitively by the proxy; the placeholder carries the lower-case form.</summary>
    public static string Placeholder(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (name.Length > 128 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
        {
            throw new ArgumentException("a secret name is 1-128 characters of letters, digits, '-', '_' and '.'", nameof(name));
        }

        return PlaceholderPrefix + name.ToLowerInvariant();
    }
}
