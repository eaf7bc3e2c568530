using System.CommandLine;
using Centaur.Cli.Rendering;

namespace Centaur.Cli.Commands;

/// <summary><c>centaur keys create NAME [--scopes agent,admin]</c> and <c>centaur keys revoke NAME</c> (admin scope).</summary>
internal static class KeysCommand
{
    public static Command Create()
    {
        var name = new Argument<string>("name") { Description = "The client's name: 1-64 of a-z, 0-9, '-' and '_'" };
        var scopes = new Option<string>("--scopes") { Description = "Comma-separated: agent, admin", DefaultValueFactory = _ => "agent" };
        var create = new Command("create", "Create an API client; its key is shown once") { name, scopes };
        create.SetAction((parse, cancellationToken) => CliCommands.RunAsync(parse, async (context, ct) =>
        {
            var list = parse.GetValue(scopes)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var created = await context.Api.CreateKeyAsync(parse.GetValue(name)!, list, ct);
            // The key alone on stdout, so `export CENTAUR_API_KEY=$(centaur keys create me)` works; the rest on stderr.
            context.Terminal.Notice($"created API client '{created.Name}' with scopes {string.Join(",", created.Scopes)}; "
                + "the key below is shown only this once (the API stores a hash)", Ansi.Green);
            context.Terminal.Out.WriteLine(created.Key);
            return 0;
        }, cancellationToken));

        var revokeName = new Argument<string>("name") { Description = "The client to revoke" };
        var revoke = new Command("revoke", "Revoke an API client's key (takes effect within a minute)") { revokeName };
        revoke.SetAction((parse, cancellationToken) => CliCommands.RunAsync(parse, async (context, ct) =>
        {
            await context.Api.RevokeKeyAsync(parse.GetValue(revokeName)!, ct);
            context.Terminal.Notice($"revoked API client '{parse.GetValue(revokeName)}'", Ansi.Green);
            return 0;
        }, cancellationToken));

        return new Command("keys", "Manage API keys (needs an admin key)") { create, revoke };
    }
}
