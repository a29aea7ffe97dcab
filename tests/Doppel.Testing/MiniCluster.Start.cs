using System.Net;
using System.Reflection;
using System.Text;
using Doppel.Testing.Internal;

namespace Doppel.Testing;

public sealed partial class MiniCluster
{
    private const string Bridge = "cbr0";
    private const int FirstPodHost = 10;
    private const string DnsPodName = "kube-dns";
    private const string PodPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    private async Task StartCoreAsync(CancellationToken cancellationToken)
    {
        Log($"starting mini-cluster {Prefix} in {WorkDirectory}");
        await Orphans.RemoveAsync(Log, cancellationToken);
        Directory.CreateDirectory(WorkDirectory);
        OnDispose($"directory {WorkDirectory}", _ =>
        {
            Directory.Delete(WorkDirectory, recursive: true);
            return Task.CompletedTask;
        });
        Orphans.RecordOwner(WorkDirectory);
        var serverScript = Path.Join(WorkDirectory, "podserver.py");
        await using (var resource = typeof(MiniCluster).Assembly.GetManifestResourceStream("Doppel.Testing.podserver.py")!)
        await using (var file = File.Create(serverScript))
        {
            await resource.CopyToAsync(file, cancellationToken);
        }

        await AddNetworkNamespaceAsync(NodeNetworkNamespace, cancellationToken);
        await IpAsync(cancellationToken, "-n", NodeNetworkNamespace, "link", "set", "lo", "up");
        await IpAsync(cancellationToken, "-n", NodeNetworkNamespace, "link", "add", Bridge, "type", "bridge");
        await IpAsync(cancellationToken, "-n", NodeNetworkNamespace, "addr", "add", $"{Gateway}/{PodNetwork.PrefixLength}", "dev", Bridge);
        await IpAsync(cancellationToken, "-n", NodeNetworkNamespace, "link", "set", Bridge, "up");

        await AddNetworkNamespaceAsync(Developer.Name, cancellationToken);
        await IpAsync(cancellationToken, "-n", Developer.Name, "link", "set", "lo", "up");

        // Addresses first: the DNS configuration names every pod.
        var plan = _options.Pods.Select((spec, i) => (Spec: spec, IP: HostAddress(FirstPodHost + i))).ToList();
        var dnsConfig = Path.Join(WorkDirectory, "dnsmasq.conf");
        await File.WriteAllTextAsync(dnsConfig, DnsmasqConfig(plan), cancellationToken);
        var dnsSpec = new PodSpec(DnsPodName)
        {
            Namespace = "kube-system",
            Servers = { PodServer.Run("dnsmasq", ["dnsmasq", "--keep-in-foreground", $"--conf-file={dnsConfig}"], 53, PortProtocol.Udp) },
        };
        Dns = await CreatePodAsync(dnsSpec, DnsAddress, serverScript, cancellationToken);
        var created = new List<(PodSpec Spec, Pod Pod)> { (dnsSpec, Dns) };
        foreach (var (spec, ip) in plan)
        {
            var pod = await CreatePodAsync(spec, ip, serverScript, cancellationToken);
            created.Add((spec, pod));
            lock (_lock)
            {
                _pods.Add(pod);
            }
        }

        // Servers start in parallel (a python server takes ~0.1 s to listen, a container ~0.3 s).
        // Like Kubernetes' pause container, a pod without servers still has a process to target.
        await Task.WhenAll(created.Select(c => c.Pod.StartAllAsync(
            c.Spec.Servers.Count > 0
                ? c.Spec.Servers
                : [PodServer.Run("pause", ["sleep", c.Spec.Runtime == PodRuntime.Container ? "2147483647" : "infinity"])],
            cancellationToken)));

        // A start cancelled at the last moment still fails: the caller asked for no cluster.
        cancellationToken.ThrowIfCancellationRequested();
    }

    private async Task<Pod> CreatePodAsync(PodSpec spec, IPAddress ip, string serverScript, CancellationToken cancellationToken)
    {
        var netns = $"{Prefix}-pod-{spec.Name}";
        await AddNetworkNamespaceAsync(netns, cancellationToken);

        // What `ip netns exec` bind-mounts over /etc, and a container's bind mounts: the kubelet's pod files.
        var etc = $"/etc/netns/{netns}";
        Directory.CreateDirectory(etc);
        OnDispose(etc, _ =>
        {
            Directory.Delete(etc, recursive: true);
            return Task.CompletedTask;
        });
        await File.WriteAllTextAsync(Path.Join(etc, "resolv.conf"), ResolvConf(spec.Namespace), cancellationToken);
        await File.WriteAllTextAsync(Path.Join(etc, "hosts"), HostsFile(spec.Name, ip), cancellationToken);
        await File.WriteAllTextAsync(Path.Join(etc, "hostname"), spec.Name + "\n", cancellationToken);

        // The node end lives in the node netns, the pod end is created directly as eth0 in the pod's:
        // no interface ever appears in the root namespace.
        var veth = $"veth{NetworkNamespaces.Count}";
        await IpAsync(cancellationToken, "-n", NodeNetworkNamespace, "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", netns);
        await IpAsync(cancellationToken, "-n", NodeNetworkNamespace, "link", "set", veth, "master", Bridge, "up");
        await IpAsync(cancellationToken, "-n", netns, "link", "set", "lo", "up");
        await IpAsync(cancellationToken, "-n", netns, "addr", "add", $"{ip}/{PodNetwork.PrefixLength}", "dev", "eth0");
        await IpAsync(cancellationToken, "-n", netns, "link", "set", "eth0", "up");
        await IpAsync(cancellationToken, "-n", netns, "route", "add", "default", "via", Gateway.ToString());

        var env = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["PATH"] = PodPath,
            ["HOSTNAME"] = spec.Name,
            ["HOME"] = "/root",
        };
        foreach (var (name, value) in spec.Env)
        {
            env[name] = value;
        }

        var directory = Path.Join(WorkDirectory, "pods", spec.Name);
        Directory.CreateDirectory(directory);
        var container = spec.Runtime == PodRuntime.Container
            ? await RuncContainer.CreateBundleAsync(Path.Join(WorkDirectory, "runc"), Path.Join(directory, "bundle"), spec.Name,
                $"/run/netns/{netns}", etc, env, cancellationToken)
            : null;
        var service = spec.Service ?? spec.Name;
        var pod = new Pod(spec, ip, netns, service.Length == 0 ? null : ServiceFqdn(service, spec.Namespace), env,
            WorkDirectory, directory, Python, serverScript, container, _options.ReadyTimeout, _options.Log);
        OnDispose($"processes of pod {spec.Name}", pod.StopAsync);

        foreach (var (path, content) in spec.Files)
        {
            var hostPath = pod.HostPath(path);
            Directory.CreateDirectory(Path.GetDirectoryName(hostPath)!);
            await File.WriteAllTextAsync(hostPath, content, cancellationToken);
        }

        return pod;
    }

    private async Task AddNetworkNamespaceAsync(string name, CancellationToken cancellationToken)
    {
        // Not cancellable once begun (it takes milliseconds): a cancelled `ip` could leave a
        // namespace that nobody registered. Registered only once it exists: a clash with someone
        // else's namespace is not ours to delete.
        cancellationToken.ThrowIfCancellationRequested();
        await IpAsync(CancellationToken.None, "netns", "add", name);
        lock (_lock)
        {
            _namespaces.Add(name);
        }

        OnDispose($"netns {name}", ct => IpAsync(ct, "netns", "delete", name));
        cancellationToken.ThrowIfCancellationRequested();
    }

    private static Task<string> IpAsync(CancellationToken cancellationToken, params string[] arguments)
        => Commands.CheckedAsync(cancellationToken, ["ip", .. arguments]);

    private static IPAddress HostAddress(int host)
    {
        var bytes = PodNetwork.BaseAddress.GetAddressBytes();
        bytes[3] = (byte)host;
        return new IPAddress(bytes);
    }

    private static string ResolvConf(string @namespace)
        => $"search {@namespace}.svc.{ClusterDomain} svc.{ClusterDomain} {ClusterDomain}\nnameserver {DnsAddress}\noptions ndots:5\n";

    private static string HostsFile(string podName, IPAddress ip)
        => $"""
           # Kubernetes-managed hosts file.
           127.0.0.1	localhost
           ::1	localhost ip6-localhost ip6-loopback
           fe00::0	ip6-localnet
           fe00::0	ip6-mcastprefix
           fe00::1	ip6-allnodes
           fe00::2	ip6-allrouters
           {ip}	{podName}

           """;

    /// <summary>
    /// Answers SERVICE.NS.svc.cluster.local and SERVICE.NS.svc (short names go through the pods'
    /// search line) and A-B-C-D.NS.pod.cluster.local; forwards nothing anywhere.
    /// </summary>
    private string DnsmasqConfig(IEnumerable<(PodSpec Spec, IPAddress IP)> plan)
    {
        var config = new StringBuilder()
            .AppendLine($"# cluster DNS of mini-cluster {Prefix}")
            .AppendLine("no-resolv")
            .AppendLine("no-hosts")
            .AppendLine("no-poll")
            .AppendLine($"local=/{ClusterDomain}/")
            .AppendLine("domain-needed")
            .AppendLine("bind-interfaces")
            .AppendLine($"listen-address={DnsAddress}")
            .AppendLine("user=root")
            .AppendLine("pid-file=")
            .AppendLine("log-facility=-")
            .AppendLine("log-queries");
        var records = plan.Append((Spec: new PodSpec(DnsPodName) { Namespace = "kube-system" }, IP: DnsAddress));
        foreach (var (spec, ip) in records)
        {
            var service = spec.Service ?? spec.Name;
            if (service.Length > 0)
            {
                config.AppendLine($"host-record={service}.{spec.Namespace}.svc.{ClusterDomain},{service}.{spec.Namespace}.svc,{ip}");
            }

            config.AppendLine($"host-record={ip.ToString().Replace('.', '-')}.{spec.Namespace}.pod.{ClusterDomain},{ip}");
        }

        return config.ToString();
    }

    // The system python, not a pyenv shim: pod processes get a clean environment.
    private static string Python { get; } = new[] { "/usr/bin/python3", "/usr/local/bin/python3" }.FirstOrDefault(File.Exists) ?? "python3";

    private static void Validate(MiniClusterOptions options)
    {
        if (options.Prefix is not null && !Names.Prefix().IsMatch(options.Prefix))
        {
            throw new ArgumentException($"Prefix '{options.Prefix}' must be 1–9 lowercase letters or digits.", nameof(options));
        }

        if (options.Pods.Count > 240)
        {
            throw new ArgumentException("A mini-cluster holds at most 240 pods.", nameof(options));
        }

        var names = new HashSet<string>(StringComparer.Ordinal) { DnsPodName };
        foreach (var pod in options.Pods)
        {
            if (!Names.DnsLabel().IsMatch(pod.Name) || !names.Add(pod.Name))
            {
                throw new ArgumentException($"Pod name '{pod.Name}' must be a unique DNS label (lowercase letters, digits, '-', at most 40) other than {DnsPodName}.", nameof(options));
            }

            if (!Names.DnsLabel().IsMatch(pod.Namespace) || (!string.IsNullOrEmpty(pod.Service) && !Names.DnsLabel().IsMatch(pod.Service)))
            {
                throw new ArgumentException($"Pod {pod.Name}: namespace and service must be DNS labels.", nameof(options));
            }

            foreach (var path in pod.Files.Keys)
            {
                if (!path.StartsWith('/') || path.Split('/').Contains(".."))
                {
                    throw new ArgumentException($"Pod {pod.Name}: file path '{path}' must be absolute, without '..'.", nameof(options));
                }
            }

            foreach (var server in pod.Servers)
            {
                if (server.Port is < 0 or > 65535 || (server.Kind == ServerKind.Command && server.Command.Count == 0))
                {
                    throw new ArgumentException($"Pod {pod.Name}: server {server.Name} needs a port in 0–65535 and, for a command, argv.", nameof(options));
                }

                if (pod.Runtime == PodRuntime.Container && server.Kind == ServerKind.UdpEcho)
                {
                    throw new ArgumentException($"Pod {pod.Name}: a container pod cannot run a UDP echo (busybox has none); use a process pod.", nameof(options));
                }
            }
        }
    }
}
