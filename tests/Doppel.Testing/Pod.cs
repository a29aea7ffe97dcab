using System.Net;
using Doppel.Testing.Internal;

namespace Doppel.Testing;

/// <summary>
/// A running pod: its own netns with <see cref="IP"/> on the node bridge, its own
/// <c>/etc/netns/NETNS/{resolv.conf,hosts,hostname}</c>, env, files and processes.
/// </summary>
public sealed class Pod
{
    // Process-pod servers: `ip netns exec` bind-mounts /etc/netns/NETNS/* over /etc, unshare gives
    // the pod's hostname its own UTS namespace, sh sends the output to a log; each step execs the
    // next, so the PID we started is the server's. Shell variables are not exported: the
    // server's environ is exactly the pod's env (plus PWD=/, which sh sets).
    private const string HostnameThenExec = "hostname \"$0\" && exec \"$@\"";
    private const string HostnameThenExecLogged = "hostname \"$0\" && log=$1 && shift && exec \"$@\" </dev/null >>\"$log\" 2>&1";

    private readonly Lock _lock = new();
    private readonly List<PodProcess> _processes = [];
    private readonly string _directory;
    private readonly string _workDirectory;
    private readonly string _python;
    private readonly string _serverScript;
    private readonly RuncContainer? _container;
    private readonly TimeSpan _readyTimeout;
    private readonly Action<string>? _log;
    private bool _containerRunning;

    internal Pod(PodSpec spec, IPAddress ip, string networkNamespace, string? serviceName, IReadOnlyDictionary<string, string> env,
        string workDirectory, string directory, string python, string serverScript, RuncContainer? container, TimeSpan readyTimeout, Action<string>? log)
    {
        Name = spec.Name;
        Namespace = spec.Namespace;
        Runtime = spec.Runtime;
        IP = ip;
        NetworkNamespace = networkNamespace;
        ServiceName = serviceName;
        Env = env;
        _workDirectory = workDirectory;
        _directory = directory;
        _python = python;
        _serverScript = serverScript;
        _container = container;
        _readyTimeout = readyTimeout;
        _log = log;
        FilesRoot = container?.RootFs ?? Path.Join(directory, "files");
    }

    public string Name { get; }

    /// <summary>The Kubernetes namespace.</summary>
    public string Namespace { get; }

    public PodRuntime Runtime { get; }

    public IPAddress IP { get; }

    /// <summary>The netns name (<c>ip netns exec NAME</c>, <c>/run/netns/NAME</c>).</summary>
    public string NetworkNamespace { get; }

    public string NetworkNamespacePath => $"/run/netns/{NetworkNamespace}";

    /// <summary><c>SERVICE.NAMESPACE.svc.cluster.local</c>, answered by the cluster DNS with <see cref="IP"/>; null without a service.</summary>
    public string? ServiceName { get; }

    /// <summary>The environment every process of the pod gets: PATH, HOSTNAME, HOME and the spec's variables.</summary>
    public IReadOnlyDictionary<string, string> Env { get; }

    /// <summary>
    /// The host directory that is the pod's "/" for its files: the container's root file system,
    /// or for a process pod a per-pod directory (its processes see the host's file system).
    /// </summary>
    public string FilesRoot { get; }

    /// <summary>The runc container ID (64 hex digits) of a container pod, null otherwise.</summary>
    public string? ContainerId => _container?.Id;

    public IReadOnlyList<PodProcess> Processes
    {
        get
        {
            lock (_lock)
            {
                return [.. _processes];
            }
        }
    }

    /// <summary>The PID of the pod's first process (a container's main process).</summary>
    public int Pid
    {
        get
        {
            var processes = Processes;
            return processes.Count > 0 ? processes[0].Pid : throw new InvalidOperationException($"Pod {Name} runs no process.");
        }
    }

    /// <summary>Where the file at <paramref name="podPath"/> (absolute, as the pod sees it) lives on the host.</summary>
    public string HostPath(string podPath) => Path.Join(FilesRoot, podPath.TrimStart('/'));

    /// <summary>
    /// Runs a command in the pod to completion, like <c>kubectl exec</c>: in a container pod inside
    /// the container (busybox programs); in a process pod a host program in the pod's netns with the pod's env.
    /// </summary>
    public Task<ExecResult> ExecAsync(IReadOnlyList<string> command, CancellationToken cancellationToken)
        => _container is null ? ExecInNetworkAsync(command, cancellationToken) : _container.ExecToEndAsync(command, cancellationToken);

    /// <summary>
    /// Runs a host program (curl, python3, ...) in the pod's netns with the pod's
    /// /etc/resolv.conf, hosts, hostname and env, whatever the pod's runtime.
    /// </summary>
    public Task<ExecResult> ExecInNetworkAsync(IReadOnlyList<string> command, CancellationToken cancellationToken)
        => Commands.RunAsync(
            ["ip", "netns", "exec", NetworkNamespace, "unshare", "--uts", "--", "/bin/sh", "-c", HostnameThenExec, Name, .. command],
            Env,
            cancellationToken);

    /// <summary>Starts one more process in the pod and waits until it listens on its port; it is stopped with the cluster.</summary>
    public async Task<PodProcess> StartAsync(PodServer server, CancellationToken cancellationToken)
    {
        var process = await LaunchAsync(server, cancellationToken);
        await WaitUntilReadyAsync(process, server, cancellationToken);
        return process;
    }

    /// <summary>Launches every server (a container's first one as its main process), then waits for all of them at once.</summary>
    internal async Task StartAllAsync(IReadOnlyList<PodServer> servers, CancellationToken cancellationToken)
    {
        var launched = new List<Task>();
        foreach (var server in servers)
        {
            var process = await LaunchAsync(server, cancellationToken);
            launched.Add(WaitUntilReadyAsync(process, server, cancellationToken));
        }

        await Task.WhenAll(launched);
    }

    private async Task<PodProcess> LaunchAsync(PodServer server, CancellationToken cancellationToken)
    {
        var log = Path.Join(_directory, $"{server.Name}-{Guid.NewGuid():N}.log");
        PodProcess process;
        if (_container is null)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var child = Commands.Start(
                ["ip", "netns", "exec", NetworkNamespace, "unshare", "--uts", "--", "/bin/sh", "-c", HostnameThenExecLogged, Name, log, .. HostCommand(server)],
                Env);
            process = new PodProcess(server.Name, child.Id, log, child, parentOnly: false);
            Orphans.RecordProcess(_workDirectory, child.Id);
        }
        else
        {
            var command = ContainerCommand(server);
            var (pid, runc) = _containerRunning
                ? await _container.ExecAsync(command, log, _readyTimeout, cancellationToken)
                : await _container.RunAsync(command, log, _readyTimeout, cancellationToken);
            _containerRunning = true;
            process = new PodProcess(server.Name, pid, log, runc, parentOnly: true);
        }

        lock (_lock)
        {
            _processes.Add(process);
        }

        _log?.Invoke($"{this}: {process} launched");
        return process;
    }

    /// <summary>Kills the processes this pod started (by PID) and deletes its container.</summary>
    internal async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_container is not null)
        {
            // The main process dies, its PID namespace with it, and each runc parent reaps its process and exits.
            await _container.KillAsync(cancellationToken);
        }

        var failures = new List<Exception>();
        foreach (var process in Processes)
        {
            try
            {
                await process.StopAsync(cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                failures.Add(e);
            }
        }

        if (_container is not null)
        {
            await _container.DeleteAsync(cancellationToken);
        }

        if (failures.Count > 0)
        {
            throw new AggregateException($"Stopping the processes of pod {Name} failed.", failures);
        }
    }

    private IReadOnlyList<string> HostCommand(PodServer server) => server.Kind switch
    {
        ServerKind.Http => [_python, "-I", "-u", _serverScript, "http", Port(server), server.Body ?? DefaultBody],
        ServerKind.UdpEcho => [_python, "-I", "-u", _serverScript, "udp-echo", Port(server)],
        ServerKind.TcpEcho => [_python, "-I", "-u", _serverScript, "tcp-echo", Port(server)],
        _ => server.Command,
    };

    // busybox applets inside the container.
    private IReadOnlyList<string> ContainerCommand(PodServer server)
    {
        switch (server.Kind)
        {
            case ServerKind.Http:
                var root = $"/www/{server.Port}";
                var index = HostPath($"{root}/index.html");
                Directory.CreateDirectory(Path.GetDirectoryName(index)!);
                File.WriteAllText(index, server.Body ?? DefaultBody);
                return ["httpd", "-f", "-p", Port(server), "-h", root];
            case ServerKind.TcpEcho:
                return ["nc", "-ll", "-p", Port(server), "-e", "cat"];
            case ServerKind.UdpEcho:
                throw new MiniClusterException($"Pod {Name}: a container pod cannot run a UDP echo (busybox has none); use a process pod.");
            default:
                return server.Command;
        }
    }

    private string DefaultBody => $"hello from {Name}\n";

    private static string Port(PodServer server) => server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private async Task WaitUntilReadyAsync(PodProcess process, PodServer server, CancellationToken cancellationToken)
    {
        if (server.Port == 0)
        {
            return;
        }

        var deadline = DateTime.UtcNow + _readyTimeout;
        while (!Listening.IsListening(process.Pid, server.Port, server.Protocol))
        {
            if (process.HasExited)
            {
                throw new MiniClusterException($"Server {server.Name} of pod {Name} exited before listening on {server.Protocol} port {server.Port}; its output: {process.ReadLog().Trim()}");
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new MiniClusterException($"Server {server.Name} of pod {Name} did not listen on {server.Protocol} port {server.Port} within {_readyTimeout.TotalSeconds:0} s; its output: {process.ReadLog().Trim()}");
            }

            await Task.Delay(20, cancellationToken);
        }
    }

    public override string ToString() => $"pod {Namespace}/{Name} ({IP})";
}
