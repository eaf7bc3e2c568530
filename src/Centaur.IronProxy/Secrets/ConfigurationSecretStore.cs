namespace Centaur.IronProxy.Secrets;

/// <summary>
/// Secrets from configuration <c>Secrets:&lt;name&gt;</c> (the AppHost sets Secrets__anthropic-api-key from its
/// parameter). A value with CR, LF or NUL is refused: it would split the header it is written into.
/// </summary>
internal sealed class ConfigurationSecretStore(IConfiguration configuration) : ISecretStore
{
    private readonly IConfigurationSection _secrets = configuration.GetSection("Secrets");

    public string? Get(string name)
    {
        var value = _secrets[name];
        return string.IsNullOrEmpty(value) || value.AsSpan().IndexOfAny('\r', '\n', '\0') >= 0 ? null : value;
    }
}
