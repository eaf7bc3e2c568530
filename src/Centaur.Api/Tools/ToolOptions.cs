using System.ComponentModel.DataAnnotations;

namespace Centaur.Api.Tools;

/// <summary>The tool gateway's settings (section "Tools").</summary>
internal sealed class ToolOptions
{
    public const string Section = "Tools";

    /// <summary>An upstream call of a tool that takes longer fails.</summary>
    [Range(1, 3600)]
    public int UpstreamTimeoutSeconds { get; set; } = 60;

    /// <summary>The largest upstream response a tool reads.</summary>
    [Range(1024, 256 * 1024 * 1024)]
    public int MaxResponseBytes { get; set; } = 5 * 1024 * 1024;

    /// <summary>
    /// Without IronProxy (IronProxy:Url empty, development only), tools connect directly and refuse private,
    /// loopback and link-local addresses unless this is true. With the proxy, its own address rules apply.
    /// </summary>
    public bool AllowPrivateAddresses { get; set; }
}
