namespace Centaur.IronProxy.Forwarding;

internal enum EgressMode
{
    /// <summary>A request decrypted inside a CONNECT tunnel (HTTPS_PROXY).</summary>
    Tunnel,

    /// <summary>A plain absolute-form <c>http://</c> request (HTTP_PROXY).</summary>
    Http,

    /// <summary>A request to a reverse-proxy route (<c>/anthropic/…</c>, for clients configured by base URL).</summary>
    Reverse,

    /// <summary>The CONNECT itself (audited only when refused).</summary>
    Connect,
}
