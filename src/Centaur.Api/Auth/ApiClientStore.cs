using System.Collections.Concurrent;
using Npgsql;

namespace Centaur.Api.Auth;

internal sealed record ApiClient(long Id, string Name, string[] Scopes);

/// <summary>API clients with hashed keys. Lookups are cached briefly: a revoked key stops working within a minute.</summary>
internal sealed class ApiClientStore(NpgsqlDataSource db, TimeProvider time)
{
    private static readonly TimeSpan s_cacheFor = TimeSpan.FromSeconds(60);
    private readonly ConcurrentDictionary<string, (ApiClient Client, DateTimeOffset Until)> _cache = new();

    public async Task<ApiClient?> FindByKeyAsync(string key, CancellationToken cancellationToken)
    {
        var hash = Convert.ToHexString(ApiKeyAuthenticationHandler.Hash(key));
        var now = time.GetUtcNow();
        if (_cache.TryGetValue(hash, out var cached) && cached.Until > now)
        {
            return cached.Client;
        }

        const string Sql = "SELECT id, name, scopes FROM api_clients WHERE key_hash = @hash AND revoked_at IS NULL";
        await using var command = db.CreateCommand(Sql);
        command.Parameters.AddWithValue("hash", Convert.FromHexString(hash));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        var client = new ApiClient(reader.GetInt64(0), reader.GetString(1), reader.GetFieldValue<string[]>(2));
        _cache[hash] = (client, now + s_cacheFor);
        return client;
    }

    /// <summary>Creates a client with a fresh random key and returns the key: the only time it is ever visible.</summary>
    public async Task<(ApiClient Client, string Key)> CreateAsync(string name, string[] scopes, CancellationToken cancellationToken)
    {
        var key = "ck_" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24));
        var client = await UpsertAsync(name, key, scopes, replace: false, cancellationToken)
            ?? throw new InvalidOperationException($"an API client named '{name}' already exists");
        return (client, key);
    }

    /// <summary>
    /// Registers a key given by configuration (the AppHost's generated parameters): idempotent, and a changed key
    /// for the same name replaces the old one.
    /// </summary>
    public async Task<ApiClient?> UpsertAsync(string name, string key, string[] scopes, bool replace, CancellationToken cancellationToken)
    {
        const string Sql = """
            INSERT INTO api_clients (name, key_prefix, key_hash, scopes) VALUES (@name, @prefix, @hash, @scopes)
            ON CONFLICT (name) DO UPDATE SET key_prefix = excluded.key_prefix, key_hash = excluded.key_hash,
                                             scopes = excluded.scopes, revoked_at = NULL
                WHERE @replace
            RETURNING id, name, scopes
            """;
        await using var command = db.CreateCommand(Sql);
        command.Parameters.AddWithValue("name", name);
        command.Parameters.AddWithValue("prefix", key[..Math.Min(6, key.Length)]);
        command.Parameters.AddWithValue("hash", ApiKeyAuthenticationHandler.Hash(key));
        command.Parameters.AddWithValue("scopes", scopes);
        command.Parameters.AddWithValue("replace", replace);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new ApiClient(reader.GetInt64(0), reader.GetString(1), reader.GetFieldValue<string[]>(2))
            : null;
    }

    public async Task<bool> RevokeAsync(string name, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("UPDATE api_clients SET revoked_at = now() WHERE name = @name AND revoked_at IS NULL");
        command.Parameters.AddWithValue("name", name);
        _cache.Clear();
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }
}
