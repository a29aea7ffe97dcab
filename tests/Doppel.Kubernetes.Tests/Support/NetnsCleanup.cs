namespace Doppel.Kubernetes.Tests.Support;

/// <summary>Deletes the network namespace <paramref name="name"/> (a test's developer machine), also when the test fails.</summary>
internal sealed class NetnsCleanup(string name) : IAsyncDisposable
{
    public async ValueTask DisposeAsync() => await Run.CheckedAsync(["ip", "netns", "delete", name], CancellationToken.None);
}
