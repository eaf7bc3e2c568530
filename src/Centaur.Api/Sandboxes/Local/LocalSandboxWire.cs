using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;

namespace Centaur.Api.Sandboxes.Local;

/// <summary>
/// The NDJSON wire to one local sandbox. A <c>setup</c> line for a warm (unassigned) sandbox is a claim: the backend
/// first moves the thread's persisted home into place and completes the line (prompt layers, skills), then it goes
/// to the sandbox. Every turn.start gets a fresh sandbox token unless the caller set one.
/// </summary>
internal sealed class LocalSandboxWire(LocalSandbox sandbox, LocalSandboxBackend backend) : ISandboxWire
{
    private readonly CancellationTokenSource _detached = new();

    public async Task SendAsync(JsonObject line, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_detached.IsCancellationRequested, this);
        switch (SandboxWireMessages.TypeOf(line))
        {
            case SandboxWireMessages.Setup or SandboxWireMessages.SetupAlias:
                line = await backend.PrepareSetupAsync(sandbox, line, cancellationToken);
                break;
            case SandboxWireMessages.TurnStart when !line.ContainsKey("sandbox_token") && backend.IssueToken(sandbox) is { } token:
                line = (JsonObject)line.DeepClone();
                line["sandbox_token"] = token;
                break;
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
