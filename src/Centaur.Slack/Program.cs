using Centaur.Slack.Inbound;

namespace Centaur.Slack;

// A named Program (not top-level statements): the test project sees this assembly's internals, and a second global
// Program type next to Centaur.Api's would make WebApplicationFactory<Program> ambiguous there.
internal static class Program
{
    public static void Main(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);

        builder.AddServiceDefaults();
        builder.AddSlackAdapter();
        builder.Services.AddProblemDetails(o => o.CustomizeProblemDetails = SlackProblems.AddStableCode);

        var app = builder.Build();

        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.MapDefaultEndpoints();
        app.MapSlack();

        app.Run();
    }
}
