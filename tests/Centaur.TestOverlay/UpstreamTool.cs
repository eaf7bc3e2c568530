using System.ComponentModel.DataAnnotations;
using System.Text.Json.Nodes;
using Centaur.Sdk;

namespace Centaur.TestOverlay;

/// <summary>A tool that calls an upstream itself, putting a secret's placeholder in a header, and returns the answer.</summary>
public sealed class UpstreamTool : ITool
{
    public string Name => "upstream";

    public string Description => "GETs a URL with a secret's placeholder in a header (a test overlay tool).";

    public IReadOnlyList<ToolMethod> Methods { get; } =
    [
        ToolMethod.Create<GetArgs, JsonObject>("get", "GETs the URL through the tool egress.", async (context, args, cancellationToken) =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, args.Url);
            request.Headers.TryAddWithoutValidation(args.Header, context.Secret(args.Secret));
            using var response = await context.Upstream.SendAsync(request, cancellationToken);
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            return new JsonObject { ["status"] = (int)response.StatusCode, ["body"] = body };
        }),
    ];

    public sealed record GetArgs([property: Required] string Url, [property: Required] string Secret, [property: Required] string Header);
}
