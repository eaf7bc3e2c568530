using System.Diagnostics;
using k8s.Models;

namespace Centaur.Tests.Fakes.FakeKubeApi;

/// <summary>
/// What a pod's container really runs on this machine: a real local process whose stdin/stdout the fake's attach
/// and exec connect to, so bytes truly cross the wire. The pod's home emptyDir is a fresh local folder.
/// </summary>
internal sealed class FakeContainerRuntime
{
    /// <summary>
    /// A stand-in for Centaur.Sandbox speaking the same NDJSON wire: sandbox.started at start, sandbox.setup writes
    /// ~/.ready (and itself to ~/.setup-line, for tests to read) and answers sandbox.ready, turn.start (kept in ~/.turn-line)
    /// answers an assistant line and turn.done echoing the text
    /// ("slow" waits 30 s first when SLOW_TURNS is set, so a test can delete the pod mid-turn).
    /// </summary>
    public const string EchoSandboxScript = """
        printf '{"type":"sandbox.started","sandbox_id":"%s"}\n' "$CENTAUR_SANDBOX_ID"
        while IFS= read -r line; do
          case "$line" in
            *'"type":"sandbox.setup"'*)
              printf '%s\n' "$line" > "$HOME/.setup-line"
              touch "$HOME/.ready"
              printf '{"type":"sandbox.ready","sandbox_id":"%s"}\n' "$CENTAUR_SANDBOX_ID" ;;
            *'"type":"turn.start"'*)
              printf '%s\n' "$line" > "$HOME/.turn-line"
              id=$(printf '%s' "$line" | sed -n 's/.*"turn_id":\([0-9]*\).*/\1/p')
              text=$(printf '%s' "$line" | sed -n 's/.*"text":"\([^"]*\)".*/\1/p')
              if [ "$text" = "slow" ] && [ -n "$SLOW_TURNS" ]; then sleep 30; fi
              printf '{"type":"assistant","message":{"role":"assistant","content":[{"type":"text","text":"echo: %s"}]}}\n' "$text"
              printf '{"type":"turn.done","turn_id":%s,"result":"echo: %s","sandbox_id":"%s","proxy":"%s"}\n' "$id" "$text" "$CENTAUR_SANDBOX_ID" "$HTTPS_PROXY" ;;
          esac
        done
        """;

    /// <summary>Images whose pull fails: their pods stay Pending with ErrImagePull, as on a real node.</summary>
    public HashSet<string> FailingImages { get; } = [];

    /// <summary>How long a pod stays Pending before its process starts (scheduling, image pull).</summary>
    public TimeSpan StartDelay { get; set; } = TimeSpan.FromMilliseconds(150);

    /// <summary>
    /// What a pod's main process runs instead of the echo sandbox (e.g. the FakeSandbox program, which speaks the
    /// control plane's full turn protocol); null: the echo sandbox.
    /// </summary>
    public IReadOnlyList<string>? MainCommand { get; set; }

    /// <summary>The main process of a pod: the echo sandbox (or <see cref="MainCommand"/>) whatever the pod's command says.</summary>
    public ProcessStartInfo MainProcess(V1Pod pod, string home) =>
        MainCommand is { Count: > 0 } command ? Start(pod, home, command[0], command.Skip(1)) : Start(pod, home, "/bin/sh", ["-c", EchoSandboxScript]);

    /// <summary>An exec'd command runs as itself, in the pod's environment and home.</summary>
    public static ProcessStartInfo Exec(V1Pod pod, string home, IReadOnlyList<string> command) => Start(pod, home, command[0], command.Skip(1));

    private static ProcessStartInfo Start(V1Pod pod, string home, string file, IEnumerable<string> arguments)
    {
        var container = pod.Spec.Containers[0];
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = home,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var homeMount = container.VolumeMounts?.FirstOrDefault(m => m.Name == "home")?.MountPath;
        start.Environment.Clear();
        start.Environment["PATH"] = Environment.GetEnvironmentVariable("PATH");
        foreach (var variable in container.Env ?? [])
        {
            var value = variable.ValueFrom?.FieldRef?.FieldPath switch
            {
                "metadata.name" => pod.Metadata.Name,
                "metadata.namespace" => pod.Metadata.NamespaceProperty,
                null => variable.Value,
                var path => throw new NotSupportedException($"fieldRef {path}"),
            };
            start.Environment[variable.Name] = homeMount is not null && value?.StartsWith(homeMount, StringComparison.Ordinal) == true
                ? home + value[homeMount.Length..]
                : value;
        }

        start.Environment["HOME"] = home;
        return start;
    }
}
