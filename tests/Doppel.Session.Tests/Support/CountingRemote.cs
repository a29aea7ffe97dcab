using System.Collections.Concurrent;
using System.Net;
using Doppel.Interception.Remote;

namespace Doppel.Session.Tests.Support;

/// <summary>
/// A real remote (the agent behind a GrpcRemote) whose file calls are counted per path: each file
/// call of GrpcRemote is one gRPC call, i.e. one agent round trip.
/// </summary>
internal sealed class CountingRemote(IRemote inner) : IRemote
{
    /// <summary>"Call path" for every file call, in order (e.g. "ReadFile /app/x").</summary>
    public ConcurrentQueue<string> Calls { get; } = new();

    public string? Hostname => inner.Hostname;

    public ValueTask<RemoteEntry?> GetEntryAsync(string path, bool followSymlinks, CancellationToken cancellationToken)
    {
        Calls.Enqueue("Stat " + path);
        return inner.GetEntryAsync(path, followSymlinks, cancellationToken);
    }

    public ValueTask<IReadOnlyList<RemoteEntry>> ListDirectoryAsync(string path, CancellationToken cancellationToken)
    {
        Calls.Enqueue("ListDirectory " + path);
        return inner.ListDirectoryAsync(path, cancellationToken);
    }

    public ValueTask<RemoteEntry> ReadFileAsync(string path, Stream destination, CancellationToken cancellationToken)
    {
        Calls.Enqueue("ReadFile " + path);
        return inner.ReadFileAsync(path, destination, cancellationToken);
    }

    public ValueTask WriteFileAsync(string path, Stream content, CancellationToken cancellationToken)
    {
        Calls.Enqueue("WriteFile " + path);
        return inner.WriteFileAsync(path, content, cancellationToken);
    }

    public ValueTask CreateDirectoryAsync(string path, int mode, CancellationToken cancellationToken)
    {
        Calls.Enqueue("Mkdir " + path);
        return inner.CreateDirectoryAsync(path, mode, cancellationToken);
    }

    public ValueTask DeleteAsync(string path, bool directory, CancellationToken cancellationToken)
    {
        Calls.Enqueue("Delete " + path);
        return inner.DeleteAsync(path, directory, cancellationToken);
    }

    public ValueTask RenameAsync(string from, string to, bool noReplace, CancellationToken cancellationToken)
    {
        Calls.Enqueue("Rename " + from);
        return inner.RenameAsync(from, to, noReplace, cancellationToken);
    }

    public ValueTask SetAttributesAsync(string path, RemoteAttributes attributes, bool followSymlinks, CancellationToken cancellationToken)
    {
        Calls.Enqueue("SetAttributes " + path);
        return inner.SetAttributesAsync(path, attributes, followSymlinks, cancellationToken);
    }

    public ValueTask<TcpConnectOutcome> ConnectTcpAsync(IPEndPoint destination, CancellationToken cancellationToken) =>
        inner.ConnectTcpAsync(destination, cancellationToken);

    public ValueTask<IPEndPoint?> GetUdpRelayAsync(IPEndPoint destination, CancellationToken cancellationToken) =>
        inner.GetUdpRelayAsync(destination, cancellationToken);
}
