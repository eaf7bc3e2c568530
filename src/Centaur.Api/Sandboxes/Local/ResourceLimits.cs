using System.Globalization;

namespace Centaur.Api.Sandboxes.Local;

/// <summary>
/// bubblewrap has no resource limits of its own. Where this process may create cgroup v1 groups (these VMs: hybrid
/// v1, no systemd) every sandbox gets memory, pids and cpu groups under our own; on a systemd host with cgroup v2
/// the sandbox runs in a transient scope (systemd-run --scope); otherwise prlimit caps open files and core dumps only.
/// </summary>
internal abstract class ResourceLimits
{
    public abstract string Mode { get; }

    public abstract string Describe();

    /// <summary>The command that wraps bwrap, and the environment it needs (the cgroup files to join).</summary>
    public abstract SandboxLimits Prepare(string sandboxId);

    public static ResourceLimits Detect(LocalSandboxOptions options)
    {
        if (CgroupV1Limits.TryCreate(options) is { } v1)
        {
            return v1;
        }

        if (File.Exists("/sys/fs/cgroup/cgroup.controllers") && Directory.Exists("/run/systemd/system") && Which("systemd-run") is { } systemdRun)
        {
            return new SystemdScopeLimits(options, systemdRun);
        }

        return new PrlimitLimits(options, Which("prlimit"));
    }

    internal static string? Which(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':')
            .Select(dir => Path.Combine(dir, name)).FirstOrDefault(File.Exists);
}

/// <summary>How one sandbox is limited: a prefix for the command line, environment for it, and cleanup.</summary>
internal sealed class SandboxLimits(IReadOnlyList<string> prefix, IReadOnlyDictionary<string, string> environment, Action cleanup)
{
    public static readonly SandboxLimits None = new([], new Dictionary<string, string>(), () => { });

    public IReadOnlyList<string> Prefix { get; } = prefix;

    public IReadOnlyDictionary<string, string> Environment { get; } = environment;

    public void Cleanup() => cleanup();
}

internal sealed class CgroupV1Limits(LocalSandboxOptions options, IReadOnlyDictionary<string, string> parents) : ResourceLimits
{
    // The launcher shell joins the groups and then execs bwrap, so bwrap and everything under it is counted.
    private const string JoinScript = "for f in $CENTAUR_CGROUP_PROCS; do echo $$ > \"$f\" || exit 125; done; unset CENTAUR_CGROUP_PROCS; exec \"$@\"";

    public override string Mode => "cgroup-v1";

    public override string Describe() =>
        $"cgroup v1 (memory {options.MemoryLimitMb} MiB, pids {options.PidsLimit}, cpu {options.CpuPercent}%)";

    public static CgroupV1Limits? TryCreate(LocalSandboxOptions options)
    {
        var parents = new Dictionary<string, string>();
        try
        {
            foreach (var line in File.ReadAllLines("/proc/self/cgroup"))
            {
                // "4:memory:/process_api/abc": nest under our own group so the host's limits still apply.
                var parts = line.Split(':', 3);
                if (parts.Length == 3 && parts[1] is "memory" or "pids" or "cpu,cpuacct" or "cpu")
                {
                    var controller = parts[1] == "cpu,cpuacct" ? "cpu" : parts[1];
                    var root = Path.Combine("/sys/fs/cgroup", parts[1]);
                    if (!Directory.Exists(root))
                    {
                        root = Path.Combine("/sys/fs/cgroup", controller);
                    }

                    parents[controller] = Path.Combine(root + parts[2].TrimEnd('/'), "centaur");
                }
            }

            if (parents.Count < 3)
            {
                return null;
            }

            foreach (var parent in parents.Values)
            {
                Directory.CreateDirectory(parent);
            }

            return new CgroupV1Limits(options, parents);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public override SandboxLimits Prepare(string sandboxId)
    {
        var groups = parents.ToDictionary(p => p.Key, p => Path.Combine(p.Value, sandboxId));
        foreach (var group in groups.Values)
        {
            Directory.CreateDirectory(group);
        }

        Write(groups["memory"], "memory.limit_in_bytes", (options.MemoryLimitMb * 1024L * 1024L).ToString(CultureInfo.InvariantCulture));
        Write(groups["pids"], "pids.max", options.PidsLimit.ToString(CultureInfo.InvariantCulture));
        Write(groups["cpu"], "cpu.cfs_period_us", "100000");
        Write(groups["cpu"], "cpu.cfs_quota_us", (options.CpuPercent * 1000L).ToString(CultureInfo.InvariantCulture));

        var procs = string.Join(' ', groups.Values.Select(g => Path.Combine(g, "cgroup.procs")));
        return new SandboxLimits(
            ["/bin/sh", "-c", JoinScript, "centaur-cgroup"],
            new Dictionary<string, string> { ["CENTAUR_CGROUP_PROCS"] = procs },
            () => Remove(groups.Values));
    }

    /// <summary>Stale groups of sandboxes from an earlier API process (they died with it).</summary>
    public void RemoveStale(IEnumerable<string> keep)
    {
        var live = keep.ToHashSet(StringComparer.Ordinal);
        foreach (var parent in parents.Values)
        {
            Remove(Directory.EnumerateDirectories(parent).Where(d => !live.Contains(Path.GetFileName(d))));
        }
    }

    private static void Write(string group, string file, string value) => File.WriteAllText(Path.Combine(group, file), value);

    private static void Remove(IEnumerable<string> groups)
    {
        foreach (var group in groups)
        {
            // A group can only go once its last process has; the caller waited for the sandbox to exit.
            for (var attempt = 0; attempt < 20; attempt++)
            {
                try
                {
                    Directory.Delete(group);
                    break;
                }
                catch (IOException) when (attempt < 19)
                {
                    Thread.Sleep(25);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    break;
                }
            }
        }
    }
}

internal sealed class SystemdScopeLimits(LocalSandboxOptions options, string systemdRun) : ResourceLimits
{
    public override string Mode => "systemd-scope";

    public override string Describe() =>
        $"systemd scope on cgroup v2 (MemoryMax {options.MemoryLimitMb} MiB, TasksMax {options.PidsLimit}, CPUQuota {options.CpuPercent}%)";

    public override SandboxLimits Prepare(string sandboxId)
    {
        List<string> prefix = [systemdRun];
        if (Environment.UserName != "root")
        {
            prefix.Add("--user");
        }

        prefix.AddRange(
        [
            "--scope", "--quiet", "--collect", $"--unit=centaur-sandbox-{sandboxId}",
            "-p", $"MemoryMax={options.MemoryLimitMb}M",
            "-p", $"TasksMax={options.PidsLimit}",
            "-p", $"CPUQuota={options.CpuPercent}%",
            "--",
        ]);
        return new SandboxLimits(prefix, new Dictionary<string, string>(), () => { });
    }
}

internal sealed class PrlimitLimits(LocalSandboxOptions options, string? prlimit) : ResourceLimits
{
    public override string Mode => prlimit is null ? "none" : "prlimit";

    public override string Describe() => prlimit is null
        ? "none: no writable cgroup, no systemd scope, no prlimit (memory, cpu and pids are unlimited)"
        : $"prlimit only (nofile {options.OpenFilesLimit}, core 0): no writable cgroup or systemd scope, so memory, cpu and pids are unlimited";

    public override SandboxLimits Prepare(string sandboxId) => prlimit is null
        ? SandboxLimits.None
        : new SandboxLimits([prlimit, $"--nofile={options.OpenFilesLimit}:{options.OpenFilesLimit}", "--core=0", "--"], new Dictionary<string, string>(), () => { });
}
