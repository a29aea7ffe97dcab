using System.Collections.Concurrent;
using System.Net;
using Doppel.Interception.Remote;

namespace Doppel.Session.Tests.Support;

/// <summary>
/// A real remote (the agent behind a GrpcRemote) whose file calls are counted per path: each file
/// call of GrpcRemote is one gRPC call, i.e. one agent round trip. <see cref="Before"/> runs before a
/// call reaches the agent: a test holds a call there (to act while it is under way), cancels its
/// caller, or fails it.
/// </summary>
internal sealed class CountingRemote(IRemote inner) : IRemote
{
    /// <summary>"Call path" for every file call, in order (e.g. "ReadFile /app/x").</summary>
    public ConcurrentQueue<string> Calls { get; } = new();

    /// <summary>Runs with "Call path" and the call's token before each file call goes on to the agent.</summary>
    public Func<string, CancellationToken, Task>? Before { get; init; }

    public string? Hostname => inner.Hostname;

    public async ValueTask<RemoteEntry?> GetEntryAsync(string path, bool followSymlinks, CancellationToken cancellationToken)
    {
        await EnterAsync("Stat " + path, cancellationToken);
        return await inner.GetEntryAsync(path, followSymlinks, cancellationToken);
    }

    public ValueTask<IReadOnlyList<RemoteEntry>> ListDirectoryAsync(string path, CancellationToken cancellationToken)
    {
        Calls.Enqueue("ListDirectory " + path);
        return inner.ListDirectoryAsync(path, cancellationToken);
    }

    public async ValueTask<RemoteEntry> ReadFileAsync(string path, Stream destination, CancellationToken cancellationToken)
    {
        await EnterAsync("ReadFile " + path, cancellationToken);
        return await inner.ReadFileAsync(path, destination, cancellationToken);
    }

    public async ValueTask WriteFileAsync(string path, Stream content, CancellationToken cancellationToken)
    {
        await EnterAsync("WriteFile " + path, cancellationToken);
        await inner.WriteFileAsync(path, content, cancellationToken);
    }

    public async ValueTask WriteFileAsync(string path, Stream content, bool inPlace, RemoteAttributes attributes, CancellationToken cancellationToken)
    {
        // One call of the interface (a GrpcRemote makes it one agent call, or two for an older agent).
        await EnterAsync("WriteFile+attributes " + path, cancellationToken);
        await inner.WriteFileAsync(path, content, inPlace, attributes, cancellationToken);
    }

    public async ValueTask<RemoteCreate?> CreateOrGetEntryAsync(string path, int mode, bool exclusive, bool followSymlinks, CancellationToken cancellationToken)
    {
        await EnterAsync("Create " + path, cancellationToken);
        return await inner.CreateOrGetEntryAsync(path, mode, exclusive, followSymlinks, cancellationToken);
    }

    public async ValueTask<RemoteLockOutcome> LockAndStatAsync(string path, RemoteLock request, CancellationToken cancellationToken)
    {
        await EnterAsync("Lock " + path, cancellationToken);
        return await inner.LockAndStatAsync(path, request, cancellationToken);
    }

    public async ValueTask CreateDirectoryAsync(string path, int mode, CancellationToken cancellationToken)
    {
        await EnterAsync("Mkdir " + path, cancellationToken);
        await inner.CreateDirectoryAsync(path, mode, cancellationToken);
    }

    public async ValueTask DeleteAsync(string path, bool directory, CancellationToken cancellationToken)
    {
        await EnterAsync("Delete " + path, cancellationToken);
        await inner.DeleteAsync(path, directory, cancellationToken);
    }

    public async ValueTask RenameAsync(string from, string to, bool noReplace, CancellationToken cancellationToken)
    {
        await EnterAsync("Rename " + from, cancellationToken);
        await inner.RenameAsync(from, to, noReplace, cancellationToken);
    }

    public async ValueTask SetAttributesAsync(string path, RemoteAttributes attributes, bool followSymlinks, CancellationToken cancellationToken)
    {
        await EnterAsync("SetAttributes " + path, cancellationToken);
        await inner.SetAttributesAsync(path, attributes, followSymlinks, cancellationToken);
    }

    public ValueTask<TcpConnectOutcome> ConnectTcpAsync(IPEndPoint destination, CancellationToken cancellationToken) =>
        inner.ConnectTcpAsync(destination, cancellationToken);

    public ValueTask<IPEndPoint?> GetUdpRelayAsync(IPEndPoint destination, CancellationToken cancellationToken) =>
        inner.GetUdpRelayAsync(destination, cancellationToken);

    private async Task EnterAsync(string call, CancellationToken cancellationToken)
    {
        Calls.Enqueue(call);
        if (Before is not null)
        {
            await Before(call, cancellationToken);
        }
    }
}
