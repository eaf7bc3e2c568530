namespace Centaur.Api.Sandboxes.Local;

/// <summary>
/// The command line and environment of one sandbox. Isolated: bubblewrap with a new user (uid 1000, no
/// capabilities: started by root, bwrap would otherwise keep them all), PID, IPC, UTS and network namespaces; /usr
/// and a copy of a short list of /etc read-only (not all of /etc: as root's mapped user the sandbox could read
/// root-only files there); only $HOME writable; a private /tmp; the harnesses, the runtime and the sockets mounted in.
/// </summary>
internal static class SandboxCommand
{
    public const string Home = "/home/agent";
    public const string RuntimeMount = "/opt/centaur/runtime";


    /// <summary>Centaur.Sandbox, published Native AOT into the runtime folder (SandboxRuntime.targets).</summary>
    public const string RuntimeBinary = "centaur-sandbox";

    public const string HarnessMount = "/opt/centaur/harnesses";
    public const string OverlayMount = "/opt/centaur/overlay";
    public const string CaMount = "/opt/centaur/ca/proxy-ca.pem";
    public const string EgressSocketMount = "/run/centaur/egress.sock";
    public const string ApiSocketMount = "/run/centaur/api.sock";

    /// <summary>What a shell, git, node and .NET need from /etc; nothing with credentials (shadow, ssh keys, ...).</summary>
    private static readonly string[] s_etc =
    [
        "alternatives", "ssl", "ca-certificates", "ca-certificates.conf", "hosts", "host.conf", "nsswitch.conf", "ld.so.cache",
        "ld.so.conf", "ld.so.conf.d", "localtime", "timezone", "bash.bashrc", "profile", "profile.d", "inputrc", "mime.types",
        "os-release", "debian_version", "gitconfig", "dotnet", "environment", "services", "protocols",
    ];

    public sealed record Paths(
        string RuntimeDirectory,
        string HarnessDirectory,
        string EtcDirectory,
        string ApiSocket,
        string? EgressSocket,
        string? ProxyCaFile,
        string? OverlayDirectory,
        string RuntimeTempDirectory);

    public static List<string> Bubblewrap(string bwrap, string sandboxId, string home, Paths paths)
    {
        List<string> args =
        [
            bwrap,
            "--unshare-user", "--uid", "1000", "--gid", "1000",
            "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-net", "--unshare-cgroup-try",
            "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--hostname", Hostname(sandboxId),
            "--ro-bind", "/usr", "/usr",
            "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/bin", "/bin", "--symlink", "usr/sbin", "/sbin",
            "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/run",
            "--ro-bind", paths.EtcDirectory, "/etc",
        ];
        args.AddRange(["--ro-bind", paths.RuntimeDirectory, RuntimeMount, "--ro-bind", paths.HarnessDirectory, HarnessMount]);
        args.AddRange(["--ro-bind", paths.ApiSocket, ApiSocketMount]);
        if (paths.EgressSocket is { } egress)
        {
            args.AddRange(["--ro-bind", egress, EgressSocketMount]);
        }

        if (paths.ProxyCaFile is { } ca)
        {
            args.AddRange(["--ro-bind", ca, CaMount]);
        }

        if (paths.OverlayDirectory is { } overlay)
        {
            args.AddRange(["--ro-bind", overlay, OverlayMount]);
        }

        // The root itself (bwrap's tmpfs) is made read-only last: only $HOME, /tmp and /run stay writable.
        args.AddRange(["--bind", home, Home, "--remount-ro", "/", "--chdir", Home, "--clearenv"]);
        args.AddRange(["--", Path.Combine(RuntimeMount, RuntimeBinary)]);
        return args;
    }

    /// <summary>
    /// Makes the sandboxes' /etc under <paramref name="runDirectory"/> and returns it: a copy of the entries above,
    /// only what any user of this machine may read (so not /etc/ssl/private), and Centaur's own passwd and group (uid
    /// 1000 is "agent" inside, whatever the host says about 1000). Made when the backend starts and mounted read-only
    /// as one folder: a bind mount per entry cost bubblewrap ~13 ms of every sandbox start on a busy host. Named by
    /// its content, so a restart with the same host /etc leaves the folder that running sandboxes see untouched.
    /// </summary>
    public static string WriteEtc(string runDirectory)
    {
        var next = Path.Combine(runDirectory, "etc.new");
        if (Directory.Exists(next))
        {
            Directory.Delete(next, recursive: true);
        }

        Directory.CreateDirectory(next);
        foreach (var entry in s_etc)
        {
            CopyReadable(Path.Combine("/etc", entry), Path.Combine(next, entry));
        }

        File.WriteAllText(Path.Combine(next, "passwd"), "root:x:0:0:root:/root:/usr/sbin/nologin\nagent:x:1000:1000:Centaur agent:/home/agent:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
        File.WriteAllText(Path.Combine(next, "group"), "root:x:0:\nagent:x:1000:\nnogroup:x:65534:\n");

        var etc = Path.Combine(runDirectory, "etc-" + ContentHash(next));
        if (Directory.Exists(etc))
        {
            Directory.Delete(next, recursive: true);
        }
        else
        {
            Directory.Move(next, etc);
        }

        foreach (var stale in Directory.EnumerateDirectories(runDirectory, "etc-*").Where(d => d != etc))
        {
            Directory.Delete(stale, recursive: true); // an earlier host /etc; its sandboxes died with their API process
        }

        return etc;
    }

    private static string ContentHash(string directory)
    {
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        foreach (var path in Directory.EnumerateFileSystemEntries(directory, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(Path.GetRelativePath(directory, path) + "\0" + new FileInfo(path).LinkTarget + "\0"));
            if (File.Exists(path) && new FileInfo(path).LinkTarget is null)
            {
                hash.AppendData(File.ReadAllBytes(path));
            }
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset())[..16];
    }

    private static void CopyReadable(string source, string destination)
    {
        var entry = new FileInfo(source);
        if (entry.LinkTarget is { } target)
        {
            File.CreateSymbolicLink(destination, target); // e.g. /etc/alternatives, /etc/ssl/certs: into /usr, mounted too
            return;
        }

        if (!Path.Exists(source) || (!OperatingSystem.IsWindows() && !File.GetUnixFileMode(source).HasFlag(UnixFileMode.OtherRead)))
        {
            return;
        }

        if (Directory.Exists(source))
        {
            Directory.CreateDirectory(destination);
            foreach (var child in Directory.EnumerateFileSystemEntries(source))
            {
                CopyReadable(child, Path.Combine(destination, Path.GetFileName(child)));
            }
        }
        else
        {
            File.Copy(source, destination);
        }
    }

    /// <summary>The sandbox's hostname names it (the control plane's ids already start with "sbx-").</summary>
    public static string Hostname(string sandboxId)
    {
        var name = sandboxId.StartsWith("sbx-", StringComparison.Ordinal) ? sandboxId : "sbx-" + sandboxId;
        return name.Length > 63 ? name[..63] : name;
    }

    /// <summary>The environment inside an isolated sandbox: placeholders only, never a real secret.</summary>
    public static Dictionary<string, string> IsolatedEnvironment(string sandboxId, LocalSandboxOptions options, Paths paths, IReadOnlyDictionary<string, string> extra)
    {
        var env = Common(sandboxId, options, extra);
        env["HOME"] = Home;
        env["CENTAUR_SANDBOX_ID"] = sandboxId;
        env["PATH"] = $"{HarnessMount}/node_modules/.bin:{RuntimeMount}/Content/path:/usr/local/bin:/usr/bin:/bin";
        env["CENTAUR_HARNESS_BIN"] = $"{HarnessMount}/node_modules/.bin";
        env["CENTAUR_RUNTIME_DIR"] = "/tmp/centaur";
        env["CENTAUR_API_SOCKET"] = ApiSocketMount;
        env["CENTAUR_API_PORT"] = "8788";
        if (paths.EgressSocket is not null)
        {
            env["CENTAUR_EGRESS_SOCKET"] = EgressSocketMount;
            env["CENTAUR_EGRESS_PORT"] = "8787";
        }

        if (paths.ProxyCaFile is not null)
        {
            env["CENTAUR_PROXY_CA"] = CaMount;
        }

        return env;
    }

    /// <summary>Unisolated (no bubblewrap, development only): host paths and free ports, since sandboxes share the network.</summary>
    public static Dictionary<string, string> UnisolatedEnvironment(string sandboxId, string home, LocalSandboxOptions options, Paths paths, IReadOnlyDictionary<string, string> extra)
    {
        var env = Common(sandboxId, options, extra);
        var bin = Path.Combine(paths.HarnessDirectory, "node_modules", ".bin");
        env["HOME"] = home;
        env["CENTAUR_SANDBOX_ID"] = sandboxId;
        env["PATH"] = $"{bin}:{Path.Combine(paths.RuntimeDirectory, "Content", "path")}:/usr/local/bin:/usr/bin:/bin";
        env["CENTAUR_HARNESS_BIN"] = bin;
        env["CENTAUR_RUNTIME_DIR"] = paths.RuntimeTempDirectory;
        env["CENTAUR_API_SOCKET"] = paths.ApiSocket;
        env["CENTAUR_API_PORT"] = "0";
        if (paths.EgressSocket is { } egress)
        {
            env["CENTAUR_EGRESS_SOCKET"] = egress;
            env["CENTAUR_EGRESS_PORT"] = "0";
        }

        if (paths.ProxyCaFile is { } ca)
        {
            env["CENTAUR_PROXY_CA"] = ca;
        }

        return env;
    }

    private static Dictionary<string, string> Common(string sandboxId, LocalSandboxOptions options, IReadOnlyDictionary<string, string> extra)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["USER"] = "agent",
            ["LOGNAME"] = "agent",
            ["LANG"] = "C.UTF-8",
            ["TERM"] = "dumb",
            ["TMPDIR"] = "/tmp",
            ["CENTAUR_SANDBOX_ID"] = sandboxId,
            ["ANTHROPIC_API_KEY"] = "centaur-placeholder:anthropic-api-key",
            ["OPENAI_API_KEY"] = "centaur-placeholder:openai-api-key",
            ["AMP_API_KEY"] = "centaur-placeholder:amp-api-key",
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["DOTNET_NOLOGO"] = "1",
            // No diagnostics IPC socket in /tmp.
            ["DOTNET_EnableDiagnostics"] = "0",
        };
        Set(env, "CENTAUR_ANTHROPIC_BASE_URL", options.AnthropicBaseUrl);
        Set(env, "CENTAUR_OPENAI_BASE_URL", options.OpenAiBaseUrl);
        Set(env, "CENTAUR_AMP_URL", options.AmpUrl);
        // The control plane's extras (thread, harness, token, ...) come first; what makes the sandbox work is set by
        // the caller afterwards. Host URLs of the API and the proxy mean nothing in a sandbox without a network: the
        // runtime reaches both through their sockets.
        foreach (var (key, value) in extra)
        {
            if (key is not ("CENTAUR_API_URL" or "CENTAUR_PROXY_URL" or "HTTPS_PROXY" or "HTTP_PROXY" or "https_proxy" or "http_proxy"))
            {
                env[key] = value;
            }
        }

        return env;
    }

    private static void Set(Dictionary<string, string> env, string key, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            env[key] = value;
        }
    }
}
