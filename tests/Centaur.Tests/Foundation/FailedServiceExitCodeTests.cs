using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Centaur.Tests.Foundation;

/// <summary>
/// Every service's defaults make a crashed background loop a failing exit, so whatever supervises the process (DCP,
/// systemd, Kubernetes) sees a failure and not a clean stop. The tests run a real host in this process and restore
/// the process-wide exit code after each one.
/// </summary>
public sealed class FailedServiceExitCodeTests
{
    [Fact]
    public async Task AHostStoppedByAFailedBackgroundServiceExitsWithAFailingCode()
    {
        Assert.Equal(70, await ExitCodeAfterRunningAsync<FailingLoop>());
    }

    [Fact]
    public async Task AHostStoppedOnPurposeKeepsExitCodeZero()
    {
        Assert.Equal(0, await ExitCodeAfterRunningAsync<StoppingLoop>());
    }

    private static async Task<int> ExitCodeAfterRunningAsync<TLoop>() where TLoop : BackgroundService
    {
        var previous = Environment.ExitCode;
        try
        {
            Environment.ExitCode = 0;
            var builder = Host.CreateApplicationBuilder();
            builder.Logging.ClearProviders();
            builder.AddBasicServiceDefaults();
            builder.Services.AddHostedService<TLoop>();
            using var host = builder.Build();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await host.RunAsync(timeout.Token);
            Assert.False(timeout.IsCancellationRequested, "the host did not stop by itself");
            return Environment.ExitCode;
        }
        finally
        {
            Environment.ExitCode = previous;
        }
    }

    private sealed class FailingLoop : BackgroundService
    {
        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            await Task.Delay(50, stoppingToken);
            throw new InvalidOperationException("the loop broke");
        }
    }

    /// <summary>A clean stop: the application asks to stop itself, nothing failed.</summary>
    private sealed class StoppingLoop(IHostApplicationLifetime lifetime) : BackgroundService
    {
        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            await Task.Delay(50, stoppingToken);
            lifetime.StopApplication();
        }
    }
}
