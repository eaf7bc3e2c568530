using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Centaur.Sdk;

namespace Acme.Overlay;

/// <summary>
/// A tool that calls an upstream itself: the team's status page. It never sees the API key: it puts the placeholder
/// from <see cref="ToolContext.Secret"/> in the header, and IronProxy swaps in the real key for api.statuspage.io only.
/// </summary>
public sealed class StatusPageTool : ITool
{
    public string Name => "statuspage";

    public string Description => "Acme's public status page: recent incidents.";

    public IReadOnlyList<ToolMethod> Methods { get; } =
    [
        ToolMethod.Create<IncidentsArgs, JsonArray>("incidents", "The most recent incidents, newest first.", async (context, args, cancellationToken) =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get,
                $"https://api.statuspage.io/v1/pages/{Uri.EscapeDataString(args.PageId)}/incidents?limit={args.Limit}");
            request.Headers.Authorization = new AuthenticationHeaderValue("OAuth", context.Secret("statuspage-api-key"));
            using var response = await context.Upstream.SendAsync(request, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                throw new ToolException(502, "statuspage_error", $"the status page answered HTTP {(int)response.StatusCode}");
            }

            var incidents = await response.Content.ReadFromJsonAsync<JsonArray>(cancellationToken) ?? [];
            return new JsonArray([.. incidents.Select(i => (JsonNode)new JsonObject
            {
                ["name"] = i?["name"]?.DeepClone(),
                ["status"] = i?["status"]?.DeepClone(),
                ["created_at"] = i?["created_at"]?.DeepClone(),
            })]);
        }),
    ];

    public sealed record IncidentsArgs(
        [property: Description("The status page's id."), Required, RegularExpression("^[a-z0-9]{1,32}$")] string PageId,
        [property: Description("How many incidents (1-50, default 10)."), Range(1, 50)] int Limit = 10);
}
