using System.Text;
using System.Text.RegularExpressions;

namespace Centaur.Tests.EndToEnd;

/// <summary>
/// One bad request and what must come back: <paramref name="Status"/> (0 = any 4xx) and <paramref name="Code"/>
/// (null = any stable code, "" = none, for a browser redirect). <paramref name="MayGrow"/> names the audit tables
/// that record a refused attempt on purpose; every other table must keep its row count.
/// </summary>
internal sealed record SweepCase(string Endpoint, string Name, RawHttp.Request Request, int Status, string? Code, IReadOnlySet<string>? MayGrow = null)
{
    public override string ToString() => $"{Endpoint} [{Name}]";

    public static RawHttp.Request Http(string method, string target, string? authorization = null, string? body = null,
        string contentType = "application/json", long? declaredLength = null, params (string Name, string Value)[] headers)
    {
        var all = new List<(string, string)>(headers);
        if (authorization is not null)
        {
            all.Add(("Authorization", authorization));
        }

        if (body is not null)
        {
            all.Add(("Content-Type", contentType));
        }

        return new RawHttp.Request(method, target, all, Encoding.UTF8.GetBytes(body ?? ""), declaredLength);
    }

    /// <summary>A JSON request whose body is raw bytes (e.g. not UTF-8).</summary>
    public static RawHttp.Request Http(string method, string target, string? authorization, byte[] body) =>
        Http(method, target, authorization, "") with { Body = body };
}

/// <summary>Sends sweep cases one by one and collects every broken promise, so one run reports all of them.</summary>
internal sealed partial class SweepRunner(Uri server, TableCounts tables, IReadOnlyCollection<string> secrets, Func<RawHttp.Response, string?> codeOf)
{
    /// <summary>What a leaked file would look like (/etc/passwd, an appsettings file).</summary>
    private static readonly string[] s_fileMarkers = ["root:x:0:0", "\"ConnectionStrings\"", "\"Logging\": {"];

    public int Sent { get; private set; }

    public async Task<List<string>> RunAsync(IEnumerable<SweepCase> cases, CancellationToken cancellationToken)
    {
        var failures = new List<string>();
        foreach (var sweep in cases)
        {
            var before = await tables.ReadAsync(cancellationToken);
            RawHttp.Response response;
            try
            {
                response = await RawHttp.SendAsync(server, sweep.Request, cancellationToken);
            }
            catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or OperationCanceledException or FormatException
                                       && !cancellationToken.IsCancellationRequested)
            {
                failures.Add($"{sweep}: no answer ({ex.GetType().Name}: {ex.Message})");
                continue;
            }

            Sent++;
            var after = await tables.ReadAsync(cancellationToken);
            var problems = Check(sweep, response, TableCounts.Diff(before, after, sweep.MayGrow ?? new HashSet<string>()));
            if (problems.Count > 0)
            {
                var body = response.Body.Length > 300 ? response.Body[..300] + "…" : response.Body;
                failures.Add($"{sweep}: {string.Join("; ", problems)} — got {response.Status} {body}");
            }
        }

        return failures;
    }

    private List<string> Check(SweepCase sweep, RawHttp.Response response, IReadOnlyList<string> writes)
    {
        var problems = new List<string>();
        if (response.Status >= 500 && sweep.Status < 500)
        {
            problems.Add("a 5xx");
        }
        else if (sweep.Status == 0 ? response.Status is < 400 or > 499 : response.Status != sweep.Status)
        {
            problems.Add($"status {response.Status}, expected {(sweep.Status == 0 ? "4xx" : sweep.Status)}");
        }

        var code = codeOf(response);
        if (sweep.Code is null ? code is null || !StableCode().IsMatch(code) : sweep.Code.Length > 0 && code != sweep.Code)
        {
            problems.Add($"code '{code ?? "(none)"}', expected {(sweep.Code is null ? "a stable code" : $"'{sweep.Code}'")}");
        }

        if (writes.Count > 0)
        {
            problems.Add($"wrote {string.Join(", ", writes)}");
        }

        var everything = response.HeadText + "\n" + response.Body;
        foreach (var secret in secrets.Where(s => everything.Contains(s, StringComparison.Ordinal)))
        {
            problems.Add($"leaked a secret ({secret[..4]}…)");
        }

        foreach (var marker in s_fileMarkers.Where(m => response.Body.Contains(m, StringComparison.Ordinal)))
        {
            problems.Add($"served a file ({marker})");
        }

        return problems;
    }

    [GeneratedRegex("^[a-z][a-z0-9_]{2,63}$")]
    private static partial Regex StableCode();
}
