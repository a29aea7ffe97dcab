namespace Doppel.Testing.Tests.Support;

/// <summary>
/// One mini-cluster shared by a test class:
/// backend (process pod: HTTP 8080, UDP echo 9090, TCP echo 7070, env, /app/config.json),
/// client (process pod with only a pause process), store (runc container pod in namespace
/// payments: busybox httpd 8080, nc echo 7000, env, /app/config.json).
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public MiniCluster Cluster { get; private set; } = null!;

    public Pod Backend => Cluster["backend"];

    public Pod Client => Cluster["client"];

    public Pod Store => Cluster["store"];

    public async Task InitializeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        Cluster = await MiniCluster.StartAsync(Options(), timeout.Token);
    }

    public async Task DisposeAsync()
    {
        if (Cluster is null)
        {
            return;
        }

        await Cluster.DisposeAsync();
        Assert.Empty(Cluster.CleanupFailures);
    }

    public static MiniClusterOptions Options(string? prefix = null) => new()
    {
        Prefix = prefix,
        Pods =
        {
            new PodSpec("backend")
            {
                Env = { ["GREETING"] = "hello", ["DATABASE_URL"] = "postgres://db.default.svc.cluster.local/app" },
                Files = { ["/app/config.json"] = """{"backend":true}""" },
                Servers = { PodServer.Http(8080), PodServer.UdpEcho(9090), PodServer.TcpEcho(7070) },
            },
            new PodSpec("client"),
            new PodSpec("store")
            {
                Namespace = "payments",
                Runtime = PodRuntime.Container,
                Env = { ["STORE_MODE"] = "container" },
                Files = { ["/app/config.json"] = """{"store":true}""" },
                Servers = { PodServer.Http(8080, "hello from the container\n"), PodServer.TcpEcho(7000) },
            },
        },
    };
}
