using System.Diagnostics;
using System.Text.Json;

namespace Centaur.Tests.IronProxy;

/// <summary>
/// Node as sandboxes run it, with no packages: its built-in fetch ignores HTTPS_PROXY (before Node 22.21/24, where
/// the NODE_USE_ENV_PROXY=1 sandboxes carry turns it on; this machine has Node 20), so it reaches the proxy by base
/// URL (reverse mode); its core http/tls modules speak CONNECT like any HTTPS_PROXY-aware library.
/// </summary>
[Collection(IronProxyCollection.Name)]
public sealed class NodeClientTests(IronProxyFixture fixture)
{
    private const string Script = """
        const http = require('http'), https = require('https'), tls = require('tls'), fs = require('fs');
        const [proxyHost, proxyPort, token, caFile] = process.argv.slice(2);
        const ca = fs.readFileSync(caFile);
        (async () => {
          const viaFetch = await fetch(`http://${proxyHost}:${proxyPort}/fake-anthropic/echo/node-fetch`, {
            method: 'POST', body: '{"hello":"node"}',
            headers: { 'x-centaur-sandbox-token': token, 'x-api-key': 'centaur-placeholder:anthropic', 'content-type': 'application/json' } });
          const fetched = { status: viaFetch.status, body: await viaFetch.json() };
          const tunnelled = await new Promise((resolve, reject) => {
            const connect = http.request({ host: proxyHost, port: proxyPort, method: 'CONNECT', path: 'api.anthropic.test:443',
              headers: { 'proxy-authorization': 'Basic ' + Buffer.from('sandbox:' + token).toString('base64') } });
            connect.on('connect', (res, socket) => {
              if (res.statusCode !== 200) { reject(new Error('CONNECT ' + res.statusCode)); return; }
              const request = https.request({ host: 'api.anthropic.test', path: '/echo/node-connect', port: 443, defaultPort: 443,
                headers: { authorization: 'Bearer centaur-placeholder:anthropic' },
                createConnection: () => tls.connect({ socket, servername: 'api.anthropic.test', ca }) }, response => {
                let data = ''; response.on('data', d => data += d); response.on('end', () => resolve({ status: response.statusCode, body: JSON.parse(data) }));
              });
              request.on('error', reject); request.end();
            });
            connect.on('error', reject); connect.end();
          });
          console.log(JSON.stringify({ fetched, tunnelled }));
        })().catch(e => { console.error(e); process.exit(1); });
        """;

    [Fact]
    public async Task NodesFetchAndCoreHttpsReachTheBoundHostWithTheRealKey()
    {
        var script = Path.Combine(Path.GetTempPath(), $"centaur-node-{Guid.NewGuid():N}.js");
        await File.WriteAllTextAsync(script, Script, TestContext.Current.CancellationToken);
        try
        {
            var start = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var arg in new[] { script, fixture.ProxyUrl.Host, fixture.ProxyUrl.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), fixture.Token("test:node:1"), fixture.ProxyCaFile })
            {
                start.ArgumentList.Add(arg);
            }

            using var node = Process.Start(start)!;
            var stdout = node.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
            var stderr = node.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(60));
            await node.WaitForExitAsync(timeout.Token);

            Assert.True(node.ExitCode == 0, await stderr);
            using var result = JsonDocument.Parse(await stdout);
            foreach (var (name, header) in new[] { ("fetched", "x-api-key"), ("tunnelled", "authorization") })
            {
                var response = result.RootElement.GetProperty(name);
                Assert.Equal(200, response.GetProperty("status").GetInt32());
                var sent = response.GetProperty("body").GetProperty("headers").GetProperty(header).GetString();
                Assert.EndsWith(IronProxyFixture.AnthropicKey, sent, StringComparison.Ordinal);
            }
        }
        finally
        {
            File.Delete(script);
        }
    }
}
