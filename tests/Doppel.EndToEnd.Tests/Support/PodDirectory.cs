namespace Doppel.EndToEnd.Tests.Support;

/// <summary>A fresh directory under /app in the pod (made through the host's view of its root), removed at the end.</summary>
internal sealed class PodDirectory : IAsyncDisposable
{
    private readonly string _hostPath;

    private PodDirectory(string path, string hostPath)
    {
        Path = path;
        _hostPath = hostPath;
    }

    public string Path { get; }

    public static PodDirectory Make(ClusterFixture fixture, string name)
    {
        var path = $"/app/{name}-{Guid.NewGuid():N}"[..(name.Length + 14)];
        var hostPath = fixture.Bff.HostPath(path);
        Directory.CreateDirectory(hostPath);
        return new PodDirectory(path, hostPath);
    }

    public ValueTask DisposeAsync()
    {
        Directory.Delete(_hostPath, recursive: true);
        return ValueTask.CompletedTask;
    }
}
