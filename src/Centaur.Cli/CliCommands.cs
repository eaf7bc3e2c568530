using System.CommandLine;
using Centaur.Cli.Api;
using Centaur.Cli.Commands;
using Centaur.Cli.Rendering;

namespace Centaur.Cli;

/// <summary>The command tree: global options (--api, --key, --color) and one subcommand per feature.</summary>
internal static class CliCommands
{
    private static readonly Option<string> s_api = new("--api")
    {
        Description = "The Centaur API's URL [env CENTAUR_API_URL]",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("CENTAUR_API_URL") is { Length: > 0 } url ? url : CliContext.DefaultApiUrl,
    };

    private static readonly Option<string?> s_key = new("--key")
    {
        Description = "An API key [env CENTAUR_API_KEY]",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("CENTAUR_API_KEY"),
    };

    private static readonly Option<ColorMode> s_color = new("--color")
    {
        Description = "Styles on the terminal (NO_COLOR is honoured in auto)",
        Recursive = true,
        DefaultValueFactory = _ => ColorMode.Auto,
    };

    public static RootCommand Create()
    {
        var root = new RootCommand("Centaur: one AI coding agent shared by the whole team. This is its command-line client.")
        {
            s_api, s_key, s_color,
            ChatCommand.Create(),
            ThreadsCommand.Create(),
            EventsCommand.Create(),
            KeysCommand.Create(),
            AuditCommand.Create(),
        };
        return root;
    }

    /// <summary>
    /// Runs a command's body with a context made from the global options, and turns failures into one readable
    /// line on stderr and an exit code: 1 for an API error, 2 for bad configuration.
    /// </summary>
    public static async Task<int> RunAsync(ParseResult parse, Func<CliContext, CancellationToken, Task<int>> body, CancellationToken cancellationToken)
    {
        var terminal = Terminal.FromConsole(parse.GetValue(s_color));
        var url = parse.GetValue(s_api)!;
        if (!Uri.TryCreate(url, UriKind.Absolute, out var baseAddress) || baseAddress.Scheme is not ("http" or "https"))
        {
            terminal.Notice($"error: --api '{url}' is not an http(s) URL", Ansi.Red);
            return 2;
        }

        var key = parse.GetValue(s_key);
        if (string.IsNullOrWhiteSpace(key))
        {
            terminal.Notice("error: no API key: pass --key or set CENTAUR_API_KEY (./centaur up prints where to find the admin key; "
                + "`centaur keys create NAME` makes more)", Ansi.Red);
            return 2;
        }

        using var context = new CliContext(new CentaurApiClient(baseAddress, key.Trim()), terminal);
        try
        {
            return await body(context, cancellationToken);
        }
        catch (CentaurApiException ex)
        {
            terminal.Notice($"error: {ex.Message}", Ansi.Red);
            return 1;
        }
        catch (HttpRequestException ex)
        {
            terminal.Notice($"error: cannot reach the Centaur API at {baseAddress}: {ex.Message} (is it running? ./centaur up)", Ansi.Red);
            return 1;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return 130;
        }
    }
}
