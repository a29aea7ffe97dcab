using System.Collections.Concurrent;
using System.Net;
using Doppel.Interception.Remote;
using Doppel.Linux.Native;

namespace Doppel.Interception.Tests.Support;

/// <summary>
/// The test double of the remote side: the "remote file system" is a local directory
/// (remote <c>/a/b</c> is <c>ROOT/a/b</c>) and "remote services" are loopback listeners.
/// </summary>
internal sealed class DirectoryRemote(string root) : IRemote
{
    private readonly ConcurrentDictionary<IPEndPoint, IPEndPoint> _services = new();
    private readonly ConcurrentDictionary<IPEndPoint, IPEndPoint> _udpServices = new();

    public string Root { get; } = root;

    public string? Hostname { get; init; }

    private readonly ConcurrentQueue<(TcpStandIn StandIn, IPEndPoint Destination)> _standIns = new();

    /// <summary>The connections the engine admitted at a stand-in: the peer the service sees, and the destination.</summary>
    public IEnumerable<(IPEndPoint Source, IPEndPoint Destination)> Connections =>
        _standIns.Where(s => s.StandIn.AdmittedPeer.IsCompletedSuccessfully).Select(s => (s.StandIn.AdmittedPeer.Result, s.Destination));

    /// <summary>The pod-side address every stand-in reports (the app's getsockname); none by default.</summary>
    public IPEndPoint? PodLocalAddress { get; init; }

    public ConcurrentQueue<string> Reads { get; } = new();

    public ConcurrentDictionary<string, byte[]> Writes { get; } = new();

    /// <summary>Owners set by chown: a test runs as one user, so they are kept here and shown by stat.</summary>
    public ConcurrentDictionary<string, (int Uid, int Gid)> Owners { get; } = new();

    /// <summary>
    /// Remote paths whose metadata lookups and reads take this long (a slow remote call;
    /// <see cref="Timeout.InfiniteTimeSpan"/>: until the call is cancelled).
    /// </summary>
    public ConcurrentDictionary<string, TimeSpan> Delays { get; } = new();

    private readonly ConcurrentDictionary<string, TaskCompletionSource> _delayed = new();

    /// <summary>Completes once a call for <paramref name="path"/> (one of <see cref="Delays"/>) has arrived and is being held.</summary>
    public Task DelayedCallArrived(string path) => Delayed(path).Task;

    private TaskCompletionSource Delayed(string path) =>
        _delayed.GetOrAdd(path, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    private async Task HoldAsync(string path, CancellationToken cancellationToken)
    {
        if (Delays.TryGetValue(path, out var delay))
        {
            Delayed(path).TrySetResult();
            await Task.Delay(delay, cancellationToken);
        }
    }

    /// <summary>Remote paths whose lookups and reads fail with this errno (e.g. EACCES on the remote side).</summary>
    public ConcurrentDictionary<string, int> Errors { get; } = new();

    /// <summary>File calls per remote path (each is one round trip to a real agent): stat, listing, read, write, attributes.</summary>
    public ConcurrentDictionary<string, int> FileCalls { get; } = new();

    private void Count(string path) => FileCalls.AddOrUpdate(path, 1, (_, n) => n + 1);

    /// <summary>"Call path" for the calls a real agent counts as round trips on a path ("Stat", "Create", "WriteFile", "SetAttributes"), in order.</summary>
    public ConcurrentQueue<string> Calls { get; } = new();

    /// <summary>
    /// Whether <see cref="CreateOrGetEntryAsync"/> answers (an agent with "files.create-stat"); false
    /// is an older agent, and open(O_CREAT) stats the path and its parent before creating.
    /// </summary>
    public bool CreatesInOneCall { get; init; } = true;

    public async ValueTask<RemoteCreate?> CreateOrGetEntryAsync(string path, int mode, bool exclusive, bool followSymlinks, CancellationToken cancellationToken)
    {
        if (!CreatesInOneCall)
        {
            return null;
        }

        Count(path);
        Calls.Enqueue("Create " + path);
        await HoldAsync(path, cancellationToken);
        if (Errors.TryGetValue(path, out var refused))
        {
            throw new RemoteFileException(refused, "refused by the remote side");
        }

        // As open(O_CREAT) in the pod: an existing name answered with its stat (EEXIST with O_EXCL,
        // even for a dangling symlink), a missing or non-directory parent with ENOENT or ENOTDIR.
        var local = Local(path);
        var existing = GetEntry(path, followSymlinks);
        if (existing is not null || (exclusive && new FileInfo(local).LinkTarget is not null))
        {
            return exclusive ? throw new RemoteFileException(Errno.EEXIST, "exists") : new RemoteCreate(false, existing!);
        }

        if (WriteErrors.TryGetValue(path, out var unwritable))
        {
            throw new RemoteFileException(unwritable, "refused by the remote side");
        }

        var parent = Path.GetDirectoryName(local)!;
        if (!Directory.Exists(parent))
        {
            throw new RemoteFileException(Path.Exists(parent) ? Errno.ENOTDIR : Errno.ENOENT, "no parent directory");
        }

        using (new FileStream(local, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = (UnixFileMode)(mode & 0x1ff) }))
        {
        }

        File.SetUnixFileMode(local, (UnixFileMode)mode); // not the test process's umask
        return new RemoteCreate(true, GetEntry(path, followSymlinks: true)!);
    }

    /// <summary>Remote paths whose write-backs fail with this errno (e.g. EACCES: the pod file is read-only).</summary>
    public ConcurrentDictionary<string, int> WriteErrors { get; } = new();

    /// <summary>Connections to <paramref name="destination"/> go to <paramref name="standIn"/>.</summary>
    public void AddService(IPEndPoint destination, IPEndPoint standIn) => _services[destination] = standIn;

    /// <summary>Datagrams to <paramref name="destination"/> go to (and come back from) <paramref name="relay"/>.</summary>
    public void AddUdpService(IPEndPoint destination, IPEndPoint relay) => _udpServices[destination] = relay;

    public ValueTask<IPEndPoint?> GetUdpRelayAsync(IPEndPoint destination, CancellationToken cancellationToken)
        => new(_udpServices.TryGetValue(destination, out var relay) ? relay : null);

    /// <summary>Whether <see cref="ConnectUdpAsync"/> keeps the app's sockets in <see cref="ConnectedUdpSockets"/> (the test disposes them).</summary>
    public bool KeepConnectedUdpSockets { get; init; }

    public ConcurrentQueue<IConnectedUdpSocket> ConnectedUdpSockets { get; } = new();

    public ValueTask<IPEndPoint?> ConnectUdpAsync(IPEndPoint destination, IConnectedUdpSocket socket, CancellationToken cancellationToken)
    {
        if (KeepConnectedUdpSockets)
        {
            ConnectedUdpSockets.Enqueue(socket);
        }
        else
        {
            socket.Dispose();
        }

        return GetUdpRelayAsync(destination, cancellationToken);
    }

    public string Local(string remotePath) => Root + remotePath;

    public async ValueTask<RemoteEntry?> GetEntryAsync(string path, bool followSymlinks, CancellationToken cancellationToken)
    {
        Count(path);
        Calls.Enqueue("Stat " + path);
        await HoldAsync(path, cancellationToken);

        if (Errors.TryGetValue(path, out var errno))
        {
            throw new RemoteFileException(errno, "refused by the remote side");
        }

        return GetEntry(path, followSymlinks);
    }

    private RemoteEntry? GetEntry(string path, bool followSymlinks)
    {
        FileSystemInfo info = Directory.Exists(Local(path)) && (followSymlinks || new DirectoryInfo(Local(path)).LinkTarget is null)
            ? new DirectoryInfo(Local(path))
            : new FileInfo(Local(path));
        if (!info.Exists && info.LinkTarget is null)
        {
            return null;
        }

        if (followSymlinks && info.LinkTarget is not null)
        {
            var final = info.ResolveLinkTarget(returnFinalTarget: true);
            if (final is null || !final.Exists)
            {
                return null;
            }

            info = final;
        }

        var entry = Entry(info);
        return Owners.TryGetValue(path, out var owner) ? entry with { Uid = owner.Uid, Gid = owner.Gid } : entry;
    }

    public ValueTask<IReadOnlyList<RemoteEntry>> ListDirectoryAsync(string path, CancellationToken cancellationToken)
    {
        Count(path);
        var entries = new DirectoryInfo(Local(path)).EnumerateFileSystemInfos().Select(Entry).ToList();
        return new(entries);
    }

    public async ValueTask<RemoteEntry> ReadFileAsync(string path, Stream destination, CancellationToken cancellationToken)
    {
        Reads.Enqueue(path);
        Count(path);
        await HoldAsync(path, cancellationToken);

        if (Errors.TryGetValue(path, out var refused))
        {
            throw new RemoteFileException(refused, "refused by the remote side");
        }

        if (Directory.Exists(Local(path)))
        {
            throw new RemoteFileException(Errno.EISDIR, "is a directory");
        }

        if (!File.Exists(Local(path)))
        {
            throw new RemoteFileException(Errno.ENOENT, "missing");
        }

        await using var source = File.OpenRead(Local(path));
        await source.CopyToAsync(destination, cancellationToken);
        return GetEntry(path, followSymlinks: true)!;
    }

    /// <summary>Remote paths whose open for writing fails, with the errno (a read-only file system: EROFS).</summary>
    public ConcurrentDictionary<string, int> OpenForWritingErrors { get; } = new();

    public ValueTask CheckWritableAsync(string path, CancellationToken cancellationToken)
    {
        return OpenForWritingErrors.TryGetValue(path, out var errno) ? throw new RemoteFileException(errno, "refused by the remote side") : ValueTask.CompletedTask;
    }

    public async ValueTask WriteFileAsync(string path, Stream content, CancellationToken cancellationToken)
    {
        Count(path);
        Calls.Enqueue("WriteFile " + path);
        if (WriteErrors.TryGetValue(path, out var errno))
        {
            throw new RemoteFileException(errno, "refused by the remote side");
        }

        using var copy = new MemoryStream();
        await content.CopyToAsync(copy, cancellationToken);
        Writes[path] = copy.ToArray();
        await File.WriteAllBytesAsync(Local(path), copy.ToArray(), cancellationToken);
    }

    public ValueTask CreateDirectoryAsync(string path, int mode, CancellationToken cancellationToken)
    {
        if (Path.Exists(Local(path)))
        {
            throw new RemoteFileException(17, "exists");
        }

        Directory.CreateDirectory(Local(path));
        return default;
    }

    public ValueTask DeleteAsync(string path, bool directory, CancellationToken cancellationToken)
    {
        if (!Path.Exists(Local(path)))
        {
            throw new RemoteFileException(2, "missing");
        }

        if (directory)
        {
            if (Directory.EnumerateFileSystemEntries(Local(path)).Any())
            {
                throw new RemoteFileException(39, "not empty");
            }

            Directory.Delete(Local(path));
        }
        else
        {
            if (Directory.Exists(Local(path)))
            {
                throw new RemoteFileException(21, "is a directory");
            }

            File.Delete(Local(path));
        }

        return default;
    }

    /// <summary>Links made in the "remote": (call, from or target, new name), in order.</summary>
    public ConcurrentQueue<(string Call, string From, string To)> Links { get; } = new();

    public ValueTask SymlinkAsync(string target, string path, CancellationToken cancellationToken)
    {
        // Real symlinkat under the root: the target is stored as it is (only relative ones are meaningful here).
        var errno = Doppel.Linux.Processes.FileCalls.Symlink(target, Local(path));
        Links.Enqueue(("symlink", target, path));
        return errno == 0 ? default : throw new RemoteFileException(errno, path);
    }

    public ValueTask LinkAsync(string from, string to, bool followSymlinks, CancellationToken cancellationToken)
    {
        var errno = Doppel.Linux.Processes.FileCalls.Link(Local(from), Local(to), followSymlinks);
        Links.Enqueue((followSymlinks ? "link -L" : "link", from, to));
        return errno == 0 ? default : throw new RemoteFileException(errno, to);
    }

    public ValueTask RenameAsync(string from, string to, bool noReplace, CancellationToken cancellationToken)
    {
        if (noReplace && Path.Exists(Local(to)))
        {
            throw new RemoteFileException(17, "exists");
        }

        if (Directory.Exists(Local(from)))
        {
            Directory.Move(Local(from), Local(to));
        }
        else
        {
            File.Move(Local(from), Local(to), overwrite: true);
        }

        return default;
    }

    public ValueTask SetAttributesAsync(string path, RemoteAttributes attributes, bool followSymlinks, CancellationToken cancellationToken)
    {
        Calls.Enqueue("SetAttributes " + path);
        var local = Local(path);
        if (!Path.Exists(local))
        {
            throw new RemoteFileException(2, "missing");
        }

        if (attributes.Mode is { } mode)
        {
            File.SetUnixFileMode(local, (UnixFileMode)mode);
        }

        if (attributes.Uid is not null || attributes.Gid is not null)
        {
            var current = GetEntry(path, followSymlinks)!;
            Owners[path] = (attributes.Uid ?? current.Uid, attributes.Gid ?? current.Gid);
        }

        if (attributes.LastWriteTime is { } write)
        {
            File.SetLastWriteTimeUtc(local, write.UtcDateTime);
        }

        if (attributes.LastAccessTime is { } access)
        {
            File.SetLastAccessTimeUtc(local, access.UtcDateTime);
        }

        return default;
    }

    /// <summary>How long each TCP connect takes on the remote side (a slow agent, a port-forward); none by default.</summary>
    public TimeSpan TcpConnectDelay { get; init; }

    public async ValueTask<TcpConnectOutcome> ConnectTcpAsync(IPEndPoint destination, CancellationToken cancellationToken)
    {
        if (TcpConnectDelay > TimeSpan.Zero)
        {
            await Task.Delay(TcpConnectDelay, cancellationToken);
        }

        if (!_services.TryGetValue(destination, out var service))
        {
            return TcpConnectOutcome.Failed(Errno.ECONNREFUSED);
        }

        var standIn = new TcpStandIn(service, PodLocalAddress);
        _standIns.Enqueue((standIn, destination));
        return TcpConnectOutcome.Connected(standIn);
    }

    private static RemoteEntry Entry(FileSystemInfo info)
    {
        var kind = info.LinkTarget is not null ? RemoteEntryKind.Symlink
            : info is DirectoryInfo ? RemoteEntryKind.Directory
            : RemoteEntryKind.File;
        return new RemoteEntry(
            info.Name,
            kind,
            kind == RemoteEntryKind.Symlink ? 0x1ff : (int)info.UnixFileMode,
            Uid: 1234,
            Gid: 2345,
            Size: info is FileInfo f && kind == RemoteEntryKind.File ? f.Length : kind == RemoteEntryKind.Symlink ? info.LinkTarget!.Length : 4096,
            info.LastWriteTimeUtc,
            info.LastAccessTimeUtc,
            info.LinkTarget);
    }
}
