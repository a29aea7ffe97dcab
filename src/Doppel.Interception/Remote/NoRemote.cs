using System.Net;

namespace Doppel.Interception.Remote;

/// <summary>
/// The remote side of a run whose policy never decides <c>Remote</c> (no target, or a benchmark
/// that keeps everything local): there is none. Reaching any member is a bug in that policy, so
/// it throws, naming the operation; the app sees EIO and the caller learns what went remote.
/// </summary>
public sealed class NoRemote : IRemote
{
    public string? Hostname => null;

    public ValueTask<RemoteEntry?> GetEntryAsync(string path, bool followSymlinks, CancellationToken cancellationToken) => throw Unexpected($"stat {path}");

    public ValueTask<IReadOnlyList<RemoteEntry>> ListDirectoryAsync(string path, CancellationToken cancellationToken) => throw Unexpected($"list {path}");

    public ValueTask<RemoteEntry> ReadFileAsync(string path, Stream destination, CancellationToken cancellationToken) => throw Unexpected($"read {path}");

    public ValueTask WriteFileAsync(string path, Stream content, CancellationToken cancellationToken) => throw Unexpected($"write {path}");

    public ValueTask CreateDirectoryAsync(string path, int mode, CancellationToken cancellationToken) => throw Unexpected($"mkdir {path}");

    public ValueTask DeleteAsync(string path, bool directory, CancellationToken cancellationToken) => throw Unexpected($"delete {path}");

    public ValueTask RenameAsync(string from, string to, bool noReplace, CancellationToken cancellationToken) => throw Unexpected($"rename {from}");

    public ValueTask SetAttributesAsync(string path, RemoteAttributes attributes, bool followSymlinks, CancellationToken cancellationToken) => throw Unexpected($"set attributes of {path}");

    public ValueTask<TcpConnectOutcome> ConnectTcpAsync(IPEndPoint destination, CancellationToken cancellationToken) => throw Unexpected($"connect to {destination}");

    public ValueTask<IPEndPoint?> GetUdpRelayAsync(IPEndPoint destination, CancellationToken cancellationToken) => throw Unexpected($"UDP to {destination}");

    private static InvalidOperationException Unexpected(string operation) =>
        new($"There is no remote side in this run, yet the policy sent '{operation}' to it.");
}
