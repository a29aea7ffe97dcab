using Doppel.Testing.Tests.Support;

namespace Doppel.Testing.Tests;

/// <summary>Pods reach each other by service name through the cluster DNS; nothing else resolves.</summary>
public sealed class PodNetworkTests(ClusterFixture fixture) : IClassFixture<ClusterFixture>
{
    private const string UdpEcho = """
        import socket, sys
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(5)
        s.sendto(b"ping over udp", (sys.argv[1], int(sys.argv[2])))
        print(s.recvfrom(100)[0].decode())
        """;

    private const string TcpEcho = """
        import socket, sys
        s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
        s.sendall(b"ping over tcp\n")
        print(s.recv(100).decode().strip())
        """;

    [Fact(Timeout = 20_000)]
    public async Task PodReachesAnotherPodsHttpServerByServiceName()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var result = await fixture.Client.ExecInNetworkAsync(
            ["curl", "-sS", "--max-time", "5", "http://backend.default.svc.cluster.local:8080/"], timeout.Token);

        Assert.Equal("hello from backend\n", result.EnsureSuccess("curl").StandardOutput);
    }

    [Fact(Timeout = 20_000)]
    public async Task ShortServiceNamesResolveThroughTheSearchLine()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        foreach (var (name, pod) in new[]
        {
            ("backend", fixture.Backend),
            ("backend.default", fixture.Backend),
            ("backend.default.svc", fixture.Backend),
            ("store.payments", fixture.Store),
            ("store.payments.svc.cluster.local", fixture.Store),
        })
        {
            var result = await fixture.Client.ExecInNetworkAsync(["getent", "ahostsv4", name], timeout.Token);
            Assert.StartsWith($"{pod.IP} ", result.EnsureSuccess($"getent {name}").StandardOutput);
        }
    }

    [Fact(Timeout = 20_000)]
    public async Task NamesOutsideTheClusterDoNotResolve()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var unknownService = await fixture.Client.ExecInNetworkAsync(["getent", "ahostsv4", "nothing.default.svc.cluster.local"], timeout.Token);
        var outside = await fixture.Client.ExecInNetworkAsync(["getent", "ahostsv4", "example.com"], timeout.Token);

        Assert.Equal(2, unknownService.ExitCode);
        Assert.Equal(2, outside.ExitCode);
    }

    [Fact(Timeout = 20_000)]
    public async Task UdpEchoAnswersAnotherPod()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var result = await fixture.Client.ExecInNetworkAsync(
            ["python3", "-c", UdpEcho, "backend.default.svc.cluster.local", "9090"], timeout.Token);

        Assert.Equal("ping over udp\n", result.EnsureSuccess("udp echo").StandardOutput);
    }

    [Fact(Timeout = 20_000)]
    public async Task TcpEchoAnswersAnotherPod()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var result = await fixture.Client.ExecInNetworkAsync(["python3", "-c", TcpEcho, "backend", "7070"], timeout.Token);

        Assert.Equal("ping over tcp\n", result.EnsureSuccess("tcp echo").StandardOutput);
    }

    [Fact(Timeout = 20_000)]
    public async Task ContainerPodServesHttpAndTcpToOtherPods()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var http = await fixture.Client.ExecInNetworkAsync(
            ["curl", "-sS", "--max-time", "5", "http://store.payments.svc.cluster.local:8080/"], timeout.Token);
        var tcp = await fixture.Client.ExecInNetworkAsync(["python3", "-c", TcpEcho, "store.payments", "7000"], timeout.Token);

        Assert.Equal("hello from the container\n", http.EnsureSuccess("curl").StandardOutput);
        Assert.Equal("ping over tcp\n", tcp.EnsureSuccess("tcp echo").StandardOutput);
    }

    [Fact(Timeout = 20_000)]
    public async Task DeveloperNamespaceCannotReachAPod()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var developer = fixture.Cluster.Developer;

        var routes = await developer.ExecAsync(["ip", "-o", "route", "show", "table", "all"], timeout.Token);
        var links = await developer.ExecAsync(["ip", "-o", "link"], timeout.Token);
        var curl = await developer.ExecAsync(["curl", "-sS", "--max-time", "3", $"http://{fixture.Backend.IP}:8080/"], timeout.Token);
        var connect = await developer.ExecAsync(
            ["python3", "-c", $"import socket\ntry:\n socket.create_connection(('{fixture.Backend.IP}', 8080), timeout=3)\nexcept OSError as e:\n print(e.errno)"],
            timeout.Token);

        Assert.DoesNotContain("10.244.", routes.StandardOutput);
        Assert.Equal(["lo"], links.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(':')[1].Trim()));
        Assert.Equal(7, curl.ExitCode); // CURLE_COULDNT_CONNECT
        Assert.Contains($"Failed to connect to {fixture.Backend.IP} port 8080", curl.StandardError);
        Assert.Equal("101\n", connect.StandardOutput); // ENETUNREACH
    }

    [Fact(Timeout = 20_000)]
    public async Task RootNamespaceHasNothingOfTheCluster()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        using var ip = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("ip", "-o addr") { RedirectStandardOutput = true })!;
        var addresses = await ip.StandardOutput.ReadToEndAsync(timeout.Token);

        Assert.DoesNotContain("10.244.", addresses);
        Assert.All(fixture.Cluster.NetworkNamespaces, ns => Assert.StartsWith(fixture.Cluster.Prefix + "-", ns));
    }
}
