using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Kubernetes;
using Aspire.Hosting.Pipelines;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Aspire.Hosting;

public static class KubernetesManifestStep
{
    public const string StepName = "kubernetes-manifests";

    /// <summary>
    /// A publish step that walks the app model and writes a kustomize layout (namespaces, workloads, Postgres, RBAC,
    /// NetworkPolicies, Secret templates, Dockerfiles) into the output folder:
    /// <c>dotnet run --project src/Centaur.AppHost -- --operation publish --step kubernetes-manifests --output-path aspirate-output</c>
    /// (scripts/generate-manifests.sh). The files are committed; a test regenerates them and fails on any difference.
    /// </summary>
    public static IDistributedApplicationBuilder AddKubernetesManifests(this IDistributedApplicationBuilder builder)
    {
        var repositoryRoot = FindRepositoryRoot(builder.AppHostDirectory);
        var options = new ManifestOptions(
            ApiServerCidr: builder.Configuration["KubernetesManifests:ApiServerCidr"] ?? "0.0.0.0/0",
            PostgresStorage: builder.Configuration["KubernetesManifests:PostgresStorage"] ?? "10Gi");
        builder.Pipeline.AddStep(StepName, async context =>
        {
            var output = context.Services.GetRequiredService<IPipelineOutputService>().GetOutputDirectory();
            var files = await ManifestGenerator.GenerateAsync(context.Model, context.ExecutionContext, repositoryRoot, options, context.CancellationToken);
            ManifestGenerator.Write(output, files);
            context.Logger.LogInformation("Wrote {Count} Kubernetes files to {Output}", files.Count, output);
        }, requiredBy: WellKnownPipelineSteps.Publish);
        return builder;
    }

    private static string FindRepositoryRoot(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Centaur.sln")))
            {
                return dir.FullName;
            }
        }

        return Path.GetFullPath(Path.Combine(start, "..", ".."));
    }
}

internal sealed record ManifestOptions(string ApiServerCidr, string PostgresStorage);
