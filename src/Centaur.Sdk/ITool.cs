namespace Centaur.Sdk;

/// <summary>
/// A tool the agent reaches with <c>call &lt;tool&gt; &lt;method&gt; '&lt;json&gt;'</c> from its sandbox. Tools run in the
/// API (the kernel's built-ins, or an org overlay's assembly), never in the sandbox, so they can hold credentials by
/// placeholder and reach upstreams through the proxy.
/// </summary>
public interface ITool
{
    /// <summary>1-64 characters of a-z, 0-9, '_' and '-'; a later overlay's tool with the same name replaces this one.</summary>
    string Name { get; }

    string Description { get; }

    IReadOnlyList<ToolMethod> Methods { get; }
}
