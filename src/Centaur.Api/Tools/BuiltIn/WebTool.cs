using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text;
using System.Text.Json.Nodes;
using Centaur.Sdk;
using Microsoft.Extensions.Options;

namespace Centaur.Api.Tools.BuiltIn;

/// <summary>Fetches a web page through IronProxy (audited, host rules applied) and returns its text.</summary>
internal sealed class WebTool : ITool
{
    private readonly IOptions<ToolOptions> _options;

    public WebTool(IOptions<ToolOptions> options)
    {
        _options = options;
        Methods = [ToolMethod.Create<FetchArgs, JsonObject>("fetch", "Fetches a URL (GET) and returns the page as text.", FetchAsync)];
    }

    public string Name => "web";

    public string Description => "The web: fetch a page as text.";

    public IReadOnlyList<ToolMethod> Methods { get; }

    private async Task<JsonObject> FetchAsync(ToolContext context, FetchArgs args, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(args.Url, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https") || !string.IsNullOrEmpty(url.UserInfo))
        {
            throw new ToolArgumentException("url", "url must be an absolute http:// or https:// URL without credentials");
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Accept.ParseAdd("text/html, text/plain;q=0.9, application/json;q=0.9, */*;q=0.5");
        request.Headers.UserAgent.ParseAdd("Centaur/1.0 (web tool)");
        HttpResponseMessage response;
        byte[] bytes;
        try
        {
            response = await context.Upstream.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            bytes = await ReadLimitedAsync(response.Content, _options.Value.MaxResponseBytes, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            // Connection and proxy refusals carry no secrets; the agent needs to know why it got nothing.
            throw new ToolException(StatusCodes.Status502BadGateway, "fetch_failed", $"fetching {url.Host} failed: {ex.Message}");
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ToolException(StatusCodes.Status504GatewayTimeout, "fetch_timeout", $"{url.Host} did not answer in time");
        }

        using var disposeResponse = response;
        var mediaType = response.Content.Headers.ContentType?.MediaType ?? "application/octet-stream";

        var result = new JsonObject
        {
            ["url"] = args.Url,
            ["final_url"] = response.RequestMessage?.RequestUri?.ToString(),
            ["status"] = (int)response.StatusCode,
            ["content_type"] = mediaType,
        };
        if (!IsText(mediaType))
        {
            result["text"] = null;
            result["note"] = $"{mediaType} content ({bytes.Length} bytes) is not returned as text";
            return result;
        }

        var charset = response.Content.Headers.ContentType?.CharSet;
        var encoding = charset is null ? Encoding.UTF8 : TryEncoding(charset);
        var text = encoding.GetString(bytes);
        if (mediaType is "text/html" or "application/xhtml+xml")
        {
            text = HtmlText.From(text);
        }

        result["truncated"] = text.Length > args.MaxChars;
        result["text"] = text.Length > args.MaxChars ? text[..args.MaxChars] : text;
        return result;
    }

    private static bool IsText(string mediaType) =>
        mediaType.StartsWith("text/", StringComparison.Ordinal) || mediaType is "application/json" or "application/xml" or "application/xhtml+xml"
        || mediaType.EndsWith("+json", StringComparison.Ordinal) || mediaType.EndsWith("+xml", StringComparison.Ordinal);

    private static Encoding TryEncoding(string charset)
    {
        try
        {
            return Encoding.GetEncoding(charset.Trim('"'));
        }
        catch (ArgumentException)
        {
            return Encoding.UTF8;
        }
    }

    private static async Task<byte[]> ReadLimitedAsync(HttpContent content, int limit, CancellationToken cancellationToken)
    {
        await using var stream = await content.ReadAsStreamAsync(cancellationToken);
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken)) > 0 && buffer.Length < limit)
        {
            buffer.Write(chunk, 0, (int)Math.Min(read, limit - buffer.Length));
        }

        return buffer.ToArray();
    }

    internal sealed record FetchArgs(
        [property: Description("The http:// or https:// URL to fetch."), Required, StringLength(8192, MinimumLength = 1)] string Url,
        [property: Description("At most this many characters of text are returned (default 20000)."), Range(1, 1_000_000)] int MaxChars = 20_000);
}
