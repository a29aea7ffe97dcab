using Doppel.Testing;

namespace Doppel.Kubernetes.Tests.Support;

/// <summary>
/// The real cluster (<see cref="KubeCluster"/>: joined when scripts/test.sh started one, else
/// brought up here and torn down at the end) with the agent image built by
/// scripts/agent-image.sh imported into its node.
/// </summary>
public sealed class KubeFixture : IAsyncLifetime
{
    private KubeCluster? _cluster;
    private readonly Dictionary<string, Task<TestNamespace>> _shared = new(StringComparer.Ordinal);

    public KubeCluster Cluster => _cluster ?? throw new InvalidOperationException("The test cluster did not start.");

    /// <summary>
    /// Names the agent image's tag (doppel.local/doppel-agent:TAG) when a shared cluster's other
    /// users must not see this run's import replace theirs; unset: VERSION, doppel's default agent.image.
    /// </summary>
    public const string AgentTagVariable = "DOPPEL_TEST_AGENT_TAG";

    /// <summary>The agent image's reference (doppel.local/doppel-agent:VERSION, or the tag <see cref="AgentTagVariable"/> names), present on the node.</summary>
    public string AgentImage { get; private set; } = "";

    /// <summary>artifacts/doppel-agent.oci.tar, the archive <see cref="AgentImage"/> was imported from.</summary>
    public string AgentImageArchive { get; } = Path.Combine(RepoPaths.Root, "artifacts", "doppel-agent.oci.tar");

    public async Task InitializeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        string[] reference = Environment.GetEnvironmentVariable(AgentTagVariable) is { Length: > 0 } tag ? ["doppel.local/doppel-agent:" + tag] : [];
        var image = Run.CheckedAsync(["bash", Path.Combine(RepoPaths.Root, "scripts", "agent-image.sh"), RepoPaths.Agent, .. reference], timeout.Token);
        _cluster = await KubeCluster.StartAsync(timeout.Token);
        AgentImage = (await image).Trim().Split('\n')[^1];
        await Cluster.ImportImageAsync(AgentImageArchive, timeout.Token);
    }

    public async Task DisposeAsync()
    {
        foreach (var made in _shared.Values.Where(t => t.IsCompletedSuccessfully))
        {
            await made.Result.DisposeAsync();
        }

        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }

    /// <summary>
    /// A namespace several tests share, made by <paramref name="create"/> on first use and deleted
    /// when the fixture is disposed (a failed creation is retried by the next caller).
    /// </summary>
    public Task<TestNamespace> SharedNamespaceAsync(string key, Func<CancellationToken, Task<TestNamespace>> create)
    {
        lock (_shared)
        {
            if (!_shared.TryGetValue(key, out var made) || made.IsFaulted || made.IsCanceled)
            {
                // Its own time limit: the first caller's token must not cancel the others' namespace.
                made = Task.Run(async () =>
                {
                    using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
                    return await create(timeout.Token);
                });
                _shared[key] = made;
            }

            return made;
        }
    }

    /// <summary>A new namespace named PREFIX-RANDOM; deleted (without waiting) on dispose.</summary>
    public async Task<TestNamespace> CreateNamespaceAsync(string prefix, CancellationToken cancellationToken)
    {
        var name = $"{prefix}-{Guid.NewGuid().ToString("N")[..6]}";
        await Cluster.KubectlCheckedAsync(["create", "namespace", name], cancellationToken);
        // Pods can be created once the namespace's default ServiceAccount has its token.
        await Poll.UntilAsync(
            async ct => (await Cluster.KubectlAsync(["get", "serviceaccount", "default", "-n", name, "-o", "jsonpath={.secrets[0].name}"], ct)).StandardOutput.Length > 0,
            $"the default ServiceAccount of namespace {name} has a token",
            cancellationToken);
        return new TestNamespace(Cluster, name);
    }
}
