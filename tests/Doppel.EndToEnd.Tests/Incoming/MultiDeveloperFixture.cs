using Doppel.Testing;

namespace Doppel.EndToEnd.Tests.Incoming;

/// <summary>
/// The multi-developer scenario, started once for a test class: a mini-cluster
/// (<see cref="IncomingFixture"/>), then alice's and bob's sessions, each on their own machine
/// (developer namespace) with <c>seed-multi-developer.json</c> (a header filter
/// <c>^X-Dev-User: {{ USER }}$</c>) and their own local app on port 80, both stealing from the web
/// pod through its one agent.
/// </summary>
public sealed class MultiDeveloperFixture : IAsyncLifetime
{
    private DoppelExecProcess? _alice;
    private DoppelExecProcess? _bob;

    public IncomingFixture Cluster { get; } = new();

    /// <summary>Alice's doppel (started first, so she started the agent).</summary>
    public DoppelExecProcess Alice => _alice ?? throw new InvalidOperationException("alice's session did not start.");

    /// <summary>Bob's doppel (joined the agent alice's session started).</summary>
    public DoppelExecProcess Bob => _bob ?? throw new InvalidOperationException("bob's session did not start.");

    public async Task InitializeAsync()
    {
        await Cluster.InitializeAsync();
        _alice = await Cluster.StartAppAsync("alice", Cluster.AliceNamespace, IncomingFixture.SeedConfig);
        await Cluster.WaitUntilRoutedAsync("alice", "-H", "X-Dev-User: alice", Cluster.WebUrl + "/ready");
        _bob = await Cluster.StartAppAsync("bob", Cluster.BobNamespace, IncomingFixture.SeedConfig);
        await Cluster.WaitUntilRoutedAsync("bob", "-H", "X-Dev-User: bob", Cluster.WebUrl + "/ready");
    }

    public async Task DisposeAsync()
    {
        if (_bob is not null)
        {
            await _bob.DisposeAsync();
        }

        if (_alice is not null)
        {
            await _alice.DisposeAsync();
        }

        await Cluster.DisposeAsync();
    }
}
