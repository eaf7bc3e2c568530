using System.Text.Json.Nodes;
using Centaur.Api.Sandboxes;
using Centaur.Sandbox.Harnesses;
using Centaur.Sandbox.Setup;
using Microsoft.Extensions.Logging.Abstractions;

namespace Centaur.Tests.Sandboxes;

/// <summary>
/// Amp runs its inference on Amp's servers, so no offline test can complete an Amp turn. What is tested: the real
/// Amp CLI in a real sandbox fails a turn with a clear error result (not a hang, not silence); its command lines;
/// and the stream-json translation it shares with Claude Code, from recorded lines. Amp documents --stream-json as
/// "Claude Code-compatible"; the success-path lines below were recorded from Claude Code 2.1.332 here, not from Amp.
/// </summary>
[Collection(SandboxCollection.Name)]
public sealed class AmpAdapterTests(SandboxFixture fixture)
{
    [Fact]
    public async Task TheRealAmpCliFailsATurnWithAClearErrorWhenAmpsServiceIsUnreachable()
    {
        var (info, wire) = await fixture.StartAsync(SandboxFixture.NewThread("amp"), "amp");
        try
        {
            var turn = await SandboxFixture.TurnAsync(wire, 1, "hello amp", TimeSpan.FromSeconds(60));

            Assert.True(turn.Done, turn.ToString());
            Assert.Equal("error", turn.Result!["subtype"]!.GetValue<string>());
            Assert.Contains("getUserInfo failed: 404", turn.ResultText, StringComparison.Ordinal);
        }
        finally
        {
            await fixture.Backend.StopAsync(info.SandboxId, CancellationToken.None);
        }
    }

    [Fact]
    public void AmpStartsInStreamJsonModeAndContinuesAStoredThread()
    {
        var harness = new AmpHarness(Context("amp"));

        var fresh = harness.CommandLine(null);
        var resumed = harness.CommandLine("T-1234");

        Assert.EndsWith("/amp", fresh.File, StringComparison.Ordinal);
        Assert.Equal(["--execute", "--stream-json", "--stream-json-input", "--no-ide", "--no-notifications", "--no-color"], fresh.Arguments);
        Assert.Equal(["threads", "continue", "T-1234", "--execute", "--stream-json", "--stream-json-input", "--no-ide", "--no-notifications", "--no-color"], resumed.Arguments);
    }

    [Fact]
    public void RecordedStreamJsonLinesBecomeCanonicalLinesWithUnknownFieldsKept()
    {
        var turnId = JsonValue.Create(3);
        var init = Parse("""{"type":"system","subtype":"init","cwd":"/home/agent/workspace","session_id":"588890f4","tools":["Bash"],"future_field":1}""");
        var delta = Parse("""{"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Tool "}},"session_id":"588890f4"}""");
        var toolUse = Parse("""{"type":"assistant","message":{"id":"msg_fake_7","role":"assistant","content":[{"type":"tool_use","id":"toolu_fake_7","name":"Bash","input":{"command":"echo hi"}}]},"parent_tool_use_id":null,"session_id":"588890f4"}""");
        var toolResult = Parse("""{"type":"user","message":{"role":"user","content":[{"tool_use_id":"toolu_fake_7","type":"tool_result","content":"hi","is_error":false}]},"tool_use_result":{"stdout":"hi"}}""");
        // As recorded: "type" is not the first key of a result line.
        var result = Parse("""{"duration_api_ms":172,"stop_reason":"end_turn","session_id":"588890f4","total_cost_usd":0.000188,"type":"result","subtype":"success","is_error":false,"result":"Tool result was: hi","usage":{"input_tokens":12}}""");
        var interrupted = Parse("""{"type":"result","subtype":"error_during_execution","is_error":true,"terminal_reason":"aborted_streaming"}""");
        var ask = Parse("""{"type":"control_request","request_id":"804433f4","request":{"subtype":"can_use_tool","tool_name":"Bash","input":{"command":"touch x"}}}""");

        Assert.Equal(StreamJsonTranslator.Kind.Forward, StreamJsonTranslator.Translate(init, turnId).Kind);
        Assert.Equal(1, StreamJsonTranslator.Translate(init, turnId).Line!["future_field"]!.GetValue<int>());
        var canonicalDelta = StreamJsonTranslator.Translate(delta, turnId).Line!;
        Assert.Equal("stream_event", canonicalDelta["type"]!.GetValue<string>());
        Assert.Equal("Tool ", canonicalDelta["event"]!["delta"]!["text"]!.GetValue<string>());
        Assert.Equal(3, canonicalDelta["turn_id"]!.GetValue<int>());
        var canonicalToolUse = StreamJsonTranslator.Translate(toolUse, turnId).Line!;
        Assert.Equal(3, canonicalToolUse["turn_id"]!.GetValue<int>());
        Assert.Equal("toolu_fake_7", canonicalToolUse["message"]!["content"]![0]!["id"]!.GetValue<string>());
        Assert.Equal("hi", StreamJsonTranslator.Translate(toolResult, turnId).Line!["tool_use_result"]!["stdout"]!.GetValue<string>());
        var (kind, canonicalResult) = StreamJsonTranslator.Translate(result, turnId);
        Assert.Equal(StreamJsonTranslator.Kind.Result, kind);
        Assert.NotNull(canonicalResult);
        Assert.Equal("result", canonicalResult.First().Value?.GetValue<string>());
        Assert.Equal("success", canonicalResult["subtype"]!.GetValue<string>());
        Assert.Equal(0.000188, canonicalResult["total_cost_usd"]!.GetValue<double>());
        var failed = StreamJsonTranslator.Translate(interrupted, turnId).Line!;
        Assert.Equal("error", failed["subtype"]!.GetValue<string>());
        Assert.Equal("error_during_execution", failed["harness_subtype"]!.GetValue<string>());
        Assert.Equal(StreamJsonTranslator.Kind.PermissionRequest, StreamJsonTranslator.Translate(ask, turnId).Kind);
        var allow = StreamJsonTranslator.Allow(ask);
        Assert.Equal("allow", allow["response"]!["response"]!["behavior"]!.GetValue<string>());
        Assert.Equal("804433f4", allow["response"]!["request_id"]!.GetValue<string>());
    }

    private static JsonObject Parse(string json) => JsonNode.Parse(json)!.AsObject();

    private HarnessContext Context(string harness)
    {
        var home = Path.Combine(fixture.Root, "unit", Guid.NewGuid().ToString("N"));
        var environment = new SandboxEnvironment(home, Path.Combine(home, "run"), "/content", "/opt/centaur/harnesses/node_modules/.bin", null, 8787, null, null, 8788, null, null, null, null, null, "unit");
        var setup = SandboxSetup.TryParse(new JsonObject { ["thread_key"] = "test:amp", ["harness"] = harness }, out _)!;
        return new HarnessContext(environment, setup, new HarnessEndpoints(null, null, null, null, null), NullLogger.Instance);
    }

}
