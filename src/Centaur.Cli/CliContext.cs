using Centaur.Cli.Api;
using Centaur.Cli.Rendering;

namespace Centaur.Cli;

/// <summary>What every command gets: the API client for --api/--key and the terminal it writes to.</summary>
internal sealed class CliContext(CentaurApiClient api, Terminal terminal) : IDisposable
{
    public const string DefaultApiUrl = "http://localhost:5080";

    public CentaurApiClient Api => api;

    public Terminal Terminal => terminal;

    public void Dispose() => api.Dispose();
}
