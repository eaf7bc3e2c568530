namespace Centaur.IronProxy.Policy;

internal enum CredentialFormat
{
    Raw,
    Bearer,
    Basic,
}

/// <summary>
/// One egress_bindings row: <c>centaur-placeholder:&lt;Name&gt;</c> in one of <see cref="Headers"/> becomes the value
/// of secret <see cref="Secret"/>, only on requests dialled to a host matching <see cref="HostPattern"/>.
/// </summary>
internal sealed record CredentialBinding(
    string Name,
    string HostPattern,
    IReadOnlyList<string> Headers,
    CredentialFormat Format,
    string Secret,
    bool AllowPassthrough)
{
    public const string PlaceholderPrefix = "centaur-placeholder:";

    public string Placeholder { get; } = PlaceholderPrefix + Name;

    public bool BindsHeader(string header)
    {
        foreach (var h in Headers)
        {
            if (string.Equals(h, header, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
