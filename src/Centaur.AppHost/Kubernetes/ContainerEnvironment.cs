using Aspire.Hosting.ApplicationModel;
using k8s.Models;

namespace Aspire.Hosting.Kubernetes;

/// <summary>
/// A workload's environment split by sensitivity: plain values go to its ConfigMap (envFrom); a value that is exactly
/// one secret becomes a secretKeyRef; a value that mixes text and secrets (a connection string with a password) is
/// written as env with $(VAR) references to secretKeyRef variables declared before it, so the manifests never hold
/// a secret and the cluster assembles the value when the container starts.
/// </summary>
internal sealed class ContainerEnvironment
{
    public SortedDictionary<string, string> ConfigMapData { get; } = new(StringComparer.Ordinal);

    public List<V1EnvVar> Env { get; } = [];

    /// <summary>Every secret parameter the values reference, so the Secret template and README list them all.</summary>
    public HashSet<ParameterResource> Secrets { get; } = [];

    public static ContainerEnvironment From(IEnumerable<KeyValuePair<string, object?>> variables)
    {
        var result = new ContainerEnvironment();
        var helpers = new SortedSet<string>(StringComparer.Ordinal);
        var direct = new List<V1EnvVar>();
        var assembled = new List<V1EnvVar>();
        foreach (var (name, value) in variables.OrderBy(v => v.Key, StringComparer.Ordinal))
        {
            if (ModelValueRenderer.IsHttpsEndpoint(value))
            {
                continue;
            }

            var segments = ModelValueRenderer.Render(value);
            result.Secrets.UnionWith(segments.Select(s => s.Secret).OfType<ParameterResource>());
            if (segments.All(s => s.SecretParameter is null))
            {
                result.ConfigMapData[name] = string.Concat(segments.Select(s => s.Literal));
            }
            else if (segments is [{ SecretParameter: { } only }])
            {
                direct.Add(SecretRef(name, only));
            }
            else
            {
                var text = string.Concat(segments.Select(s => s.SecretParameter is { } secret
                    ? $"$({HelperName(secret)})"
                    : s.Literal!.Replace("$(", "$$(", StringComparison.Ordinal)));
                foreach (var secret in segments.Select(s => s.SecretParameter).OfType<string>())
                {
                    helpers.Add(secret);
                }

                assembled.Add(new V1EnvVar { Name = name, Value = text });
            }
        }

        // Kubernetes expands $(VAR) only for variables declared earlier in the list.
        result.Env.AddRange(helpers.Select(h => SecretRef(HelperName(h), h)));
        result.Env.AddRange(direct);
        result.Env.AddRange(assembled);
        return result;
    }

    public static string HelperName(string secretParameter) =>
        "CENTAUR_SECRET_" + secretParameter.ToUpperInvariant().Replace('-', '_').Replace('.', '_');

    private static V1EnvVar SecretRef(string name, string secretParameter) => new()
    {
        Name = name,
        ValueFrom = new V1EnvVarSource
        {
            SecretKeyRef = new V1SecretKeySelector { Name = KubernetesNames.SecretName, Key = secretParameter },
        },
    };
}
