namespace Centaur.IronProxy.Secrets;

/// <summary>Where real secret values come from. Values stay in the proxy's memory; never logged, never returned.</summary>
internal interface ISecretStore
{
    /// <summary>The value of <paramref name="name"/>, or null when it is unknown, empty or unsafe for a header.</summary>
    string? Get(string name);
}
