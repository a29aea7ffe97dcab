using System.Globalization;
using Doppel.Testing;

namespace Doppel.Bench;

/// <summary>
/// The mini-cluster the P3 figures (4–7) and the P9 figures (13–18) run against, and the two ways to run the client:
/// <code>
///  developer netns (lo only)                       pod network 10.244.0.0/24
///  ┌─────────────────────────────────────────┐     ┌──────────────────────────────────────┐
///  │ doppel exec -t pid/APP -- p3net CLIENT  │     │ app (runc container): /data/big.bin  │
///  │   └ doppel-agent ──setns(app)───────────┼────►│ backend (process pod): p3net serve   │
///  └─────────────────────────────────────────┘     └──────────────────────────────────────┘
///  direct: ip netns exec APP-NETNS p3net CLIENT    (the same hop, no doppel)
///          p3net read /proc/APP/root/data/big.bin  (the same file, read locally)
/// </code>
/// </summary>
internal sealed class ClusterRig : IAsyncDisposable
{
    public const int ServerPort = 5001;
    public const string PodFile = "/data/big.bin";

    private static readonly TimeSpan s_runTimeout = TimeSpan.FromSeconds(120);

    private readonly MiniCluster _cluster;
    private readonly Launcher _doppel;
    private readonly string _workDirectory;

    private ClusterRig(MiniCluster cluster, Launcher doppel, string client, string workDirectory)
    {
        _cluster = cluster;
        _doppel = doppel;
        Client = client;
        _workDirectory = workDirectory;
    }

    /// <summary>The compiled p3net (server and client).</summary>
    public string Client { get; }

    public Pod App => _cluster["app"];

    public string BackendIp => _cluster["backend"].IP.ToString();

    public static string Port { get; } = ServerPort.ToString(CultureInfo.InvariantCulture);

    public IReadOnlyList<string> CleanupFailures => _cluster.CleanupFailures;

    /// <summary>Starts the cluster and writes the pod file; the cluster is torn down if anything fails.</summary>
    public static Task<ClusterRig> StartAsync(string workDirectory, Launcher doppel, ClusterSettings settings, CancellationToken cancellationToken)
        => StartAsync(workDirectory, doppel, settings.FileBytes, cancellationToken);

    /// <summary>As above, with a <see cref="PodFile"/> of <paramref name="podFileBytes"/> random bytes.</summary>
    public static async Task<ClusterRig> StartAsync(string workDirectory, Launcher doppel, long podFileBytes, CancellationToken cancellationToken)
    {
        var client = await Workload.CompileNetworkAsync(workDirectory, cancellationToken);
        var cluster = await MiniCluster.StartAsync(new MiniClusterOptions
        {
            Pods =
            {
                new PodSpec("app") { Runtime = PodRuntime.Container },
                new PodSpec("backend") { Servers = { PodServer.Run("p3net", [client, "serve", ServerPort.ToString(CultureInfo.InvariantCulture)], ServerPort) } },
            },
        }, cancellationToken);
        var rig = new ClusterRig(cluster, doppel, client, workDirectory);
        try
        {
            await WriteFileAsync(rig.App.HostPath(PodFile), podFileBytes, cancellationToken);
            return rig;
        }
        catch
        {
            await rig.DisposeAsync();
            throw;
        }
    }

    /// <summary>p3net run directly in the app pod's netns (the path the agent's sockets take, without doppel).</summary>
    public async Task<ResultLine> DirectInPodAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(s_runTimeout);
        var result = await App.ExecInNetworkAsync([Client, .. arguments], timeout.Token);
        result.EnsureSuccess($"p3net {string.Join(' ', arguments)} in the app pod's netns");
        return ResultLine.Parse(result.StandardOutput, "p3net (direct)");
    }

    /// <summary>The developer netns's name (loopback only).</summary>
    public string DeveloperNamespace => _cluster.Developer.Name;

    /// <summary>p3net run in the developer netns without doppel (a port-forward's client).</summary>
    public async Task<ResultLine> InDeveloperAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(s_runTimeout);
        var result = await _cluster.Developer.ExecAsync([Client, .. arguments], timeout.Token);
        result.EnsureSuccess($"p3net {string.Join(' ', arguments)} in the developer netns");
        return ResultLine.Parse(result.StandardOutput, "p3net (developer netns)");
    }

    /// <summary>p3net run on the host (outside any pod), e.g. reading the pod's file through /proc/PID/root.</summary>
    public async Task<ResultLine> DirectOnHostAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
        => ResultLine.Parse((await Runs.DirectAsync(Client, arguments, cancellationToken)).Stdout, "p3net (direct)");

    /// <summary>p3net run from the developer netns under <c>doppel exec -t pid/APP</c>.</summary>
    public Task<ResultLine> UnderDoppelAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
        => UnderDoppelAsync([], [Client, .. arguments], cancellationToken);

    /// <summary>
    /// <paramref name="command"/> (program and arguments) run from the developer netns under
    /// <c>doppel exec -t pid/APP EXEC-OPTIONS --</c> (with <paramref name="environment"/>'s variables); its result line.
    /// </summary>
    public async Task<ResultLine> UnderDoppelAsync(
        IReadOnlyList<string> execOptions, IReadOnlyList<string> command, CancellationToken cancellationToken, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var stdout = await DoppelExec.RunAsync(_cluster.Developer.Name, _doppel, App.Pid, command, _workDirectory, s_runTimeout, cancellationToken, execOptions, environment);
        return ResultLine.Parse(stdout, $"{Path.GetFileName(command[0])} under doppel");
    }

    /// <summary>Starts p3net under doppel and leaves it running (for figure 7).</summary>
    public DoppelExec StartUnderDoppel(IReadOnlyList<string> arguments)
        => StartUnderDoppel([], [Client, .. arguments]);

    /// <summary>Starts <paramref name="command"/> under <c>doppel exec -t pid/APP EXEC-OPTIONS --</c> and leaves it running, stdin open.</summary>
    public DoppelExec StartUnderDoppel(IReadOnlyList<string> execOptions, IReadOnlyList<string> command)
        => DoppelExec.Start(_cluster.Developer.Name, _doppel, App.Pid, command, _workDirectory, keepStdinOpen: true, execOptions);

    public ValueTask DisposeAsync() => _cluster.DisposeAsync();

    private static async Task WriteFileAsync(string path, long size, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var chunk = new byte[1 << 20];
        Random.Shared.NextBytes(chunk);
        await using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 0);
        for (long written = 0; written < size; written += chunk.Length)
        {
            await file.WriteAsync(chunk.AsMemory(0, (int)Math.Min(chunk.Length, size - written)), cancellationToken);
        }
    }
}
