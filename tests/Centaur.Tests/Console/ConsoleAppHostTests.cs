using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;
using Centaur.Tests.Infrastructure;

namespace Centaur.Tests.Clients;

/// <summary>The console as the AppHost runs it: linked from the dashboard, served by the api resource, usable with the admin key.</summary>
[Collection(AppCollection.Name)]
public sealed partial class ConsoleAppHostTests(CentaurAppFixture fixture)
{
    [Fact]
    public async Task TheDashboardLinksToTheConsoleAndTheAdminKeySignsIn()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var api = await fixture.App.ResourceNotifications.WaitForResourceAsync("api",
            e => e.Snapshot.Urls.Any(u => u.Url.EndsWith("/console", StringComparison.Ordinal)), cancellationToken)
            .WaitAsync(TimeSpan.FromMinutes(1), cancellationToken);
        var link = api.Snapshot.Urls.Single(u => u.Url.EndsWith("/console", StringComparison.Ordinal));
        var adminKey = await fixture.App.Services.GetRequiredService<DistributedApplicationModel>().Resources.OfType<ParameterResource>().Single(p => p.Name == "admin-api-key").GetValueAsync(cancellationToken);
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { Timeout = TimeSpan.FromSeconds(30) };

        using var anonymous = await http.GetAsync(link.Url, cancellationToken);
        using var login = await http.GetAsync(new Uri(new Uri(link.Url), "/console/login"), cancellationToken);
        var page = await login.Content.ReadAsStringAsync(cancellationToken);
        using var stylesheet = await http.GetAsync(new Uri(new Uri(link.Url), "/" + StylesheetHref().Match(page).Groups[1].Value), cancellationToken);
        using var signedIn = new HttpRequestMessage(HttpMethod.Get, link.Url);
        signedIn.Headers.Add("Cookie", $"centaur_key={adminKey}");
        using var threads = await http.SendAsync(signedIn, cancellationToken);
        using var keyAsBearer = new HttpRequestMessage(HttpMethod.Get, new Uri(new Uri(link.Url), "/agent/threads"));
        keyAsBearer.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminKey);
        using var apiCall = await http.SendAsync(keyAsBearer, cancellationToken);

        Assert.Equal("Console", link.DisplayProperties.DisplayName);
        Assert.Equal(HttpStatusCode.Redirect, anonymous.StatusCode);
        Assert.Equal("/console/login?returnUrl=%2Fconsole", anonymous.Headers.Location?.OriginalString);
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        Assert.Contains("__RequestVerificationToken", page, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, stylesheet.StatusCode);
        Assert.Equal("text/css", stylesheet.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.OK, threads.StatusCode);
        Assert.Contains("New conversation", await threads.Content.ReadAsStringAsync(cancellationToken), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, apiCall.StatusCode);
    }

    [GeneratedRegex("""<link rel="stylesheet" href="([^"]+)" """)]
    private static partial Regex StylesheetHref();
}
