using System.Diagnostics;
using System.Net;
using Doppel.Testing.Internal;

namespace Doppel.Testing;

/// <summary>
/// The real single-node Kubernetes (v1.20 from DOPPEL_KUBE_BIN) of <c>scripts/kube-cluster.sh</c>:
/// etcd, the control plane, containerd + runc, kubelet and kube-proxy as plain root processes,
/// pods on bridge dkbr0 (10.245.0.0/24, node 10.245.0.1), Services in 10.97.0.0/16, cluster DNS
/// at 10.97.0.10, images <see cref="BusyboxImage"/> and <see cref="PauseImage"/> imported, no
/// registry and nothing from the cluster leaving the machine.
/// <para>
/// Once per test run: when DOPPEL_TEST_KUBE_DIR names the directory of a running cluster
/// (scripts/test.sh starts one and hands it to every test project) this joins it and leaves it
/// running; otherwise it brings up its own in a new /tmp/dkube-* directory and tears it down on
/// dispose, after a failed start and at process exit.
/// </para>
/// <code>await using var cluster = await KubeCluster.StartAsync(ct); await cluster.ApplyAsync(yaml, ct);</code>
/// </summary>
public sealed class KubeCluster : IAsyncDisposable
{
    /// <summary>The static busybox image every cluster has (Debian busybox-static; no wget: it crashes).</summary>
    public const string BusyboxImage = "doppel.local/busybox:1.35";

    /// <summary>The sandbox image (the static pause of DOPPEL_KUBE_BIN, or a busybox stand-in).</summary>
    public const string PauseImage = "doppel.local/pause:3.4";

    /// <summary>Names the directory of a cluster that is already running (scripts/test.sh sets it).</summary>
    public const string SharedDirectoryVariable = "DOPPEL_TEST_KUBE_DIR";

    private readonly bool _owned;
    private int _disposed;

    private KubeCluster(string directory, bool owned, IReadOnlyDictionary<string, string> environment, TimeSpan startTime)
    {
        Directory = directory;
        _owned = owned;
        StartTime = startTime;
        Kubeconfig = Required(environment, "KUBECONFIG");
        Kubectl = Required(environment, "DOPPEL_KUBECTL");
        ContainerdSocket = Required(environment, "DOPPEL_KUBE_CONTAINERD");
        NodeName = Required(environment, "DOPPEL_KUBE_NODE");
        NodeAddress = IPAddress.Parse(Required(environment, "DOPPEL_KUBE_NODE_IP"));
    }

    /// <summary>The cluster's directory (binaries, PKI, logs/*.log, state).</summary>
    public string Directory { get; }

    /// <summary>The admin kubeconfig (system:masters; server https://127.0.0.1:6443; credentials embedded).</summary>
    public string Kubeconfig { get; }

    /// <summary>The cluster's own kubectl (same version as the server).</summary>
    public string Kubectl { get; }

    /// <summary>containerd's socket (namespace k8s.io holds the node's images).</summary>
    public string ContainerdSocket { get; }

    public string NodeName { get; }

    /// <summary>The node's InternalIP, the pods' gateway on the cluster bridge.</summary>
    public IPAddress NodeAddress { get; }

    /// <summary>How long <c>up</c> took (zero when this joined a running cluster).</summary>
    public TimeSpan StartTime { get; }

    /// <summary>How long <c>down</c> took, once disposed (zero when the cluster is not this instance's).</summary>
    public TimeSpan StopTime { get; private set; }

    /// <summary>scripts/kube-cluster.sh of the repository these tests were built from.</summary>
    public static string Script { get; } = Path.Combine(RepositoryRoot(), "scripts", "kube-cluster.sh");

    /// <summary>
    /// Joins the cluster DOPPEL_TEST_KUBE_DIR names, or brings up a new one (1–3 minutes on a
    /// loaded 2-core machine). Throws <see cref="KubeClusterException"/> with the script's last
    /// lines when it cannot; the script has then removed everything it made.
    /// </summary>
    public static async Task<KubeCluster> StartAsync(CancellationToken cancellationToken)
    {
        if (Environment.GetEnvironmentVariable(SharedDirectoryVariable) is { Length: > 0 } shared)
        {
            var env = await Commands.RunAsync(["bash", Script, "env", shared], environment: null, cancellationToken);
            return env.Succeeded
                ? new KubeCluster(shared, owned: false, ParseEnvironment(env.StandardOutput), TimeSpan.Zero)
                : throw new KubeClusterException($"{SharedDirectoryVariable}={shared} names no running cluster: {env.StandardError.Trim()}");
        }

        var directory = System.IO.Directory.CreateTempSubdirectory("dkube-").FullName;
        var watch = Stopwatch.StartNew();
        ExecResult up;
        try
        {
            up = await Commands.RunAsync(["bash", Script, "up", directory], environment: null, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            await DownAsync(directory);
            throw;
        }

        if (!up.Succeeded)
        {
            throw new KubeClusterException($"The test cluster did not start (exit code {up.ExitCode}): {Tail(up.StandardError)}");
        }

        var cluster = new KubeCluster(directory, owned: true, ParseEnvironment(up.StandardOutput), watch.Elapsed);
        AppDomain.CurrentDomain.ProcessExit += cluster.OnProcessExit;
        return cluster;
    }

    /// <summary>Runs this cluster's kubectl as the admin to its end.</summary>
    public Task<ExecResult> KubectlAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
        => Commands.RunAsync([Kubectl, "--kubeconfig", Kubeconfig, .. arguments], environment: null, cancellationToken);

    /// <summary>Runs kubectl and returns its stdout; throws with its stderr when it fails.</summary>
    public async Task<string> KubectlCheckedAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var result = await KubectlAsync(arguments, cancellationToken);
        return result.Succeeded
            ? result.StandardOutput
            : throw new KubeClusterException($"kubectl {string.Join(' ', arguments)} failed with exit code {result.ExitCode}: {result.StandardError.Trim()}");
    }

    /// <summary><c>kubectl apply</c> of a YAML document (or several, separated by ---).</summary>
    public async Task ApplyAsync(string yaml, CancellationToken cancellationToken)
    {
        var file = Path.Combine(Path.GetTempPath(), $"dkube-apply-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, yaml, cancellationToken);
        try
        {
            await KubectlCheckedAsync(["apply", "-f", file], cancellationToken);
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>Imports an image archive (OCI or docker) into the node's containerd, under the name it carries.</summary>
    public async Task ImportImageAsync(string archive, CancellationToken cancellationToken)
        => (await Commands.RunAsync(["bash", Script, "import", Directory, archive], environment: null, cancellationToken))
            .EnsureSuccess($"Importing {archive}");

    /// <summary>
    /// Restarts the API server as a crash or a control-plane upgrade does (scripts/kube-cluster.sh
    /// restart-apiserver: TERM to the process the script started, KILL after 2 s, then the same
    /// command line again) and returns once <c>/readyz</c> answers, with how long it was away. Every
    /// connection through it drops (watches, port-forwards, a session's streams); on a shared
    /// cluster that disturbs every user, so only the one test that is about it calls this.
    /// Throws <see cref="KubeClusterException"/> with the script's last lines when it did not come back.
    /// </summary>
    public async Task<TimeSpan> RestartApiServerAsync(CancellationToken cancellationToken)
    {
        var restart = await Commands.RunAsync(["bash", Script, "restart-apiserver", Directory], environment: null, cancellationToken);
        return restart.Succeeded && long.TryParse(restart.StandardOutput.Trim().Split('\n')[^1], out var milliseconds)
            ? TimeSpan.FromMilliseconds(milliseconds)
            : throw new KubeClusterException($"The API server did not come back (exit code {restart.ExitCode}): {Tail(restart.StandardError)}\n{LogTail("kube-apiserver")}");
    }

    /// <summary>The last lines of a component's log (logs/NAME.log), for failure messages.</summary>
    public string LogTail(string component, int lines = 20)
    {
        var path = Path.Combine(Directory, "logs", component + ".log");
        return File.Exists(path) ? string.Join('\n', File.ReadLines(path).TakeLast(lines)) : $"(no {path})";
    }

    /// <summary>Tears the cluster down when this instance brought it up (else leaves it to its owner).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0 || !_owned)
        {
            return;
        }

        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        var watch = Stopwatch.StartNew();
        var down = await DownAsync(Directory);
        StopTime = watch.Elapsed;
        down.EnsureSuccess("Tearing the test cluster down");
    }

    // A test host that exits without disposing (a crashed fixture) still tears down; ProcessExit
    // handlers are synchronous by nature.
    private void OnProcessExit(object? sender, EventArgs e) => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private static Task<ExecResult> DownAsync(string directory)
        => Commands.RunAsync(["bash", Script, "down", directory], environment: null, CancellationToken.None);

    private static Dictionary<string, string> ParseEnvironment(string output)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = line.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                environment[line[..equals]] = line[(equals + 1)..];
            }
        }

        return environment;
    }

    private static string Required(IReadOnlyDictionary<string, string> environment, string name)
        => environment.TryGetValue(name, out var value) ? value : throw new KubeClusterException($"scripts/kube-cluster.sh printed no {name}=... line.");

    private static string Tail(string text) => string.Join('\n', text.Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(15));

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "doppel.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new KubeClusterException($"No doppel.slnx above {AppContext.BaseDirectory}: the test cluster script cannot be found.");
    }
}
