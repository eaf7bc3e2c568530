using System.Collections.Concurrent;
using Centaur.Api.Executions;

namespace Centaur.Api.Events;

/// <summary>
/// The recent events of each streamed thread, in memory. When a thread's notification wakes its N streams, one of
/// them reads the new events from Postgres and the rest are served from here: one query per change instead of one
/// per subscriber. Correctness rests on the notifier's per-thread version: a tail serves a read only when no
/// notification arrived since it was last refreshed, and only for cursors it fully covers; anything else reads the
/// database.
/// </summary>
internal sealed class ThreadTailCache(EventLog log, ChangeNotifier notifier, TimeProvider time)
{
    private const int MaxEventsPerThread = 4096;
    private static readonly TimeSpan s_idleEviction = TimeSpan.FromMinutes(5);
    private readonly ConcurrentDictionary<string, Tail> _tails = new(StringComparer.Ordinal);
    private long _lastSweep;

    public async Task<IReadOnlyList<StoredEvent>> ReadAsync(string threadKey, long afterEventId, long? executionId, int limit, CancellationToken cancellationToken)
    {
        SweepIdle();
        var tail = _tails.GetOrAdd(threadKey, _ => new Tail());
        tail.LastUsed = time.GetTimestamp();
        var version = notifier.ThreadVersion(threadKey);
        if (!tail.Serves(afterEventId, version))
        {
            await tail.RefreshAsync(from => log.ReadAsync(threadKey, from, null, MaxEventsPerThread, cancellationToken), version, afterEventId);
            if (!tail.Covers(afterEventId))
            {
                // Older than the window (a client resuming from long ago): straight from the database.
                return await log.ReadAsync(threadKey, afterEventId, executionId, limit, cancellationToken);
            }
        }

        return tail.After(afterEventId, executionId, limit);
    }

    private void SweepIdle()
    {
        var now = time.GetTimestamp();
        var last = Interlocked.Read(ref _lastSweep);
        if (time.GetElapsedTime(last, now) < TimeSpan.FromMinutes(1) || Interlocked.CompareExchange(ref _lastSweep, now, last) != last)
        {
            return;
        }

        foreach (var (key, tail) in _tails)
        {
            if (time.GetElapsedTime(tail.LastUsed, now) > s_idleEviction)
            {
                _tails.TryRemove(key, out _);
            }
        }
    }

    private sealed class Tail
    {
        private readonly SemaphoreSlim _refresh = new(1, 1);
        private List<StoredEvent> _events = [];

        // Every event of the thread with _coveredAfter < id <= LastId is in _events.
        private long _coveredAfter = long.MaxValue;
        private long _version = -1;

        public long LastUsed { get; set; }

        public long LastId { get; private set; }

        public bool Covers(long after) => after >= Volatile.Read(ref _coveredAfter);

        public bool Serves(long after, long version) => Volatile.Read(ref _version) == version && Covers(after);

        /// <summary>Single-flight: the streams woken together wait for one database read.</summary>
        public async Task RefreshAsync(Func<long, Task<IReadOnlyList<StoredEvent>>> readAfter, long version, long after)
        {
            await _refresh.WaitAsync();
            try
            {
                if (Serves(after, version))
                {
                    return;
                }

                var extend = Covers(after);
                var from = extend ? LastId : after;
                var fresh = await readAfter(from);
                var events = extend ? [.. _events, .. fresh] : fresh.ToList();
                var coveredAfter = extend ? _coveredAfter : after;
                if (events.Count > MaxEventsPerThread)
                {
                    coveredAfter = events[events.Count - MaxEventsPerThread - 1].EventId;
                    events = events[^MaxEventsPerThread..];
                }

                _events = events;
                LastId = fresh.Count > 0 ? fresh[^1].EventId : from;
                Volatile.Write(ref _coveredAfter, coveredAfter);
                // A read cut short by its limit is complete only up to what it returned: refresh again next time.
                Volatile.Write(ref _version, fresh.Count == MaxEventsPerThread ? -1 : version);
            }
            finally
            {
                _refresh.Release();
            }
        }

        public IReadOnlyList<StoredEvent> After(long after, long? executionId, int limit)
        {
            var result = new List<StoredEvent>();
            foreach (var e in _events)
            {
                if (e.EventId > after && (executionId is null || e.ExecutionId == executionId))
                {
                    result.Add(e);
                    if (result.Count == limit)
                    {
                        break;
                    }
                }
            }

            return result;
        }
    }
}
