using System.CommandLine;
using Centaur.Cli;

Console.OutputEncoding = System.Text.Encoding.UTF8;

// Ctrl-C is handled by the commands themselves: in `chat` it cancels the running turn instead of ending the process.
return await CliCommands.Create().Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
