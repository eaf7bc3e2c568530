using k8s.Models;

namespace Centaur.Tests.Kubernetes;

public sealed class ManifestGoldenTests
{
    [Fact]
    public async Task CommittedManifestsMatchAFreshGenerationAndHoldNoSecretValue()
    {
        // Every secret parameter gets a recognisable value: the generator must never write one anywhere.
        var secretNames = AspirateOutput.OfType<V1Secret>().Single().StringData.Keys;
        var canaries = secretNames.ToDictionary(name => $"Parameters__{name}", name => $"canary-{name}-7f3a9c");

        var fresh = await AspirateOutput.GenerateAsync(canaries, TestContext.Current.CancellationToken);
        try
        {
            var committed = Files(AspirateOutput.CommittedFolder);
            var generated = Files(fresh);
            var differences = committed.Keys.Union(generated.Keys)
                .Where(f => !committed.TryGetValue(f, out var a) || !generated.TryGetValue(f, out var b) || a != b)
                .Order(StringComparer.Ordinal)
                .ToList();
            Assert.True(differences.Count == 0,
                $"aspirate-output/ is out of date ({string.Join(", ", differences)}); run scripts/generate-manifests.sh and commit the result.");
            foreach (var (file, text) in generated)
            {
                foreach (var canary in canaries.Values)
                {
                    Assert.False(text.Contains(canary, StringComparison.Ordinal), $"{file} contains the value of a secret parameter");
                }
            }
        }
        finally
        {
            Directory.Delete(fresh, recursive: true);
        }
    }

    private static Dictionary<string, string> Files(string folder) =>
        Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(folder, f).Replace('\\', '/'), File.ReadAllText);
}
