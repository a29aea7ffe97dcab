using Doppel.Testing;

namespace Doppel.Kubernetes.Tests.Support;

/// <summary>A namespace one test owns; everything it made goes with it.</summary>
public sealed class TestNamespace(KubeCluster cluster, string name) : IAsyncDisposable
{
    public string Name { get; } = name;

    /// <summary>kubectl ARGS -n NAME; throws with kubectl's stderr when it fails.</summary>
    public Task<string> KubectlAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
        => cluster.KubectlCheckedAsync(["-n", Name, .. arguments], cancellationToken);

    /// <summary>kubectl apply of YAML whose objects carry no namespace (they land in this one).</summary>
    public Task ApplyAsync(string yaml, CancellationToken cancellationToken)
        => cluster.ApplyAsync(yaml.Replace("namespace: NS", "namespace: " + Name, StringComparison.Ordinal), cancellationToken);

    /// <summary>The one pod with label app=APP once it is Running and ready: its name, IP and first container's ID.</summary>
    public async Task<(string Name, string IP, string ContainerId)> ReadyPodAsync(string app, CancellationToken cancellationToken)
    {
        await KubectlAsync(["wait", "pod", "-l", "app=" + app, "--for", "condition=Ready", "--timeout", "90s"], cancellationToken);
        var fields = (await KubectlAsync(
            ["get", "pod", "-l", "app=" + app, "-o", "jsonpath={.items[0].metadata.name} {.items[0].status.podIP} {.items[0].status.containerStatuses[0].containerID}"],
            cancellationToken)).Split(' ');
        return (fields[0], fields[1], fields[2][(fields[2].IndexOf("://", StringComparison.Ordinal) + 3)..]);
    }

    public async ValueTask DisposeAsync()
        => await cluster.KubectlAsync(["delete", "namespace", Name, "--wait=false"], CancellationToken.None);
}
