using Doppel.Testing;

namespace Doppel.EndToEnd.Tests.Support;

/// <summary>
/// The one mini-cluster every end-to-end test shares, and the programs they run:
/// <code>
///  developer netns (lo only)            pod network 10.244.0.0/24
///  ┌──────────────────────────────┐     ┌────────────────────────────────────────────────┐
///  │ doppel exec -t pid/BFF -- app│     │ bff (runc container): env, /app/..., symlinks  │
///  │   └ doppel-agent ──setns─────┼────►│ backend: HTTP 80, UDP echo 9090, TCP echo 7070 │
///  └──────────────────────────────┘     │ other: HTTP 80        kube-dns: dnsmasq (.2)   │
///                                       └────────────────────────────────────────────────┘
/// </code>
/// The apps and their scripts live in a work directory under /tmp, which doppel keeps local.
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public const string BackendBody = "hello from backend\n";
    public const string OtherBody = "hello from other\n";
    public const string ConfigJson = "{\"db\":\"postgres\",\"replicas\":3}\n";

    /// <summary>The content of the pod's /app/site/conf/settings.ini (a directory that exists only in the pod).</summary>
    public const string SettingsIni = "[site]\nname=bff\n";

    public const string PodDatabaseUrl = "postgres://db.default.svc.cluster.local/app";
    public const int UdpEchoPort = 9090;
    public const int TcpEchoPort = 7070;

    private MiniCluster? _cluster;

    public MiniCluster Cluster => _cluster ?? throw new InvalidOperationException("The mini-cluster did not start.");

    /// <summary>The app's pod (a runc container, so /app/... are real paths in its own root).</summary>
    public Pod Bff => Cluster["bff"];

    public Pod Backend => Cluster["backend"];

    public Pod Other => Cluster["other"];

    public static string BackendName { get; } = MiniCluster.ServiceFqdn("backend");

    public static string OtherName { get; } = MiniCluster.ServiceFqdn("other");

    /// <summary>A directory under /tmp (local by default) for scripts, configs and built programs; it is doppel's working directory.</summary>
    public string WorkDirectory { get; } = Directory.CreateTempSubdirectory("doppel-e2e-").FullName;

    public static string Python { get; } = new[] { "/usr/bin/python3", "/usr/local/bin/python3" }.FirstOrDefault(File.Exists) ?? "python3";

    public string GoFetch { get; private set; } = "";

    public string DotnetFetch { get; private set; } = "";

    /// <summary>A path under /tmp that exists both here ("from the developer") and in the pod ("from the pod").</summary>
    public string SharedTmpPath { get; private set; } = "";

    public async Task InitializeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var go = CompiledPrograms.BuildGoAsync(Path.Combine(WorkDirectory, "go"), timeout.Token);
        var dotnet = CompiledPrograms.BuildDotnetAsync(Path.Combine(WorkDirectory, "dotnet"), timeout.Token);
        _cluster = await MiniCluster.StartAsync(Options(), timeout.Token);

        // Symlinks that try to leave the container: absolute, and relative with more ".." than the depth.
        File.CreateSymbolicLink(Bff.HostPath("/app/shadow"), "/etc/shadow");
        File.CreateSymbolicLink(Bff.HostPath("/app/escape"), "../../../etc/shadow");
        var mtime = new DateTime(2020, 1, 2, 3, 4, 5, DateTimeKind.Utc);
        foreach (var name in new[] { "a.txt", "b.txt" })
        {
            File.SetLastWriteTimeUtc(Bff.HostPath("/app/data/" + name), mtime);
        }

        SharedTmpPath = $"/tmp/doppel-e2e-{Cluster.Prefix}.txt";
        await File.WriteAllTextAsync(SharedTmpPath, "from the developer\n", timeout.Token);
        await File.WriteAllTextAsync(Bff.HostPath(SharedTmpPath), "from the pod\n", timeout.Token);

        GoFetch = await go;
        DotnetFetch = await dotnet;
    }

    public async Task DisposeAsync()
    {
        if (SharedTmpPath.Length > 0)
        {
            File.Delete(SharedTmpPath);
        }

        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }

        Directory.Delete(WorkDirectory, recursive: true);
        Assert.Empty(_cluster?.CleanupFailures ?? []);
    }

    /// <summary>Writes a file (a script, a config) into the work directory and returns its path.</summary>
    public string WriteFile(string name, string content)
    {
        var path = Path.Combine(WorkDirectory, name);
        File.WriteAllText(path, content);
        return path;
    }

    /// <summary>Runs <c>doppel exec ARGS</c> in the developer namespace, from the work directory, to its end.</summary>
    public async Task<DoppelExecResult> ExecAsync(IReadOnlyList<string> args, IReadOnlyDictionary<string, string?>? environment = null)
    {
        await using var doppel = Start(args, environment);
        return await doppel.WaitAsync(TimeSpan.FromSeconds(60));
    }

    /// <summary>Starts <c>doppel exec ARGS</c> in the developer namespace, from the work directory.</summary>
    public DoppelExecProcess Start(IReadOnlyList<string> args, IReadOnlyDictionary<string, string?>? environment = null)
        => DoppelExecProcess.Start(RepoPaths.Doppel, Cluster.Developer.Name, args, WorkDirectory, environment);

    private static MiniClusterOptions Options() => new()
    {
        // A pod's JIT-compiled .NET server (the gRPC echo) needs more than the default 15 s to
        // listen on a machine loaded by parallel builds (measured: 1 s of CPU in its first 7 s at load 40).
        ReadyTimeout = TimeSpan.FromSeconds(60),
        Pods =
        {
            new PodSpec("bff")
            {
                Runtime = PodRuntime.Container,
                Env =
                {
                    ["DATABASE_URL"] = PodDatabaseUrl,
                    ["FEATURE_FLAG"] = "on",
                    ["SECRET_TOKEN"] = "pod-secret",
                    ["LOG_LEVEL"] = "debug",
                    ["HOME"] = "/home/bff",
                },
                Files =
                {
                    ["/app/config.json"] = ConfigJson,
                    ["/app/data/a.txt"] = "alpha\n",
                    ["/app/data/b.txt"] = "bravo bravo\n",
                    ["/app/secret/token.txt"] = "pod-secret\n",
                    ["/app/ro/existing.txt"] = "before\n",
                    ["/app/rw/existing.txt"] = "before\n",
                    ["/app/rw/obsolete.txt"] = "to be removed\n",
                    ["/app/site/conf/settings.ini"] = SettingsIni,
                },
            },
            new PodSpec("backend")
            {
                Servers = { PodServer.Http(80, BackendBody), PodServer.UdpEcho(UdpEchoPort), PodServer.TcpEcho(TcpEchoPort) },
            },
            new PodSpec("other") { Servers = { PodServer.Http(80, OtherBody) } },
        },
    };
}
