namespace Centaur.Tests.Fakes.FakeKubeApi;

/// <summary>The equality-based label selector syntax: <c>a=b</c>, <c>a==b</c>, <c>a!=b</c>, <c>a</c>, <c>!a</c>, comma = and.</summary>
internal sealed class FakeLabelSelector(IReadOnlyList<Func<IDictionary<string, string>, bool>> terms)
{
    public static FakeLabelSelector Parse(string? selector)
    {
        var terms = new List<Func<IDictionary<string, string>, bool>>();
        foreach (var raw in (selector ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (raw.Contains("!=", StringComparison.Ordinal))
            {
                var (key, value) = Split(raw, "!=");
                terms.Add(labels => !labels.TryGetValue(key, out var v) || v != value);
            }
            else if (raw.Contains('=', StringComparison.Ordinal))
            {
                var (key, value) = Split(raw, raw.Contains("==", StringComparison.Ordinal) ? "==" : "=");
                terms.Add(labels => labels.TryGetValue(key, out var v) && v == value);
            }
            else if (raw.StartsWith('!'))
            {
                var key = raw[1..];
                terms.Add(labels => !labels.ContainsKey(key));
            }
            else
            {
                terms.Add(labels => labels.ContainsKey(raw));
            }
        }

        return new FakeLabelSelector(terms);
    }

    public bool Matches(IDictionary<string, string>? labels) => terms.All(t => t(labels ?? new Dictionary<string, string>()));

    private static (string Key, string Value) Split(string term, string op)
    {
        var at = term.IndexOf(op, StringComparison.Ordinal);
        return (term[..at].Trim(), term[(at + op.Length)..].Trim());
    }
}
