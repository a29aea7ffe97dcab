using Doppel.Testing;

namespace Doppel.Agent.Tests;

/// <summary>
/// One mini-cluster for the agent tests: a process pod, a runc container pod with a config
/// file and two symlinks that try to leave the container's root, and a backend pod with an HTTP
/// server, a TCP echo and a UDP echo for outgoing traffic and DNS.
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public const string ConfigJson = "{\"from\":\"the container\"}";

    public const int HttpPort = 8080;

    public const int TcpEchoPort = 7070;

    public const int UdpEchoPort = 9090;

    private MiniCluster? _cluster;

    public Pod ProcessPod => _cluster!["web"];

    public Pod ContainerPod => _cluster!["box"];

    public Pod Backend => _cluster!["backend"];

    public MiniCluster Cluster => _cluster!;

    public async Task InitializeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var options = new MiniClusterOptions
        {
            Pods =
            {
                new PodSpec("web") { Env = { ["FOO"] = "bar" } },
                new PodSpec("backend") { Servers = { PodServer.Http(HttpPort), PodServer.TcpEcho(TcpEchoPort), PodServer.UdpEcho(UdpEchoPort) } },
                new PodSpec("box")
                {
                    Runtime = PodRuntime.Container,
                    Env = { ["DATABASE_URL"] = "postgres://db/app" },
                    Files = { ["/app/config.json"] = ConfigJson },
                },
            },
        };
        _cluster = await MiniCluster.StartAsync(options, timeout.Token);
        File.CreateSymbolicLink(ContainerPod.HostPath("/app/shadow"), "/etc/shadow");
        File.CreateSymbolicLink(ContainerPod.HostPath("/app/passwd"), "../../../../../../../../../../../../../../../../etc/passwd");
    }

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }
}
