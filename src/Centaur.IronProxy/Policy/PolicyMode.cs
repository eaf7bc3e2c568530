namespace Centaur.IronProxy.Policy;

internal enum PolicyMode
{
    /// <summary>Denials are answered.</summary>
    Enforce,

    /// <summary>Would-be denials are audited as 'report' and let through (identity and the address guard still apply).</summary>
    Report,
}
