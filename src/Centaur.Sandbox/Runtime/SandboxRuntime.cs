using System.Text.Json.Nodes;
using System.Threading.Channels;
using Centaur.Sandbox.Egress;
using Centaur.Sandbox.Harnesses;
using Centaur.Sandbox.Setup;
using Centaur.Sandbox.Wire;
using Microsoft.Extensions.Logging;

namespace Centaur.Sandbox.Runtime;

/// <summary>
/// The sandbox's main process. Opens the ways out (egress proxy and API forwards on 127.0.0.1), says
/// <c>sandbox.started</c>, then serves the wire: <c>sandbox.setup</c> assembles the workspace and answers
/// <c>sandbox.ready</c>; each <c>turn.start</c> runs one harness turn (one at a time; <c>turn.cancel</c> interrupts
/// it) and always ends with <c>turn.done</c>. stdin EOF or <c>sandbox.shutdown</c> stops everything.
/// </summary>
internal sealed class SandboxRuntime(SandboxEnvironment environment, TextReader input, WireWriter wire, ILogger logger)
{
    /// <summary>How long an interrupted harness gets to end its turn by itself before it is killed.</summary>
    private static readonly TimeSpan CancelGrace = TimeSpan.FromSeconds(10);

    private readonly List<LoopbackForwarder> _forwarders = [];
    private HarnessContext? _context;
    private IHarness? _harness;
    private Task _warmUp = Task.CompletedTask;
    private StagedWorkspace? _staged;
    private RunningTurn? _turn;
    private string? _setupError;

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        // Reading the wire and staging the workspace start first: on a cold start the setup line is already waiting.
        var lines = Channel.CreateUnbounded<JsonObject>();
        var reader = ReadInputAsync(lines.Writer, cancellationToken);
        _staged = StagedWorkspace.Start(environment, logger);
        var endpoints = OpenForwards();
        StartupTrace.Mark("forwards");
        await wire.WriteAsync(new JsonObject
        {
            ["type"] = Canonical.Started,
            ["sandbox_id"] = environment.SandboxId,
            ["pid"] = Environment.ProcessId,
            ["egress_url"] = endpoints.EgressUrl,
            ["api_url"] = endpoints.ApiUrl,
        }, cancellationToken);
        StartupTrace.Mark("started");

        try
        {
            await foreach (var line in lines.Reader.ReadAllAsync(cancellationToken))
            {
                switch (line.GetString("type"))
                {
                    case Canonical.Setup or Canonical.SetupAlias:
                        StartupTrace.Mark("setup.received");
                        await SetupAsync(line, endpoints, cancellationToken);
                        break;
                    case Canonical.TurnStart:
                        await StartTurnAsync(line, cancellationToken);
                        break;
                    case Canonical.TurnCancel:
                        await CancelTurnAsync(line, cancellationToken);
                        break;
                    case Canonical.Shutdown:
                        return 0;
                    default:
                        RuntimeLog.UnknownLine(logger, line.GetString("type") ?? "(none)");
                        break;
                }
            }

            return 0;
        }
        finally
        {
            await StopAsync();
            await reader.ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    private HarnessEndpoints OpenForwards()
    {
        string? egressUrl = environment.EgressUrl;
        string? apiUrl = environment.ApiUrl;
        if (environment.EgressSocket is { } egressSocket)
        {
            var egress = LoopbackForwarder.Start("egress", egressSocket, environment.EgressPort, logger);
            _forwarders.Add(egress);
            egressUrl = egress.Url;
        }

        if (environment.ApiSocket is { } apiSocket)
        {
            var api = LoopbackForwarder.Start("api", apiSocket, environment.ApiPort, logger);
            _forwarders.Add(api);
            apiUrl ??= api.Url;
        }

        // Base-URL mode: "{egress}" stands for wherever the egress forward listens (a free port when unisolated).
        string? Expand(string? url) => url is null ? null : egressUrl is null ? url : url.Replace("{egress}", egressUrl, StringComparison.Ordinal);
        return new HarnessEndpoints(egressUrl, apiUrl, Expand(environment.AnthropicBaseUrl), Expand(environment.OpenAiBaseUrl), Expand(environment.AmpUrl));
    }

    private async Task ReadInputAsync(ChannelWriter<JsonObject> writer, CancellationToken cancellationToken)
    {
        try
        {
            while (await input.ReadLineAsync(cancellationToken) is { } text)
            {
                if (WireJson.TryParseObject(text) is { } line)
                {
                    await writer.WriteAsync(line, cancellationToken);
                }
                else if (!string.IsNullOrWhiteSpace(text))
                {
                    await wire.WriteAsync(Canonical.SandboxError("bad_line", "stdin lines must be JSON objects"), cancellationToken);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Shutting down.
        }
        finally
        {
            writer.TryComplete();
        }
    }

    private async Task SetupAsync(JsonObject line, HarnessEndpoints endpoints, CancellationToken cancellationToken)
    {
        if (_turn is not null)
        {
            await wire.WriteAsync(Canonical.SandboxError("busy", "sandbox.setup during a turn"), cancellationToken);
            return;
        }

        var setup = SandboxSetup.TryParse(line, out var error);
        if (setup is null)
        {
            _setupError = error;
            await wire.WriteAsync(Canonical.SandboxError("bad_setup", error!), cancellationToken);
            return;
        }

        if (_context is { } previous && previous.Setup.ThreadKey != setup.ThreadKey)
        {
            await wire.WriteAsync(Canonical.SandboxError("wrong_thread", "this sandbox already belongs to another thread"), cancellationToken);
            return;
        }

        try
        {
            var started = DateTimeOffset.UtcNow;
            if (_harness is not null)
            {
                await _warmUp.ContinueWith(_ => { }, TaskScheduler.Default);
                await _harness.DisposeAsync();
                _harness = null;
            }

            Directory.CreateDirectory(environment.RuntimeDirectory);
            WriteToken(setup.SandboxToken);
            _context = new HarnessContext(environment, setup, endpoints, logger);
            var resumed = await new WorkspaceAssembler(environment, _context, logger, _staged).AssembleAsync(cancellationToken);
            _harness = HarnessFactory.Create(_context);
            StartupTrace.Mark("assembled");
            await wire.WriteAsync(new JsonObject
            {
                ["type"] = Canonical.Ready,
                ["thread_key"] = setup.ThreadKey,
                ["harness"] = setup.Harness,
                ["branch"] = setup.Branch,
                ["workspace"] = environment.Workspace,
                ["resumed"] = resumed,
                ["session_id"] = _context.LoadSessionId(),
                ["setup_ms"] = (long)(DateTimeOffset.UtcNow - started).TotalMilliseconds,
            }, cancellationToken);
            StartupTrace.Mark("ready");

            // The CLI starts after ready (pi needs ~2 s); the first turn waits for it if it comes sooner.
            var harness = _harness;
            _warmUp = Task.Run(() => harness.WarmUpAsync(cancellationToken), cancellationToken);
        }
        catch (Exception ex) when (ex is SetupException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            RuntimeLog.SetupFailed(logger, ex.Message);
            _setupError = ex.Message;
            await wire.WriteAsync(Canonical.SandboxError(ex is SetupException s ? s.Code : "setup_failed", ex.Message), cancellationToken);
        }
        finally
        {
            // Used (moved into place) or not needed: the staged repository is for the first setup only.
            _staged?.Discard();
            _staged = null;
        }
    }

    private async Task StartTurnAsync(JsonObject line, CancellationToken cancellationToken)
    {
        var turnId = line["turn_id"].Copy();
        if (_harness is null || _context is null)
        {
            await FailTurnAsync(turnId, "not_ready", _setupError is null ? "turn.start before sandbox.setup" : $"the sandbox's setup failed: {_setupError}", cancellationToken);
            return;
        }

        if (_turn is { Task.IsCompleted: false } previous)
        {
            // The previous turn writes turn.done just before its task completes; a client that starts the next turn
            // as soon as it reads turn.done must not be told "busy", so give a finishing turn a moment.
            await Task.WhenAny(previous.Task, Task.Delay(TimeSpan.FromSeconds(2), cancellationToken));
            if (!previous.Task.IsCompleted)
            {
                await FailTurnAsync(turnId, "busy", "a turn is already running in this sandbox", cancellationToken);
                return;
            }
        }

        if (line.GetString("sandbox_token") is { } token)
        {
            WriteToken(token);
        }

        var turn = new HarnessTurn(turnId, line.GetString("text") ?? "", WriteAttachments(line), line.GetString("sandbox_token"));
        var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var timeout = line.TryGetPropertyValue("timeout_seconds", out var t) && t is JsonValue tv && tv.TryGetValue<double>(out var s) && s > 0
            ? TimeSpan.FromSeconds(s)
            : _context.Setup.TurnTimeout;
        cts.CancelAfter(timeout);
        _turn = new RunningTurn(turn, cts, RunTurnAsync(_harness, turn, cts, timeout));
    }

    private async Task RunTurnAsync(IHarness harness, HarnessTurn turn, CancellationTokenSource cts, TimeSpan timeout)
    {
        await Task.Yield();
        TurnOutcome outcome;
        try
        {
            await _warmUp.WaitAsync(cts.Token);
            outcome = await harness.RunTurnAsync(turn, wire, cts.Token);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            // Timed out, or cancelled and the CLI did not stop by itself: kill it; the next turn restarts and resumes it.
            var cancelled = _turn?.CancelRequested == true;
            var message = cancelled ? "turn cancelled" : $"turn timed out after {timeout.TotalSeconds:0} s";
            await harness.DisposeAsync();
            await wire.WriteAsync(Canonical.ResultLine(turn.TurnId, false, message, error: cancelled ? "cancelled" : "turn_timeout"));
            outcome = new TurnOutcome(false, message);
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException or System.ComponentModel.Win32Exception)
        {
            RuntimeLog.TurnFailed(logger, turn.TurnIdText, ex.Message);
            await harness.DisposeAsync();
            var message = $"{harness.Name} failed: {ex.Message}";
            await wire.WriteAsync(Canonical.ResultLine(turn.TurnId, false, message, error: "harness_error"));
            outcome = new TurnOutcome(false, message);
        }

        await wire.WriteAsync(Canonical.Done(turn.TurnId, outcome.Success, outcome.Result));
        cts.Dispose();
    }

    private async Task CancelTurnAsync(JsonObject line, CancellationToken cancellationToken)
    {
        if (_turn is not { Task.IsCompleted: false } running || (line["turn_id"] is { } id && !JsonNode.DeepEquals(id, running.Turn.TurnId)))
        {
            return;
        }

        running.CancelRequested = true;
        RuntimeLog.Cancelling(logger, running.Turn.TurnIdText);
        try
        {
            await _harness!.InterruptAsync(cancellationToken);
        }
        catch (IOException)
        {
            // The CLI is already gone; the hard cancel below ends the turn.
        }

        try
        {
            running.Cancellation.CancelAfter(CancelGrace);
        }
        catch (ObjectDisposedException)
        {
            // The turn ended in between.
        }
    }

    private async Task FailTurnAsync(JsonNode? turnId, string code, string message, CancellationToken cancellationToken)
    {
        await wire.WriteAsync(Canonical.ResultLine(turnId, false, message, error: code), cancellationToken);
        await wire.WriteAsync(Canonical.Done(turnId, false, message), cancellationToken);
    }

    /// <summary>The token `call` presents; refreshed on every turn, so it lives in a file rather than the CLI's env.</summary>
    private void WriteToken(string? token)
    {
        if (token is null)
        {
            return;
        }

        Directory.CreateDirectory(environment.RuntimeDirectory);
        var temp = environment.TokenFile + ".tmp";
        File.WriteAllText(temp, token);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        File.Move(temp, environment.TokenFile, overwrite: true);
    }

    /// <summary>
    /// Attachments: {name, media_type, data (base64)} or {name, text}; each is written under
    /// ~/attachments/&lt;turn&gt;/ so CLIs that need a path get one (Claude and pi also get images inline). One that
    /// only has a url (not fetched here) is named in the text with its url, never dropped.
    /// </summary>
    private List<TurnAttachment> WriteAttachments(JsonObject line)
    {
        var result = new List<TurnAttachment>();
        var folder = Path.Combine(environment.Home, "attachments", SandboxSetup.HashThreadKey(line["turn_id"]?.ToJsonString() ?? "turn")[..12]);
        var index = 0;
        foreach (var item in (line.GetArray("attachments") ?? []).OfType<JsonObject>())
        {
            index++;
            var name = Path.GetFileName(item.GetString("name") ?? item.GetString("filename") ?? "");
            name = name.Length == 0 || name is "." or ".." ? $"attachment-{index}" : name;
            var mediaType = item.GetString("media_type") ?? item.GetString("mime_type") ?? item.GetString("mimetype") ?? "application/octet-stream";
            byte[]? data = null;
            if (item.GetString("data") is { } b64)
            {
                try
                {
                    data = Convert.FromBase64String(b64);
                }
                catch (FormatException)
                {
                    data = null;
                }
            }
            else if (item.GetString("text") is { } text)
            {
                data = System.Text.Encoding.UTF8.GetBytes(text);
                mediaType = item.GetString("media_type") ?? "text/plain";
            }

            if (data is null)
            {
                var url = item.GetString("url") ?? item.GetString("url_private");
                result.Add(new TurnAttachment(name, mediaType, url is null ? "(no content was sent)" : $"{url} (not downloaded)", []));
                continue;
            }

            Directory.CreateDirectory(folder);
            var path = Path.Combine(folder, name);
            File.WriteAllBytes(path, data);
            result.Add(new TurnAttachment(name, mediaType, path, data));
        }

        return result;
    }

    private async Task StopAsync()
    {
        if (_turn is { } turn)
        {
            try
            {
                await turn.Cancellation.CancelAsync();
            }
            catch (ObjectDisposedException)
            {
                // Already finished.
            }

            await turn.Task.ContinueWith(_ => { }, TaskScheduler.Default);
        }

        if (_harness is not null)
        {
            await _harness.DisposeAsync();
        }

        foreach (var forwarder in _forwarders)
        {
            await forwarder.DisposeAsync();
        }
    }

    private sealed class RunningTurn(HarnessTurn turn, CancellationTokenSource cancellation, Task task)
    {
        public HarnessTurn Turn { get; } = turn;

        public CancellationTokenSource Cancellation { get; } = cancellation;

        public Task Task { get; } = task;

        public bool CancelRequested { get; set; }
    }
}
