namespace Centaur.Slack.WebApi;

/// <summary>Who the bot is (auth.test), asked once and cached; the self-filter needs it before any event is handled.</summary>
internal sealed class BotIdentity(SlackApiClient slack)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private AuthIdentity? _identity;

    public async Task<AuthIdentity> GetAsync(CancellationToken cancellationToken)
    {
        if (_identity is { } known)
        {
            return known;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            return _identity ??= await slack.AuthTestAsync(cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }
}
