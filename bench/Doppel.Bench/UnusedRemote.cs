using System.Net;
using Doppel.Interception.Remote;

namespace Doppel.Bench;

/// <summary>
/// The remote side of a policy that keeps everything local: never called. Fails loudly (the
/// workload sees EIO and the bench stops) if a call ever goes remote.
/// </summary>
internal sealed class UnusedRemote : IRemote
{
    public string? Hostname => null;

    public ValueTask<RemoteEntry?> GetEntryAsync(string path, bool followSymlinks, CancellationToken cancellationToken) => throw Unexpected();

    public ValueTask<IReadOnlyList<RemoteEntry>> ListDirectoryAsync(string path, CancellationToken cancellationToken) => throw Unexpected();

    public ValueTask ReadFileAsync(string path, Stream destination, CancellationToken cancellationToken) => throw Unexpected();

    public ValueTask WriteFileAsync(string path, Stream content, CancellationToken cancellationToken) => throw Unexpected();

    public ValueTask CreateDirectoryAsync(string path, int mode, CancellationToken cancellationToken) => throw Unexpected();

    public ValueTask DeleteAsync(string path, bool directory, CancellationToken cancellationToken) => throw Unexpected();

    public ValueTask RenameAsync(string from, string to, bool noReplace, CancellationToken cancellationToken) => throw Unexpected();

    public ValueTask SetAttributesAsync(string path, RemoteAttributes attributes, bool followSymlinks, CancellationToken cancellationToken) => throw Unexpected();

    public ValueTask<IPEndPoint?> ConnectTcpAsync(IPEndPoint destination, CancellationToken cancellationToken) => throw Unexpected();

    public void OnTcpConnected(IPEndPoint source, IPEndPoint destination) => throw Unexpected();

    public ValueTask<IPEndPoint?> GetUdpRelayAsync(IPEndPoint destination, CancellationToken cancellationToken) => throw Unexpected();

    private static InvalidOperationException Unexpected() => new("The bench's policy keeps everything local, yet a call went remote.");
}
