// Centaur.Sandbox: the main process inside one sandbox (SPEC "Centaur.Sandbox").
//   centaur-sandbox [run]                       the runtime: NDJSON wire on stdin/stdout, harness CLI as a child
//   centaur-sandbox call <tool> <method> <json>  the `call` helper on the sandbox's PATH
using Centaur.Sandbox;
using Centaur.Sandbox.Runtime;
using Centaur.Sandbox.Setup;
using Centaur.Sandbox.Tools;
using Centaur.Sandbox.Wire;

StartupTrace.Mark("main");
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};

if (args is ["call", .. var callArgs])
{
    return await CallCommand.RunAsync(callArgs, Console.In, Console.Out, Console.Error, stop.Token);
}

if (args is not ([] or ["run"]))
{
    Console.Error.WriteLine("usage: centaur-sandbox [run] | centaur-sandbox call <tool> <method> ['<json>']");
    return 2;
}

var stdout = new StreamWriter(Console.OpenStandardOutput(), new System.Text.UTF8Encoding(false)) { AutoFlush = false };
var stdin = new StreamReader(Console.OpenStandardInput(), System.Text.Encoding.UTF8);
var runtime = new SandboxRuntime(SandboxEnvironment.FromProcess(), stdin, new WireWriter(stdout), StderrLogger.Create("centaur-sandbox"));
return await runtime.RunAsync(stop.Token);
