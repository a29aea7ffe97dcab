using Doppel.Testing;

namespace Doppel.EndToEnd.Tests.Incoming;

/// <summary>
/// The mini-cluster of <see cref="LoadAndKillTests"/> (its own, so load from these tests never
/// meets another class's pods): a backend pod whose app answers <see cref="PodBody"/> on port 80,
/// and a client pod that runs wrk and curl against it.
/// </summary>
public sealed class LoadCluster : IAsyncLifetime
{
    public const string PodBody = "the pod's app\n";
    public const int Port = 80;

    private MiniCluster? _cluster;

    public MiniCluster Cluster => _cluster ?? throw new InvalidOperationException("The mini-cluster did not start.");

    public Pod Backend => Cluster["backend"];

    public Pod Client => Cluster["client"];

    /// <summary>doppel's working directory, for scripts and configuration files.</summary>
    public string WorkDirectory { get; } = Directory.CreateTempSubdirectory("doppel-e2e-load-").FullName;

    public async Task InitializeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            _cluster = await MiniCluster.StartAsync(
                new MiniClusterOptions
                {
                    Pods =
                    {
                        new PodSpec("backend") { Servers = { PodServer.Http(Port, PodBody) } },
                        new PodSpec("client"),
                    },
                },
                timeout.Token);
        }
        catch
        {
            RemoveWorkDirectory(); // a fixture that failed to start may not be disposed
            throw;
        }
    }

    public async Task DisposeAsync()
    {
        try
        {
            if (_cluster is not null)
            {
                await _cluster.DisposeAsync();
            }
        }
        finally
        {
            RemoveWorkDirectory();
        }

        Assert.Empty(_cluster?.CleanupFailures ?? []);
    }

    private void RemoveWorkDirectory()
    {
        if (Directory.Exists(WorkDirectory))
        {
            Directory.Delete(WorkDirectory, recursive: true);
        }
    }
}
