using System.Collections.Concurrent;
using System.Net;
using Doppel.Testing.Internal;

namespace Doppel.Testing;

/// <summary>
/// A small Kubernetes-like cluster made of network namespaces on this machine (needs root).
/// <code>
///  netns PREFIX-node                      netns PREFIX-pod-NAME (one per pod)
///  ┌──────────────────────────────┐       ┌──────────────────────────────────────┐
///  │ cbr0 10.244.0.1/24           │       │ eth0 10.244.0.N/24, default via .1   │
///  │  ├─ veth0 ◄──────────────────┼──────►│ /etc/netns/PREFIX-pod-NAME/{resolv.  │
///  │  ├─ veth1 ◄── kube-dns pod   │       │   conf,hosts,hostname}; env; servers │
///  │  └─ ...       (dnsmasq, .2)  │       │   or a runc busybox container        │
///  └──────────────────────────────┘       └──────────────────────────────────────┘
///  netns PREFIX-dev: loopback only, no route to 10.244.0.0/24 (the developer's machine)
/// </code>
/// The pod network exists only inside these namespaces: nothing is routed from the root
/// namespace and nothing leaves the machine. Dispose removes every namespace, /etc/netns
/// directory, process, container and file the instance created, also after a failed start.
/// <code>await using var cluster = await MiniCluster.StartAsync(new MiniClusterOptions { Pods = { ... } }, ct);</code>
/// </summary>
public sealed partial class MiniCluster : IAsyncDisposable
{
    public const string ClusterDomain = "cluster.local";

    private static readonly ConcurrentDictionary<MiniCluster, byte> s_live = new();

    private readonly Lock _lock = new();
    private readonly List<(string What, Func<CancellationToken, Task> Undo)> _undo = [];
    private readonly List<string> _cleanupFailures = [];
    private readonly List<string> _namespaces = [];
    private readonly List<Pod> _pods = [];
    private readonly MiniClusterOptions _options;
    private int _disposed;

    static MiniCluster()
    {
        // A test host that exits without disposing (a crashed fixture, Ctrl+C) still tears down.
        // ProcessExit handlers are synchronous by nature.
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (var cluster in s_live.Keys)
            {
                cluster.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
        };
    }

    private MiniCluster(MiniClusterOptions options, string prefix)
    {
        _options = options;
        Prefix = prefix;
        WorkDirectory = Path.Join(Path.GetTempPath(), $"doppel-{prefix}");
        NodeNetworkNamespace = $"{prefix}-node";
        Developer = new DeveloperNamespace($"{prefix}-dev");
    }

    /// <summary>The pod network; it exists only inside this instance's namespaces.</summary>
    public static IPNetwork PodNetwork { get; } = IPNetwork.Parse("10.244.0.0/24");

    /// <summary>The node bridge's address, every pod's default gateway.</summary>
    public static IPAddress Gateway { get; } = IPAddress.Parse("10.244.0.1");

    /// <summary>The cluster DNS (dnsmasq in the kube-dns pod); every pod's resolv.conf names it.</summary>
    public static IPAddress DnsAddress { get; } = IPAddress.Parse("10.244.0.2");

    /// <summary>What every name of this instance starts with.</summary>
    public string Prefix { get; }

    /// <summary>The instance's temp directory: logs, pod files, container bundles, runc state.</summary>
    public string WorkDirectory { get; }

    public string NodeNetworkNamespace { get; }

    public DeveloperNamespace Developer { get; }

    /// <summary>The kube-dns pod (namespace kube-system) running dnsmasq.</summary>
    public Pod Dns { get; private set; } = null!;

    /// <summary>The pods of the options, in order (without the DNS pod).</summary>
    public IReadOnlyList<Pod> Pods
    {
        get
        {
            lock (_lock)
            {
                return [.. _pods];
            }
        }
    }

    public Pod this[string podName]
        => Pods.FirstOrDefault(p => p.Name == podName) ?? throw new KeyNotFoundException($"The mini-cluster has no pod {podName}.");

    /// <summary>Every netns this instance created (node, developer, pods).</summary>
    public IReadOnlyList<string> NetworkNamespaces
    {
        get
        {
            lock (_lock)
            {
                return [.. _namespaces];
            }
        }
    }

    /// <summary>What could not be removed on dispose (empty when teardown was complete).</summary>
    public IReadOnlyList<string> CleanupFailures
    {
        get
        {
            lock (_lock)
            {
                return [.. _cleanupFailures];
            }
        }
    }

    /// <summary>The DNS name of a service: <c>SERVICE.NAMESPACE.svc.cluster.local</c>.</summary>
    public static string ServiceFqdn(string service, string @namespace = "default") => $"{service}.{@namespace}.svc.{ClusterDomain}";

    /// <summary>
    /// Removes the instances whose test host died without disposing them (every start does this
    /// first); instances of living processes are never touched. Returns the removed prefixes.
    /// </summary>
    public static Task<IReadOnlyList<string>> RemoveOrphansAsync(CancellationToken cancellationToken, Action<string>? log = null)
        => Orphans.RemoveAsync(log, cancellationToken);

    /// <summary>Builds the cluster and waits until every server listens; on failure everything built so far is removed.</summary>
    public static async Task<MiniCluster> StartAsync(MiniClusterOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        Validate(options);
        var cluster = new MiniCluster(options, options.Prefix ?? Names.NewPrefix());
        s_live[cluster] = 0;
        try
        {
            await cluster.StartCoreAsync(cancellationToken);
            cluster.Log($"mini-cluster {cluster.Prefix} is up: {string.Join(", ", cluster.Pods)}");
            return cluster;
        }
        catch (Exception e)
        {
            await cluster.DisposeAsync();
            if (e is OperationCanceledException)
            {
                throw;
            }

            var leftovers = cluster.CleanupFailures.Count == 0 ? "" : $" Cleanup also failed: {string.Join("; ", cluster.CleanupFailures)}";
            throw new MiniClusterException($"The mini-cluster {cluster.Prefix} could not start: {e.Message}{leftovers}", e);
        }
    }

    /// <summary>Removes everything, newest first; never throws (see <see cref="CleanupFailures"/>).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        List<(string What, Func<CancellationToken, Task> Undo)> steps;
        lock (_lock)
        {
            steps = [.. _undo];
            _undo.Clear();
        }

        steps.Reverse();
        foreach (var (what, undo) in steps)
        {
            Log($"removing {what}");
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            try
            {
                await undo(timeout.Token);
            }
            catch (Exception e)
            {
                lock (_lock)
                {
                    _cleanupFailures.Add($"{what}: {e.Message}");
                }

                Log($"cleanup of {what} failed: {e.Message}");
            }
        }

        s_live.TryRemove(this, out _);
        Log($"mini-cluster {Prefix} is down");
    }

    private void OnDispose(string what, Func<CancellationToken, Task> undo)
    {
        lock (_lock)
        {
            _undo.Add((what, undo));
        }
    }

    private void Log(string message) => _options.Log?.Invoke(message);

    public override string ToString() => $"mini-cluster {Prefix}";
}
