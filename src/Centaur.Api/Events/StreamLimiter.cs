using System.Collections.Concurrent;

namespace Centaur.Api.Events;

/// <summary>Caps concurrent event streams per API client, so one misbehaving client cannot exhaust the API.</summary>
internal sealed class StreamLimiter
{
    private readonly ConcurrentDictionary<string, int> _open = new(StringComparer.Ordinal);

    public bool TryAcquire(string client, int max)
    {
        while (true)
        {
            var current = _open.GetOrAdd(client, 0);
            if (current >= max)
            {
                return false;
            }

            if (_open.TryUpdate(client, current + 1, current))
            {
                return true;
            }
        }
    }

    public void Release(string client) => _open.AddOrUpdate(client, 0, (_, n) => Math.Max(0, n - 1));

    public int Open(string client) => _open.TryGetValue(client, out var n) ? n : 0;
}
