using System.Diagnostics;
using System.Net;
using System.Net.WebSockets;
using System.Text;

namespace Centaur.Tests.IronProxy;

/// <summary>SSE, large bodies and WebSockets pass through the tunnel unbuffered.</summary>
[Collection(IronProxyCollection.Name)]
public sealed class StreamingTests(IronProxyFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AnSseResponseOf50EventsArrivesEventByEvent()
    {
        using var client = fixture.CreateProxiedClient(fixture.Token("test:stream:sse"));
        using (var warm = await client.GetAsync("https://other.test/sse?n=1&intervalMs=1", Ct))
        {
            warm.EnsureSuccessStatusCode(); // tunnel and TLS set up: what follows measures streaming only
        }

        var clock = Stopwatch.StartNew();
        using var response = await client.GetAsync("https://other.test/sse?n=50&intervalMs=50", HttpCompletionOption.ResponseHeadersRead, Ct);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(Ct));
        var arrivals = new List<double>();
        while (await reader.ReadLineAsync(Ct) is { } line)
        {
            if (line.StartsWith("data:", StringComparison.Ordinal))
            {
                arrivals.Add(clock.Elapsed.TotalMilliseconds);
            }
        }

        Assert.Equal(50, arrivals.Count);
        Assert.True(arrivals[0] < 100, $"first event after {arrivals[0]:F0} ms");
        // Event by event: the middle event arrives long before the last one was even produced.
        Assert.True(arrivals[49] - arrivals[0] > 49 * 50 * 0.8, $"spread {arrivals[49] - arrivals[0]:F0} ms");
        Assert.True(arrivals[25] < arrivals[49] - 1000, $"event 25 at {arrivals[25]:F0} ms, event 49 at {arrivals[49]:F0} ms");
    }

    [Fact]
    public async Task A100MiBUploadAndDownloadPassWithFlatProxyMemory()
    {
        const long Size = 100L * 1024 * 1024;
        var pid = fixture.FindProxyProcessId();
        using var client = fixture.CreateProxiedClient(fixture.Token("test:stream:large"));
        await UploadAsync(client, 8L * 1024 * 1024);
        await DownloadAsync(client, 8L * 1024 * 1024);
        var before = ResidentBytes(pid);

        var uploaded = await UploadAsync(client, Size);
        var downloaded = await DownloadAsync(client, Size);
        var after = ResidentBytes(pid);

        Assert.Equal(Size, uploaded);
        Assert.Equal(Size, downloaded);
        Assert.True(after - before < 64L * 1024 * 1024, $"proxy RSS grew from {before >> 20} MiB to {after >> 20} MiB");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task AWebSocketEchoesThroughTheProxy(int httpMajor)
    {
        var handler = new SocketsHttpHandler
        {
            Proxy = new WebProxy(fixture.ProxyUrl) { Credentials = new NetworkCredential("sandbox", fixture.Token("test:stream:ws")) },
            UseProxy = true,
        };
        handler.SslOptions.RemoteCertificateValidationCallback = fixture.TrustProxyCa;
        using var invoker = new HttpMessageInvoker(handler);
        using var socket = new ClientWebSocket();
        socket.Options.HttpVersion = httpMajor == 1 ? HttpVersion.Version11 : HttpVersion.Version20;
        socket.Options.HttpVersionPolicy = HttpVersionPolicy.RequestVersionExact;

        await socket.ConnectAsync(new Uri("wss://other.test/ws"), invoker, Ct);
        await socket.SendAsync(Encoding.UTF8.GetBytes("ping through the proxy"), WebSocketMessageType.Text, true, Ct);
        var buffer = new byte[1024];
        var received = await socket.ReceiveAsync(buffer, Ct);
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", Ct);

        Assert.Equal("ping through the proxy", Encoding.UTF8.GetString(buffer, 0, received.Count));
    }

    private static async Task<long> UploadAsync(HttpClient client, long size)
    {
        using var content = new StreamContent(new PatternStream(size));
        using var response = await client.PostAsync("https://other.test/upload", content, Ct);
        response.EnsureSuccessStatusCode();
        using var json = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        return json.RootElement.GetProperty("length").GetInt64();
    }

    private static async Task<long> DownloadAsync(HttpClient client, long size)
    {
        using var response = await client.GetAsync($"https://other.test/download?bytes={size}", HttpCompletionOption.ResponseHeadersRead, Ct);
        response.EnsureSuccessStatusCode();
        await using var stream = await response.Content.ReadAsStreamAsync(Ct);
        var buffer = new byte[256 * 1024];
        long total = 0;
        int read;
        while ((read = await stream.ReadAsync(buffer, Ct)) > 0)
        {
            total += read;
        }

        return total;
    }

    private static long ResidentBytes(int pid)
    {
        var line = File.ReadAllLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
    }

    /// <summary>A generated, non-seekable body: sent chunked, never held in memory.</summary>
    private sealed class PatternStream(long length) : Stream
    {
        private long _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => _position;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = (int)Math.Min(count, length - _position);
            for (var i = 0; i < n; i++)
            {
                buffer[offset + i] = (byte)((_position + i) % 251);
            }

            _position += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
