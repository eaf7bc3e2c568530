using System.Diagnostics;
using k8s;

namespace Centaur.Tests.Kubernetes;

/// <summary>The committed aspirate-output/ folder, and a fresh generation of it by the real AppHost.</summary>
internal static class AspirateOutput
{
    public static string RepositoryRoot { get; } = FindRoot();

    public static string CommittedFolder => Path.Combine(RepositoryRoot, "aspirate-output");

    /// <summary>Every Kubernetes object of the kustomize layout (the Secret template included), with its file.</summary>
    public static IReadOnlyList<(string File, object Object)> LoadObjects(string folder)
    {
        var objects = new List<(string, object)>();
        foreach (var file in Directory.EnumerateFiles(folder, "*.yaml").Order(StringComparer.Ordinal))
        {
            if (Path.GetFileName(file) == "kustomization.yaml")
            {
                continue;
            }

            foreach (var item in KubernetesYaml.LoadAllFromString(File.ReadAllText(file), strict: true))
            {
                objects.Add((Path.GetFileName(file), item));
            }
        }

        return objects;
    }

    public static IEnumerable<T> OfType<T>() => LoadObjects(CommittedFolder).Select(o => o.Object).OfType<T>();

    /// <summary>Runs the AppHost's publish step (what scripts/generate-manifests.sh does) into a new folder.</summary>
    public static async Task<string> GenerateAsync(IReadOnlyDictionary<string, string> environment, CancellationToken cancellationToken)
    {
        var output = Path.Combine(Path.GetTempPath(), $"centaur-manifests-{Guid.NewGuid():N}");
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
            ? "Release"
            : "Debug";
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList =
            {
                "run", "--project", Path.Combine(RepositoryRoot, "src", "Centaur.AppHost"), "--no-build", "-c", configuration, "--",
                "--operation", "publish", "--step", "kubernetes-manifests", "--output-path", output,
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = RepositoryRoot,
        };
        start.Environment["ASPIRE_VERSION_CHECK_DISABLED"] = "true";
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(3));
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"the publish step failed ({process.ExitCode}):\n{await stdout}\n{await stderr}");
        }

        return output;
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Centaur.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Centaur.sln not found above " + AppContext.BaseDirectory);
    }
}
