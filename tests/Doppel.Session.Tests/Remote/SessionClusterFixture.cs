using Doppel.Testing;

namespace Doppel.Session.Tests.Remote;

/// <summary>A mini-cluster for the session tests: a container pod with files, a backend with a TCP and a UDP echo.</summary>
public sealed class SessionClusterFixture : IAsyncLifetime
{
    public const int TcpEchoPort = 7070;

    public const int UdpEchoPort = 9090;

    private MiniCluster? _cluster;

    public Pod Box => _cluster!["box"];

    public Pod Backend => _cluster!["backend"];

    public async Task InitializeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        _cluster = await MiniCluster.StartAsync(
            new MiniClusterOptions
            {
                Pods =
                {
                    new PodSpec("backend") { Servers = { PodServer.TcpEcho(TcpEchoPort), PodServer.UdpEcho(UdpEchoPort) } },
                    new PodSpec("box")
                    {
                        Runtime = PodRuntime.Container,
                        Files = { ["/app/config.json"] = "{\"from\":\"the pod\"}", ["/app/data/a.txt"] = "a", ["/app/data/b.txt"] = "bb" },
                    },
                },
            },
            timeout.Token);
    }

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }
}
