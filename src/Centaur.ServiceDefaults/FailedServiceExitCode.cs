using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// A BackgroundService that throws stops the host (HostOptions' default, StopHost), yet the process still exits 0 on
/// .NET 10, so a supervisor (DCP, systemd, Kubernetes) would read a crash as a clean stop and the failure would look
/// like nothing happened. After the host has stopped, this turns such a stop into a failing exit code.
/// </summary>
internal sealed class FailedServiceExitCode(IServiceProvider services, IHostApplicationLifetime lifetime) : IHostedService
{
    /// <summary>EX_SOFTWARE from sysexits.h: an internal software error.</summary>
    public const int Code = 70;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // ApplicationStopped fires after every hosted service has stopped, so a failed ExecuteTask is settled by then.
        lifetime.ApplicationStopped.Register(() =>
        {
            if (AnyFailed(services))
            {
                Environment.ExitCode = Code;
            }
        });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public static bool AnyFailed(IServiceProvider services) =>
        services.GetServices<IHostedService>().OfType<BackgroundService>().Any(service => service.ExecuteTask is { IsFaulted: true });
}
