using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Centaur.Tests.Infrastructure;
using Npgsql;

namespace Centaur.Tests.Tools;

/// <summary>
/// Calls the tool gateway the way Centaur.Sandbox's <c>call</c> does: POST /tools/&lt;tool&gt;/&lt;method&gt; with an sbx1
/// token for a thread, signed with the test API's sandbox-token-key.
/// </summary>
public sealed class ToolCaller(ApiProcess api, string threadKey, string sandboxId = "sbx-test", string tokenKey = ToolCaller.DefaultTokenKey)
{
    /// <summary>The key ApiProcess gives the API (Centaur__SandboxTokenKey) unless a test sets another.</summary>
    public const string DefaultTokenKey = "test-sandbox-token-key-0123456789abcdef";

    public string ThreadKey => threadKey;

    private string Token(DateTimeOffset expires)
    {
        var payload = Base64Url(Encoding.UTF8.GetBytes(
            new JsonObject { ["t"] = threadKey, ["s"] = sandboxId, ["exp"] = expires.ToUnixTimeSeconds() }.ToJsonString()));
        var signature = HMACSHA256.HashData(Encoding.UTF8.GetBytes(tokenKey), Encoding.UTF8.GetBytes("sbx1." + payload));
        return $"sbx1.{payload}.{Base64Url(signature)}";
    }

    public HttpClient CreateClient(DateTimeOffset? expires = null)
    {
        var http = api.CreateClient(apiKey: null);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer",
            Token(expires ?? DateTimeOffset.UtcNow.AddHours(1)));
        return http;
    }

    public async Task<(HttpStatusCode Status, JsonObject Body)> CallAsync(string tool, string method, string json = "{}")
    {
        using var http = CreateClient();
        using var response = await http.PostAsync($"/tools/{tool}/{method}", new StringContent(json, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonNode.Parse(text.Length == 0 ? "{}" : text) as JsonObject ?? []);
    }

    /// <summary>The audit rows of this thread's calls, oldest first: (tool, method, outcome, execution id).</summary>
    public async Task<List<(string Tool, string Method, string Outcome, long? ExecutionId)>> AuditAsync()
    {
        await using var db = NpgsqlDataSource.Create(api.ConnectionString);
        await using var command = db.CreateCommand("SELECT tool, method, outcome, execution_id FROM tool_calls WHERE thread_key = @t ORDER BY id");
        command.Parameters.AddWithValue("t", threadKey);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<(string, string, string, long?)>();
        while (await reader.ReadAsync())
        {
            rows.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetInt64(3)));
        }

        return rows;
    }

    public async Task<long> LedgerCountAsync()
    {
        await using var db = NpgsqlDataSource.Create(api.ConnectionString);
        await using var command = db.CreateCommand("SELECT count(*) FROM side_effects WHERE thread_key = @t");
        command.Parameters.AddWithValue("t", threadKey);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
