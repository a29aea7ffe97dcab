using System.Net;
using Doppel.Interception.Remote;
using Doppel.Linux.Files;
using Doppel.Linux.Native;
using Doppel.Protocol;
using Doppel.Protocol.V1;
using Doppel.Session.Agent;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Doppel.Session.Remote;

/// <summary>
/// The interception engine's <see cref="IRemote"/>, served by an agent over gRPC: files on the
/// control connection, outgoing TCP and UDP relayed over the relay lanes (<see cref="RelayLanes"/>:
/// <see cref="RelayLanes.Count"/> HTTP/2 connections, each stream on the least busy) through
/// loopback stand-ins (<see cref="TcpRelays"/>, <see cref="UdpRelays"/>). An agent that has gone makes
/// calls fail (EIO for files, refused or reset connections), never hang; the next call reconnects.
/// </summary>
public sealed partial class GrpcRemote : IRemote, IAsyncDisposable
{
    /// <summary>How long one file call may take before the app sees EIO (a wedged agent must not hang it).</summary>
    public static readonly TimeSpan FileCallTimeout = TimeSpan.FromSeconds(60);

    private readonly AgentConnection _agent;
    private readonly ILogger _logger;
    private readonly TcpRelays _tcp;
    private readonly UdpRelays _udp;
    private long _fileCalls;

    /// <param name="agent">The session's connection.</param>
    /// <param name="hostname">The target's hostname for uname/gethostname; null leaves the local one.</param>
    /// <param name="logger">Where relay and file failures are logged.</param>
    /// <param name="dns">Which DNS queries the developer's nameserver answers (the DNS filter); null sends every query to the agent.</param>
    /// <param name="time">The clock of UDP flow sweeping (<see cref="UdpRelay.IdleTimeout"/>); <see cref="TimeProvider.System"/> when null (a test passes a fake one).</param>
    public GrpcRemote(AgentConnection agent, string? hostname, ILogger logger, DnsRouting? dns = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(agent);
        ArgumentNullException.ThrowIfNull(logger);
        _agent = agent;
        _logger = logger;
        Hostname = hostname;
        _tcp = new TcpRelays(agent.Relay, logger);
        _udp = new UdpRelays(agent.Relay, dns, logger, time ?? TimeProvider.System);
    }

    public string? Hostname { get; }

    public async ValueTask<RemoteEntry?> GetEntryAsync(string path, bool followSymlinks, CancellationToken cancellationToken)
    {
        var response = await Call(
            c => _agent.Files.StatAsync(new StatRequest { Path = path, FollowSymlinks = followSymlinks }, deadline: Deadline(), cancellationToken: c).ResponseAsync,
            path,
            cancellationToken).ConfigureAwait(false);
        if (response.Error is { } error)
        {
            return error.Errno == Errno.ENOENT ? null : throw Failure(error, path);
        }

        return Entry(response.Stat, FileStat.NameOf(path));
    }

    public async ValueTask<IReadOnlyList<RemoteEntry>> ListDirectoryAsync(string path, CancellationToken cancellationToken)
    {
        return await Call(
            async c =>
            {
                using var call = _agent.Files.ListDirectory(new ListDirectoryRequest { Path = path }, deadline: Deadline(), cancellationToken: c);
                var entries = new List<RemoteEntry>();
                await foreach (var batch in call.ResponseStream.ReadAllAsync(c).ConfigureAwait(false))
                {
                    if (batch.Error is { } error)
                    {
                        throw Failure(error, path);
                    }

                    entries.AddRange(batch.Entries.Select(e => Entry(e, e.Name)));
                }

                return (IReadOnlyList<RemoteEntry>)entries;
            },
            path,
            cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<RemoteEntry> ReadFileAsync(string path, Stream destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(destination);
        return await Call(
            async c =>
            {
                using var call = _agent.Files.ReadFile(new ReadFileRequest { Path = path }, deadline: Deadline(), cancellationToken: c);
                RemoteEntry? entry = null;
                await foreach (var chunk in call.ResponseStream.ReadAllAsync(c).ConfigureAwait(false))
                {
                    if (chunk.Error is { } error)
                    {
                        throw Failure(error, path);
                    }

                    // The first message carries fstat of the file the agent reads from.
                    if (chunk.Stat is { } stat)
                    {
                        entry ??= Entry(stat, FileStat.NameOf(path));
                    }

                    if (!chunk.Data.IsEmpty)
                    {
                        await destination.WriteAsync(chunk.Data.Memory, c).ConfigureAwait(false);
                    }
                }

                return entry ?? throw new RemoteFileException(Errno.EIO, $"{path}: the agent sent no stat with the content");
            },
            path,
            cancellationToken).ConfigureAwait(false);
    }

    public ValueTask WriteFileAsync(string path, Stream content, CancellationToken cancellationToken) =>
        WriteFileAsync(path, content, inPlace: false, cancellationToken);

    /// <inheritdoc/>
    public async ValueTask WriteFileAsync(string path, Stream content, bool inPlace, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        var response = await WriteAsync(new WriteFileOpen { Path = path, Mode = 0x1A4, Create = true, Truncate = true, InPlace = inPlace }, content, cancellationToken).ConfigureAwait(false);
        if (response.Error is { } error)
        {
            throw Failure(error, path, response.InPlace);
        }
    }

    /// <inheritdoc/>
    public async ValueTask WriteFileAsync(string path, Stream content, bool inPlace, RemoteAttributes attributes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        ArgumentNullException.ThrowIfNull(attributes);
        if (!_agent.Hello.Features.Contains(ProtocolFeatures.FilesWriteAttributes) || attributes.Uid is not null || attributes.Gid is not null || attributes.LastAccessTime is not null)
        {
            // An older agent: the write, then a SetAttributes call.
            await WriteFileAsync(path, content, inPlace, cancellationToken).ConfigureAwait(false);
            await SetAttributesAsync(path, attributes, followSymlinks: true, cancellationToken).ConfigureAwait(false);
            return;
        }

        var open = new WriteFileOpen { Path = path, Mode = 0x1A4, Create = true, Truncate = true, InPlace = inPlace };
        SetFinalAttributes(open, attributes);
        var response = await WriteAsync(open, content, cancellationToken).ConfigureAwait(false);
        if (response.Error is { } error)
        {
            throw Failure(error, path, response.InPlace);
        }
    }

    /// <inheritdoc/>
    public async ValueTask<RemoteWriteResult?> WriteChangesAsync(string path, Stream content, RemoteWritePlan? plan, RemoteAttributes attributes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        ArgumentNullException.ThrowIfNull(attributes);
        var features = _agent.Hello.Features;
        if (!features.Contains(ProtocolFeatures.FilesWriteRanges) || !features.Contains(ProtocolFeatures.FilesWriteAttributes)
            || attributes.Uid is not null || attributes.Gid is not null || attributes.LastAccessTime is not null)
        {
            // An agent that writes no ranges: the whole copy, in place.
            content.Position = 0;
            await WriteFileAsync(path, content, inPlace: true, attributes, cancellationToken).ConfigureAwait(false);
            return null;
        }

        // Without a plan (the remote's content unknown) the whole copy, cut to its length after the last byte.
        content.Position = 0;
        var open = new WriteFileOpen
        {
            Path = path,
            Mode = 0x1A4,
            Create = true,
            InPlace = true,
            Truncate = plan is null,
            Append = plan?.Append ?? false,
            Offset = plan is { Ranges.Count: > 0 } ? (ulong)plan.Ranges[0].Offset : 0,
        };
        if (plan?.FinalLength is { } length)
        {
            open.FinalLength = (ulong)length;
        }

        SetFinalAttributes(open, attributes);
        var response = await WriteAsync(open, content, cancellationToken, plan?.Ranges).ConfigureAwait(false);
        if (response.Error is { } error)
        {
            throw Failure(error, path, response.InPlace);
        }

        var name = FileStat.NameOf(path);
        return response is { Before: { } before, Stat: { } after } ? new RemoteWriteResult(Entry(before, name), Entry(after, name)) : null;
    }

    /// <inheritdoc/>
    public async ValueTask<LockRange?> LockAsync(string path, RemoteLock request, CancellationToken cancellationToken) =>
        (await LockAndStatAsync(path, request, cancellationToken).ConfigureAwait(false)).Conflict;

    /// <inheritdoc/>
    public async ValueTask<RemoteLockOutcome> LockAndStatAsync(string path, RemoteLock request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!_agent.Hello.Features.Contains(ProtocolFeatures.FilesLocks))
        {
            // An agent from before locks: the program's lock call fails as on a file system without them.
            throw new RemoteFileException(Errno.ENOLCK, $"{path}: the agent takes no locks (it is older than this doppel)");
        }

        var message = new LockRequest
        {
            Path = path,
            Owner = request.Owner,
            Kind = request.Kind switch { RemoteLockKind.Ofd => LockKind.Ofd, RemoteLockKind.Flock => LockKind.Flock, _ => LockKind.Posix },
            Type = (uint)request.Type,
            Start = request.Start,
            Length = request.Length,
            Wait = request.Wait,
            Test = request.Test,
        };

        // A waiting lock has no deadline: it ends when granted or when the program's call is interrupted.
        var response = await Call(
            c => _agent.Files.LockAsync(message, deadline: request.Wait ? null : Deadline(), cancellationToken: c).ResponseAsync,
            path,
            cancellationToken).ConfigureAwait(false);
        ThrowIf(response.Error, path);
        LockRange? conflict = response.Conflict is { } c ? new LockRange((short)c.Type, 0, c.Start, c.Length, c.Pid) : null;
        var granted = response.Stat is { } stat && _agent.Hello.Features.Contains(ProtocolFeatures.FilesLockStat) ? Entry(stat, FileStat.NameOf(path)) : null;
        return new RemoteLockOutcome(conflict, granted);
    }

    /// <inheritdoc/>
    public async ValueTask ReleaseLocksAsync(IReadOnlyCollection<string> owners, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(owners);
        if (!_agent.Hello.Features.Contains(ProtocolFeatures.FilesLocks))
        {
            return;
        }

        var request = new ReleaseLocksRequest();
        request.Owners.Add(owners);
        await Call(c => _agent.Files.ReleaseLocksAsync(request, deadline: Deadline(), cancellationToken: c).ResponseAsync, string.Join(", ", owners), cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask CreateFileAsync(string path, int mode, bool exclusive, CancellationToken cancellationToken)
    {
        var open = new WriteFileOpen { Path = path, Mode = (uint)(mode & 0xfff), Create = true, Exclusive = exclusive };
        var response = await WriteAsync(open, Stream.Null, cancellationToken).ConfigureAwait(false);
        ThrowIf(response.Error, path);
    }

    /// <inheritdoc/>
    public async ValueTask<RemoteCreate?> CreateOrGetEntryAsync(string path, int mode, bool exclusive, bool followSymlinks, CancellationToken cancellationToken)
    {
        if (!_agent.Hello.Features.Contains(ProtocolFeatures.FilesCreateStat))
        {
            return null; // an older agent: the caller stats the path and its parent, then creates
        }

        var open = new WriteFileOpen { Path = path, Mode = (uint)(mode & 0xfff), Create = true, Exclusive = exclusive, StatExisting = true, NoFollow = !followSymlinks };
        var response = await WriteAsync(open, Stream.Null, cancellationToken).ConfigureAwait(false);
        ThrowIf(response.Error, path);
        return response.Stat is { } stat
            ? new RemoteCreate(!response.Existed, Entry(stat, FileStat.NameOf(path)))
            : throw new RemoteFileException(Errno.EIO, $"{path}: the agent sent no stat with the create");
    }

    /// <inheritdoc/>
    public async ValueTask CheckWritableAsync(string path, CancellationToken cancellationToken)
    {
        // Neither create nor truncate: the agent's plain open(O_WRONLY), then its close.
        var response = await WriteAsync(new WriteFileOpen { Path = path }, Stream.Null, cancellationToken).ConfigureAwait(false);
        ThrowIf(response.Error, path);
    }

    /// <summary>One WriteFile call: the open, then <paramref name="content"/>'s bytes in chunks.</summary>
    // The open, then the content from its position to its end, or (ranges, files.write-ranges) each
    // range from the stream with a seek message before every one but a first at open.offset.
    private Task<WriteFileResponse> WriteAsync(WriteFileOpen open, Stream content, CancellationToken cancellationToken, IReadOnlyList<(long Offset, long Length)>? ranges = null) =>
        Call(
            async c =>
            {
                using var call = _agent.Files.WriteFile(deadline: Deadline(), cancellationToken: c);
                try
                {
                    await call.RequestStream.WriteAsync(new WriteFileRequest { Open = open }, c).ConfigureAwait(false);
                    var buffer = new byte[Relay.ChunkSize];
                    if (ranges is null)
                    {
                        await SendDataAsync(call.RequestStream, content, buffer, long.MaxValue, c).ConfigureAwait(false);
                    }

                    for (var i = 0; ranges is not null && i < ranges.Count; i++)
                    {
                        var (offset, length) = ranges[i];
                        if (i > 0 || (ulong)offset != open.Offset)
                        {
                            await call.RequestStream.WriteAsync(new WriteFileRequest { Seek = (ulong)offset }, c).ConfigureAwait(false);
                        }

                        content.Position = offset;
                        await SendDataAsync(call.RequestStream, content, buffer, length, c).ConfigureAwait(false);
                    }

                    await call.RequestStream.CompleteAsync().ConfigureAwait(false);
                }
                catch (RpcException) when (!c.IsCancellationRequested)
                {
                    // The agent answered before reading everything (the open failed: EACCES, EPERM,
                    // EROFS, ...) and ended the call, which the next request write sees as OK or
                    // Cancelled (the stream was reset); its answer carries the errno. Without an
                    // answer, ResponseAsync throws the call's real failure.
                }

                return await call.ResponseAsync.ConfigureAwait(false);
            },
            open.Path,
            cancellationToken);

    // files.write-attributes: the mode and mtime the written file is left with (unset ones stay as they are).
    private static void SetFinalAttributes(WriteFileOpen open, RemoteAttributes attributes)
    {
        if (attributes.Mode is { } mode)
        {
            open.FinalMode = (uint)(mode & 0xfff);
        }

        if (attributes.LastWriteTime is { } mtime)
        {
            open.FinalMtime = Timespec.FromDateTimeOffset(mtime);
        }
    }

    // Up to length bytes of content from its position as data messages (fewer at its end).
    private static async Task SendDataAsync(IClientStreamWriter<WriteFileRequest> stream, Stream content, byte[] buffer, long length, CancellationToken cancellationToken)
    {
        int n;
        while (length > 0 && (n = await content.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, length)), cancellationToken).ConfigureAwait(false)) > 0)
        {
            // WriteAsync has serialised the message when it completes: the buffer can be reused.
            await stream.WriteAsync(new WriteFileRequest { Data = Relay.Wrap(buffer, n) }, cancellationToken).ConfigureAwait(false);
            length -= n;
        }
    }

    public async ValueTask CreateDirectoryAsync(string path, int mode, CancellationToken cancellationToken)
    {
        var response = await Call(c => _agent.Files.MkdirAsync(new MkdirRequest { Path = path, Mode = (uint)mode }, deadline: Deadline(), cancellationToken: c).ResponseAsync, path, cancellationToken).ConfigureAwait(false);
        ThrowIf(response.Error, path);
    }

    public async ValueTask DeleteAsync(string path, bool directory, CancellationToken cancellationToken)
    {
        var error = directory
            ? (await Call(c => _agent.Files.RmdirAsync(new RmdirRequest { Path = path }, deadline: Deadline(), cancellationToken: c).ResponseAsync, path, cancellationToken).ConfigureAwait(false)).Error
            : (await Call(c => _agent.Files.UnlinkAsync(new UnlinkRequest { Path = path }, deadline: Deadline(), cancellationToken: c).ResponseAsync, path, cancellationToken).ConfigureAwait(false)).Error;
        ThrowIf(error, path);
    }

    public async ValueTask RenameAsync(string from, string to, bool noReplace, CancellationToken cancellationToken)
    {
        var response = await Call(
            c => _agent.Files.RenameAsync(new RenameRequest { From = from, To = to, NoReplace = noReplace }, deadline: Deadline(), cancellationToken: c).ResponseAsync,
            from,
            cancellationToken).ConfigureAwait(false);
        ThrowIf(response.Error, from);
    }

    public async ValueTask ExchangeAsync(string first, string second, CancellationToken cancellationToken)
    {
        var response = await Call(
            c => _agent.Files.RenameAsync(new RenameRequest { From = first, To = second, Exchange = true }, deadline: Deadline(), cancellationToken: c).ResponseAsync,
            first,
            cancellationToken).ConfigureAwait(false);
        ThrowIf(response.Error, first);
    }

    /// <inheritdoc/>
    public async ValueTask SymlinkAsync(string target, string path, CancellationToken cancellationToken)
    {
        RequireLinks(path);
        var response = await Call(
            c => _agent.Files.SymlinkAsync(new SymlinkRequest { Target = target, Path = path }, deadline: Deadline(), cancellationToken: c).ResponseAsync,
            path,
            cancellationToken).ConfigureAwait(false);
        ThrowIf(response.Error, path);
    }

    /// <inheritdoc/>
    public async ValueTask LinkAsync(string from, string to, bool followSymlinks, CancellationToken cancellationToken)
    {
        RequireLinks(to);
        var response = await Call(
            c => _agent.Files.LinkAsync(new LinkRequest { From = from, To = to, FollowSymlinks = followSymlinks }, deadline: Deadline(), cancellationToken: c).ResponseAsync,
            to,
            cancellationToken).ConfigureAwait(false);
        ThrowIf(response.Error, to);
    }

    /// <summary>An agent from before links: the program's ln fails as on a file system without them (EPERM).</summary>
    private void RequireLinks(string path)
    {
        if (!_agent.Hello.Features.Contains(ProtocolFeatures.FilesLinks))
        {
            throw new RemoteFileException(Errno.EPERM, $"{path}: the agent makes no links (it is older than this doppel)");
        }
    }

    public async ValueTask SetAttributesAsync(string path, RemoteAttributes attributes, bool followSymlinks, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(attributes);
        var request = new SetAttributesRequest { Path = path, FollowSymlinks = followSymlinks };
        if (attributes.Mode is { } mode)
        {
            request.Mode = (uint)mode;
        }

        if (attributes.Uid is { } uid && uid >= 0)
        {
            request.Uid = (uint)uid;
        }

        if (attributes.Gid is { } gid && gid >= 0)
        {
            request.Gid = (uint)gid;
        }

        if (attributes.LastAccessTime is { } atime)
        {
            request.Atime = Timespec.FromDateTimeOffset(atime);
        }

        if (attributes.LastWriteTime is { } mtime)
        {
            request.Mtime = Timespec.FromDateTimeOffset(mtime);
        }

        var response = await Call(c => _agent.Files.SetAttributesAsync(request, deadline: Deadline(), cancellationToken: c).ResponseAsync, path, cancellationToken).ConfigureAwait(false);
        ThrowIf(response.Error, path);
    }

    public ValueTask<TcpConnectOutcome> ConnectTcpAsync(IPEndPoint destination, CancellationToken cancellationToken) =>
        _tcp.ConnectAsync(destination, cancellationToken);

    public ValueTask<IPEndPoint?> GetUdpRelayAsync(IPEndPoint destination, CancellationToken cancellationToken) =>
        _udp.GetRelayAsync(destination, cancellationToken);

    public ValueTask<IPEndPoint?> ConnectUdpAsync(IPEndPoint destination, IConnectedUdpSocket socket, CancellationToken cancellationToken) =>
        _udp.ConnectAsync(destination, socket, cancellationToken);

    /// <summary>File calls made to the agent so far (each one gRPC call, one round trip): what tests count.</summary>
    internal long FileCalls => Interlocked.Read(ref _fileCalls);

    /// <summary>Background tasks of the relays still running (0 once disposed).</summary>
    internal int RunningTasks => _tcp.Running + _udp.Running;

    /// <summary>Ends the TCP relays and UDP stand-ins and waits for every task they own.</summary>
    public async ValueTask DisposeAsync()
    {
        await _tcp.DisposeAsync().ConfigureAwait(false);
        await _udp.DisposeAsync().ConfigureAwait(false);
    }

    private static DateTime Deadline() => DateTime.UtcNow + FileCallTimeout;

    /// <summary>Runs a call; a transport failure (agent gone, deadline) becomes EIO for the app.</summary>
    private async Task<T> Call<T>(Func<CancellationToken, Task<T>> call, string path, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _fileCalls);
        try
        {
            return await call(cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
        {
            RemoteLog.FileCallFailed(_logger, path, e.StatusCode, e.Status.Detail);
            throw new RemoteFileException(Errno.EIO, $"{path}: the agent did not answer ({e.StatusCode})") { Unanswered = true };
        }
    }

    private static void ThrowIf(PosixError? error, string path)
    {
        if (error is not null)
        {
            throw Failure(error, path);
        }
    }

    private static RemoteFileException Failure(PosixError error, string path, bool? writtenInPlace = null) =>
        new(error.Errno == 0 ? Errno.EIO : error.Errno, $"{path}: {error.Message}") { WrittenInPlace = writtenInPlace };

    private static RemoteEntry Entry(FileStat stat, string name)
    {
        var kind = stat.IsRegularFile ? RemoteEntryKind.File
            : stat.IsDirectory ? RemoteEntryKind.Directory
            : stat.IsSymlink ? RemoteEntryKind.Symlink
            : RemoteEntryKind.Other;
        return new RemoteEntry(
            name,
            kind,
            (int)stat.Permissions,
            (int)stat.Uid,
            (int)stat.Gid,
            (long)stat.Size,
            stat.Mtime?.ToDateTimeOffset() ?? DateTimeOffset.UnixEpoch,
            stat.Atime?.ToDateTimeOffset() ?? DateTimeOffset.UnixEpoch,
            kind == RemoteEntryKind.Symlink && stat.LinkTarget.Length > 0 ? stat.LinkTarget : null,
            (long)stat.Blocks);
    }
}
