using Doppel.Testing;

namespace Doppel.Session.Tests.Incoming;

/// <summary>A mini-cluster for incoming traffic: a backend pod whose HTTP server is the target's app, and a web pod whose curl is the client.</summary>
public sealed class IncomingClusterFixture : IAsyncLifetime
{
    public const int HttpPort = 8080;

    public const string PodAnswer = "the pod's app";

    private MiniCluster? _cluster;

    public Pod Backend => _cluster!["backend"];

    public Pod Client => _cluster!["web"];

    public async Task InitializeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        _cluster = await MiniCluster.StartAsync(
            new MiniClusterOptions
            {
                Pods =
                {
                    new PodSpec("backend") { Servers = { PodServer.Http(HttpPort, PodAnswer) } },
                    new PodSpec("web"),
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
