using Centaur.Tests.ControlPlane;
using Centaur.Tests.Infrastructure;
using Npgsql;

namespace Centaur.Tests.Chaos;

/// <summary>The invariants every fault must leave intact: no lost turn, nothing twice, the same answer as without it.</summary>
public static class ChaosAssert
{
    public static readonly TimeSpan TurnTimeout = TimeSpan.FromSeconds(40);

    /// <summary>The answer the same prompt gets with nothing disturbed: a fresh thread on the same API.</summary>
    public static async Task<string> UndisturbedAnswerAsync(AgentClient agent, string prompt)
    {
        var thread = AgentClient.NewThreadKey("undisturbed");
        var execution = await agent.AskAsync(thread, prompt);
        var events = await agent.WaitForEndAsync(thread, execution["execution_id"]!.GetValue<long>(), TurnTimeout);
        Assert.Equal("succeeded", events[^1].State);
        return events[^1].Data["result"]!.GetValue<string>();
    }

    /// <summary>
    /// The shape of every mid-turn fault: the prompt's undisturbed answer first, then the same prompt on a fresh thread
    /// with <paramref name="fault"/> applied once the answer has started streaming; the client reads on across
    /// reconnects. Asserts that the client saw each stored event once, in order, and the turn succeeded with the
    /// undisturbed answer, exactly once. Returns the thread and what the client received, for the fault's own checks.
    /// </summary>
    public static async Task<(string Thread, List<ReceivedEvent> Received)> SurvivesMidTurnAsync(ApiProcess api, string prompt, Func<AgentClient, string, Task> fault)
    {
        var agent = new AgentClient(api.CreateClient());
        var undisturbed = await UndisturbedAnswerAsync(agent, prompt);
        var thread = AgentClient.NewThreadKey("chaos");
        var id = (await agent.AskAsync(thread, prompt))["execution_id"]!.GetValue<long>();

        var before = await EventStreamReader.ReadAsync(agent.Http, thread, executionId: id,
            stopWhen: e => e.Type == "assistant_delta", timeout: TurnTimeout);
        Assert.Contains(before, e => e.Type == "assistant_delta");
        await fault(agent, thread);
        var after = await ResumingEventReader.ReadToEndAsync(() => api.CreateClient(), thread, id, before[^1].Id, TurnTimeout);

        var received = before.Concat(after).ToList();
        EachEventOnceInOrder(received);
        await SameAsStoredAsync(() => api.CreateClient(), thread, id, received);
        Assert.Equal("succeeded", received[^1].State);
        Assert.Equal(undisturbed, received[^1].Data["result"]!.GetValue<string>());
        await OneTurnOneAnswerAsync(api.ConnectionString, thread);
        return (thread, received);
    }

    /// <summary>What a client received across reconnects: each event once, in order, ending in one terminal state.</summary>
    public static void EachEventOnceInOrder(IReadOnlyList<ReceivedEvent> received)
    {
        Assert.NotEmpty(received);
        Assert.Equal(received.Count, received.Select(e => e.Id).Distinct().Count());
        Assert.Equal(received.Select(e => e.Id).Order(), received.Select(e => e.Id));
        Assert.Single(received, ResumingEventReader.IsTerminal);
        Assert.True(ResumingEventReader.IsTerminal(received[^1]), $"the last event is {received[^1].Type}");
    }

    /// <summary>No gaps: the client saw exactly the execution's events as the store holds them, read afresh.</summary>
    public static async Task SameAsStoredAsync(Func<HttpClient> client, string threadKey, long executionId, IReadOnlyList<ReceivedEvent> received)
    {
        var stored = await ResumingEventReader.ReadToEndAsync(client, threadKey, executionId, null, TurnTimeout);
        Assert.Equal(stored.Select(e => e.Id), received.Select(e => e.Id));
        Assert.Equal(stored.Select(e => e.Envelope.ToJsonString()), received.Select(e => e.Envelope.ToJsonString()));
    }

    /// <summary>The thread has exactly one execution, it succeeded, and exactly one assistant answer was stored.</summary>
    public static async Task OneTurnOneAnswerAsync(string connectionString, string threadKey)
    {
        await using var db = NpgsqlDataSource.Create(connectionString);
        await using var executions = db.CreateCommand("SELECT state FROM agent_execution_requests WHERE thread_key = @thread");
        executions.Parameters.AddWithValue("thread", threadKey);
        var states = new List<string>();
        await using (var reader = await executions.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                states.Add(reader.GetString(0));
            }
        }

        Assert.Equal(["succeeded"], states);
        await using var answers = db.CreateCommand("SELECT count(*) FROM chat_messages WHERE thread_key = @thread AND role = 'assistant'");
        answers.Parameters.AddWithValue("thread", threadKey);
        Assert.Equal(1L, await answers.ExecuteScalarAsync());
    }

    public static async Task<long> ScalarAsync(string connectionString, string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(connectionString + ";Pooling=false");
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Polls until the condition holds; bounded.</summary>
    public static async Task EventuallyAsync(Func<Task<bool>> condition, TimeSpan timeout, string because)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (!await condition())
        {
            if (cts.IsCancellationRequested)
            {
                throw new TimeoutException($"Timed out after {timeout} waiting until {because}");
            }

            await Task.Delay(100, CancellationToken.None);
        }
    }
}
