using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Centaur.IronProxy.Audit;
using Centaur.IronProxy.Certificates;
using Centaur.IronProxy.Forwarding;
using Centaur.IronProxy.Identity;
using Centaur.IronProxy.Policy;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace Centaur.IronProxy.Tunnel;

/// <summary>
/// Kestrel connection middleware: a connection that starts with CONNECT is answered here (Kestrel's HTTP layer
/// cannot hand a CONNECT's stream to the app), its TLS is terminated with a leaf minted for the CONNECT target, and
/// the decrypted stream goes back to Kestrel's own HTTP/1.1 and HTTP/2 handling with a <see cref="TunnelFeature"/>.
/// Any other connection passes through untouched, so one port serves tunnels, http:// and reverse routes.
/// </summary>
internal sealed class ConnectTunnelMiddleware(
    CertificateAuthority ca,
    PolicyStore policies,
    SandboxAuthenticator authenticator,
    AuditLog audit,
    BlockedHostNotifier blocked,
    IOptions<IronProxyOptions> options,
    ILogger<ConnectTunnelMiddleware> logger,
    TimeProvider time)
{
    private static readonly byte[] s_established = "HTTP/1.1 200 Connection Established\r\n\r\n"u8.ToArray();
    private static readonly List<SslApplicationProtocol> s_alpn = [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11];

    public async Task OnConnectionAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(options.Value.HandshakeTimeoutSeconds));
        ConnectHead? head;
        try
        {
            var raw = await ReadHeadAsync(connection.Transport.Input, deadline.Token);
            if (raw is null)
            {
                await next(connection);
                return;
            }

            if (!ConnectHead.TryParse(raw, out head))
            {
                await WriteRawAsync(connection, 400, "Bad Request", new EgressDenial(400, "bad_connect", "iron-proxy: malformed CONNECT request."));
                return;
            }
        }
        catch (OperationCanceledException)
        {
            return; // no complete head in time: drop the connection
        }
        catch (InvalidDataException)
        {
            await WriteRawAsync(connection, 431, "Request Header Fields Too Large", new EgressDenial(431, "connect_head_too_large", "iron-proxy: CONNECT head too large."));
            return;
        }

        if (!authenticator.TryAuthenticate(head.ProxyAuthorization, (connection.RemoteEndPoint as IPEndPoint)?.Address, out var identity))
        {
            var denial = EgressDenial.ProxyAuthenticationRequired();
            Audit(head, null, denial.Status, "deny", denial.Code);
            await WriteRawAsync(connection, 407, "Proxy Authentication Required", denial);
            return;
        }

        if (!policies.IsLoaded)
        {
            var denial = EgressDenial.PolicyNotLoaded();
            Audit(head, identity, denial.Status, "deny", denial.Code);
            await WriteRawAsync(connection, 503, "Service Unavailable", denial);
            return;
        }

        var policy = policies.Current;
        var tunnel = new TunnelFeature(head.Host, head.Port, identity);
        if (!policy.Allows(policy.Resolve(head.Host), head.Port, identity.ThreadKey))
        {
            var denial = EgressDenial.HostNotAllowed(head.Host, head.Port);
            if (policy.Mode == PolicyMode.Report)
            {
                tunnel = new TunnelFeature(head.Host, head.Port, identity) { Reported = denial };
            }
            else if (policy.DenyInTunnel)
            {
                tunnel = new TunnelFeature(head.Host, head.Port, identity) { Denial = denial };
            }
            else
            {
                // Refused at CONNECT (deny_in_tunnel off); in a tunnel the forwarder reports it per request.
                blocked.Report(identity.ThreadKey, head.Host, head.Port);
                Audit(head, identity, denial.Status, "deny", denial.Code);
                await WriteRawAsync(connection, 403, "Forbidden", denial);
                return;
            }
        }

        await connection.Transport.Output.WriteAsync(s_established, deadline.Token);
        await TerminateTlsAsync(connection, next, head, tunnel, deadline.Token);
    }

    private async Task TerminateTlsAsync(ConnectionContext connection, ConnectionDelegate next, ConnectHead head, TunnelFeature tunnel, CancellationToken deadline)
    {
        var original = connection.Transport;
        var ssl = new SslStream(new DuplexPipeStream(original), leaveInnerStreamOpen: true);
        try
        {
            try
            {
                await ssl.AuthenticateAsServerAsync(SelectOptions, head.Host, deadline);
            }
            catch (Exception ex) when (ex is AuthenticationException or IOException or OperationCanceledException)
            {
                // Typically a client that does not trust the proxy's CA: it fails closed, nothing was forwarded.
                logger.TunnelHandshakeFailed(head.Host, ex.Message);
                Audit(head, tunnel.Identity, 0, "deny", "tls_handshake_failed");
                return;
            }

            var tls = new TunnelTlsFeature(ssl.NegotiatedApplicationProtocol.Protocol);
            connection.Features.Set<ITlsConnectionFeature>(tls);
            connection.Features.Set<ITlsApplicationProtocolFeature>(tls);
            connection.Features.Set(tunnel);
            connection.Transport = new DuplexPipe(
                PipeReader.Create(ssl, new StreamPipeReaderOptions(leaveOpen: true)),
                PipeWriter.Create(ssl, new StreamPipeWriterOptions(leaveOpen: true)));
            await next(connection);
        }
        finally
        {
            connection.Transport = original;
            await ssl.DisposeAsync();
        }
    }

    // The TLS server name must be the CONNECT target: policy was decided for that host, and the leaf names it.
    private ValueTask<SslServerAuthenticationOptions> SelectOptions(SslStream stream, SslClientHelloInfo hello, object? state, CancellationToken cancellationToken)
    {
        var host = (string)state!;
        if (!string.IsNullOrEmpty(hello.ServerName) && !hello.ServerName.Equals(host, StringComparison.OrdinalIgnoreCase))
        {
            throw new AuthenticationException($"SNI '{hello.ServerName}' does not match the CONNECT target '{host}'");
        }

        return ValueTask.FromResult(new SslServerAuthenticationOptions
        {
            ServerCertificateContext = ca.GetServerContext(host.Trim('[', ']')),
            ApplicationProtocols = s_alpn,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            ClientCertificateRequired = false,
        });
    }

    private static async Task<string?> ReadHeadAsync(PipeReader input, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            switch (ConnectHead.Classify(buffer, out var end))
            {
                case ConnectHead.Peek.NotConnect:
                    input.AdvanceTo(buffer.Start); // Kestrel reads the same bytes again
                    return null;
                case ConnectHead.Peek.Complete:
                    var head = ConnectHead.Decode(buffer.Slice(0, end));
                    input.AdvanceTo(end); // a ClientHello sent in the same write stays in the pipe for SslStream
                    return head;
                case ConnectHead.Peek.TooLarge:
                    throw new InvalidDataException("CONNECT head too large");
            }

            if (result.IsCompleted)
            {
                input.AdvanceTo(buffer.Start);
                return buffer.IsEmpty ? null : throw new InvalidDataException("connection closed inside a CONNECT head");
            }

            input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private static async Task WriteRawAsync(ConnectionContext connection, int status, string reason, EgressDenial denial)
    {
        var body = EgressResponses.Serialize(denial);
        var head = new StringBuilder()
            .Append($"HTTP/1.1 {status} {reason}\r\n")
            .Append($"{EgressResponses.ErrorHeader}: {denial.Code}\r\n")
            .Append(status == 407 ? "Proxy-Authenticate: Basic realm=\"centaur-ironproxy\"\r\n" : "")
            .Append(status == 503 ? "Retry-After: 1\r\n" : "")
            .Append($"Content-Type: application/json\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n")
            .ToString();
        var output = connection.Transport.Output;
        await output.WriteAsync(Encoding.ASCII.GetBytes(head));
        await output.WriteAsync(body);
        await output.CompleteAsync();
    }

    private void Audit(ConnectHead head, SandboxIdentity? identity, int status, string decision, string reason) =>
        audit.Write(new AuditRecord(time.GetUtcNow(), identity?.ThreadKey, identity?.SandboxId, "connect", "CONNECT", "https",
            head.Host, head.Port, "", status, 0, 0, 0, [], decision, reason));
}
