using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;

namespace Centaur.Api.Sandboxes.Local;

/// <summary>
/// The NDJSON wire to one local sandbox. Every turn.start gets a fresh sandbox token (unless the caller set one),
/// so the token `call` and the proxy see is refreshed per turn.
/// </summary>
internal sealed class LocalSandboxWire(LocalSandbox sandbox, SandboxTokenIssuer tokens) : ISandboxWire
{
    private readonly CancellationTokenSource _detached = new();

    public async Task SendAsync(JsonObject line, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_detached.IsCancellationRequested, this);
        if (SandboxWireMessages.TypeOf(line) == SandboxWireMessages.TurnStart && !line.ContainsKey("sandbox_token")
            && sandbox.ThreadKey is { } threadKey && tokens.Issue(threadKey, sandbox.Id) is { } token)
        {
            line = (JsonObject)line.DeepClone();
            line["sandbox_token"] = token;
        }

        await sandbox.SendAsync(line, cancellationToken);
    }

    public async IAsyncEnumerable<JsonObject> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _detached.Token);
        var reader = sandbox.Output;
        while (true)
        {
            try
            {
                if (!await reader.WaitToReadAsync(cts.Token))
                {
                    yield break;
                }
            }
            catch (OperationCanceledException) when (_detached.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                yield break;
            }

            while (reader.TryRead(out var line))
            {
                yield return line;
            }
        }
    }

    public void Detach()
    {
        try
        {
            _detached.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Already disposed.
        }
    }

    public ValueTask DisposeAsync()
    {
        Detach();
        _detached.Dispose();
        return ValueTask.CompletedTask;
    }
}
