using System.Diagnostics;
using Centaur.Tests.ControlPlane;
using Centaur.Tests.Infrastructure;

namespace Centaur.Tests.Chaos;

/// <summary>
/// The SSE client is a real process (curl) SIGKILLed mid-stream; a new one resumes with after_event_id while the
/// turn has gone on producing events.
/// </summary>
[Collection(ChaosCollection.Name)]
public sealed class SseClientDroppedTests(ChaosFixture fixture)
{
    private const string Prompt = "stream me a long answer\n[fake] deltas=20 delay_ms=150";

    [Fact]
    public async Task AClientKilledMidStreamResumesAfterItsLastEventWithNoDuplicatesAndNoGaps()
    {
        await using var api = await fixture.StartApiAsync();
        var agent = new AgentClient(api.CreateClient());
        var undisturbed = await ChaosAssert.UndisturbedAnswerAsync(agent, Prompt);
        var thread = AgentClient.NewThreadKey("chaos");
        var id = (await agent.AskAsync(thread, Prompt))["execution_id"]!.GetValue<long>();

        var before = await CurlAsync(api, thread, id, afterEventId: null, killAfterDeltas: 3);
        var lastBefore = before[^1].Id;
        await Task.Delay(TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken);
        var after = await CurlAsync(api, thread, id, afterEventId: lastBefore, killAfterDeltas: null);

        var received = before.Concat(after).ToList();
        Assert.Equal(3, before.Count(e => e.Type == "assistant_delta"));
        Assert.False(ResumingEventReader.IsTerminal(before[^1]), "the client was killed before the turn ended");
        ChaosAssert.EachEventOnceInOrder(received);
        await ChaosAssert.SameAsStoredAsync(() => api.CreateClient(), thread, id, received);
        Assert.Equal(undisturbed, string.Concat(received.Where(e => e.Type == "assistant_delta").Select(e => e.Data["text"]!.GetValue<string>())));
        Assert.Equal(undisturbed, received[^1].Data["result"]!.GetValue<string>());
        await ChaosAssert.OneTurnOneAnswerAsync(api.ConnectionString, thread);
    }

    /// <summary>
    /// curl streams the events; this process parses its output as it arrives and SIGKILLs it after the given number
    /// of deltas (what is still in the pipe is lost, as it would be with a crashed client).
    /// </summary>
    private static async Task<List<ReceivedEvent>> CurlAsync(ApiProcess api, string thread, long executionId, long? afterEventId, int? killAfterDeltas)
    {
        var url = new Uri(api.BaseAddress, $"/agent/threads/{Uri.EscapeDataString(thread)}/events?execution_id={executionId}"
            + (afterEventId is { } after ? $"&after_event_id={after}" : ""));
        var start = new ProcessStartInfo("curl") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in (string[])["-sSN", "--max-time", "40", "-H", $"Authorization: Bearer {ApiProcess.AgentKey}", "-H", "Accept: text/event-stream", url.ToString()])
        {
            start.ArgumentList.Add(argument);
        }

        using var curl = Process.Start(start)!;
        var events = new List<ReceivedEvent>();
        using var stop = new CancellationTokenSource(ChaosAssert.TurnTimeout);
        var deltas = 0;
        try
        {
            await ResumingEventReader.ParseAsync(curl.StandardOutput, stop.Token, e =>
            {
                if (stop.IsCancellationRequested)
                {
                    return; // the client is dead: nothing more reaches it
                }

                events.Add(e);
                if (e.Type == "assistant_delta" && ++deltas == killAfterDeltas)
                {
                    curl.Kill();
                    stop.Cancel();
                }
            });
        }
        catch (Exception ex) when ((ex is IOException or OperationCanceledException) && killAfterDeltas is not null)
        {
            // the pipe of the killed client
        }

        if (!curl.HasExited)
        {
            curl.Kill();
        }

        await curl.WaitForExitAsync(CancellationToken.None);
        Assert.True(events.Count > 0, $"curl received nothing: {await curl.StandardError.ReadToEndAsync(CancellationToken.None)}");
        return events;
    }
}
