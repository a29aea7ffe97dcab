using System.Globalization;
using System.Net.Sockets;
using Doppel.Kubernetes;
using Doppel.Kubernetes.PortForward;
using Doppel.Testing;

namespace Doppel.Bench;

/// <summary>
/// The port-forward figures' pod in the shared test cluster (DOPPEL_TEST_KUBE_DIR) and the two
/// ways to reach its ports from this process with the same client code:
/// <code>
///  bench ── PodPortForward stream (one WebSocket each) ──────────► API server ─► kubelet ─► pod:PORT
///  bench ── TCP 127.0.0.1:N ─► kubectl port-forward (SPDY) ──────► API server ─► kubelet ─► pod:PORT
/// </code>
/// The pod (busybox) serves <see cref="EchoPort"/> (nc -e cat), <see cref="SinkPort"/> (reads
/// BulkBytes, answers "done") and <see cref="SourcePort"/> (sends BulkBytes).
/// </summary>
internal sealed class KubeForwardRig : IAsyncDisposable
{
    public const int EchoPort = 7000;
    public const int SinkPort = 7001;
    public const int SourcePort = 7002;
    private const string PodName = "pf-bench";

    private readonly KubeCluster _cluster;
    private readonly string _namespace;
    private readonly List<IAsyncDisposable> _owned = [];
    private readonly Dictionary<int, PodPortForward> _forwards = [];
    private readonly Dictionary<int, KubectlPortForward> _kubectl = [];
    private KubeConnection? _connection;

    private KubeForwardRig(KubeCluster cluster, string @namespace)
    {
        _cluster = cluster;
        _namespace = @namespace;
    }

    public string Namespace => _namespace;

    /// <summary>Joins the cluster, makes namespace pf-bench-RANDOM with the pod, and starts both forwards of each port.</summary>
    public static async Task<KubeForwardRig> StartAsync(KubeSettings settings, CancellationToken cancellationToken)
    {
        if (Environment.GetEnvironmentVariable(KubeCluster.SharedDirectoryVariable) is not { Length: > 0 })
        {
            throw new BenchException($"--kube measures against a running test cluster: set {KubeCluster.SharedDirectoryVariable} to its directory (scripts/kube-cluster.sh up DIR).");
        }

        var cluster = await KubeCluster.StartAsync(cancellationToken);
        var rig = new KubeForwardRig(cluster, "pf-bench-" + Guid.NewGuid().ToString("N")[..6]);
        try
        {
            await rig.SetUpAsync(settings, cancellationToken);
            return rig;
        }
        catch
        {
            await rig.DisposeAsync();
            throw;
        }
    }

    /// <summary>A new stream to PORT of the pod: its own WebSocket (PodPortForward), or a new TCP connection to kubectl's local port.</summary>
    public async Task<Stream> OpenAsync(bool kubectl, int port, CancellationToken cancellationToken)
    {
        if (!kubectl)
        {
            return await _forwards[port].ConnectAsync(cancellationToken);
        }

        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, _kubectl[port].LocalPort), cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private async Task SetUpAsync(KubeSettings settings, CancellationToken cancellationToken)
    {
        await _cluster.KubectlCheckedAsync(["create", "namespace", _namespace], cancellationToken);
        var bytes = settings.BulkBytes.ToString(CultureInfo.InvariantCulture);
        await _cluster.ApplyAsync($$"""
            apiVersion: v1
            kind: Pod
            metadata: {name: {{PodName}}, namespace: {{_namespace}}}
            spec:
              terminationGracePeriodSeconds: 1
              containers:
              - name: bench
                image: {{KubeCluster.BusyboxImage}}
                imagePullPolicy: Never
                command: ["sh", "-c", "nc -ll -p {{EchoPort}} -e cat & nc -ll -p {{SinkPort}} -e sh -c 'head -c {{bytes}} >/dev/null; echo done' & nc -ll -p {{SourcePort}} -e head -c {{bytes}} /dev/zero & wait"]
                readinessProbe: {tcpSocket: {port: {{EchoPort}}}, periodSeconds: 1}
            """, cancellationToken);
        await _cluster.KubectlCheckedAsync(["wait", "-n", _namespace, "pod", PodName, "--for", "condition=Ready", "--timeout", "120s"], cancellationToken);

        _connection = KubeConnection.Open(new KubeConnectionOptions { Kubeconfig = _cluster.Kubeconfig });
        foreach (var port in new[] { EchoPort, SinkPort, SourcePort })
        {
            var forward = new PodPortForward(_connection, _namespace, PodName, port);
            _owned.Add(forward);
            _forwards[port] = forward;
            var kubectl = await KubectlPortForward.StartAsync(_cluster, _namespace, PodName, port, cancellationToken);
            _owned.Add(kubectl);
            _kubectl[port] = kubectl;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var owned in _owned)
        {
            await owned.DisposeAsync();
        }

        _connection?.Dispose();
        await _cluster.KubectlAsync(["delete", "namespace", _namespace, "--wait=false"], CancellationToken.None);
        await _cluster.DisposeAsync();
    }
}
