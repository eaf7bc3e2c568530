using Microsoft.Extensions.Options;

namespace Centaur.Slack.WebApi;

/// <summary>
/// One token bucket for every chat.update the adapter makes: Slack counts Tier 3 per workspace and app, not per
/// message, so all streaming threads share it. Live edits skip a beat when it is empty; final edits wait.
/// </summary>
internal sealed class SlackUpdateBudget(IOptions<SlackOptions> options, TimeProvider time)
{
    private const double Burst = 5;
    private readonly Lock _lock = new();
    private double _tokens = Burst;
    private long _lastRefill = time.GetTimestamp();

    public bool TryTake()
    {
        lock (_lock)
        {
            Refill();
            if (_tokens < 1)
            {
                return false;
            }

            _tokens -= 1;
            return true;
        }
    }

    public async Task TakeAsync(CancellationToken cancellationToken)
    {
        while (!TryTake())
        {
            await Task.Delay(TimeSpan.FromSeconds(60.0 / options.Value.UpdatesPerMinute / 2), time, cancellationToken);
        }
    }

    private void Refill()
    {
        var now = time.GetTimestamp();
        var perSecond = options.Value.UpdatesPerMinute / 60.0;
        _tokens = Math.Min(Burst, _tokens + (time.GetElapsedTime(_lastRefill, now).TotalSeconds * perSecond));
        _lastRefill = now;
    }
}
