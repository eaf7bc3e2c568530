namespace Centaur.Api.Tools;

internal static partial class ToolsLog
{
    [LoggerMessage(1801, LogLevel.Error, "Tool {Tool}.{Method} failed for thread {ThreadKey}")]
    public static partial void ToolFailed(ILogger logger, Exception exception, string tool, string method, string threadKey);

    [LoggerMessage(1811, LogLevel.Warning, "IronProxy's CA could not be fetched from {Proxy}; TLS through the proxy fails until it can")]
    public static partial void CaUnavailable(ILogger logger, Exception exception, Uri proxy);

    [LoggerMessage(1812, LogLevel.Warning, "IronProxy:Url is empty: tools call upstreams directly, outside the egress audit (development only)")]
    public static partial void DirectEgress(ILogger logger);
}
