using System.Net;

namespace Doppel.Interception.Remote;

/// <summary>
/// What the remote side (the pod, through the agent) provides to the interception engine.
/// Paths are absolute remote paths; methods may be slow (network round trips) and are called
/// concurrently from many trapped syscalls. Failures the app should see as an errno are thrown
/// as <see cref="RemoteFileException"/>; anything else becomes EIO.
/// </summary>
public interface IRemote
{
    /// <summary>The pod's hostname, answered to uname(); null keeps the local one.</summary>
    string? Hostname { get; }

    /// <summary>stat (<paramref name="followSymlinks"/>) or lstat of a remote path; null when it does not exist.</summary>
    ValueTask<RemoteEntry?> GetEntryAsync(string path, bool followSymlinks, CancellationToken cancellationToken);

    /// <summary>The entries of a remote directory (without "." and ".."), lstat-style.</summary>
    ValueTask<IReadOnlyList<RemoteEntry>> ListDirectoryAsync(string path, CancellationToken cancellationToken);

    /// <summary>
    /// Copies a remote file's contents (symlinks followed) into <paramref name="destination"/> and
    /// returns the stat of the file it read them from (fstat of the same open file, so the
    /// metadata belongs to these bytes): one round trip for both. Throws
    /// <see cref="RemoteFileException"/> (ENOENT, EACCES, EISDIR for a directory, ...).
    /// </summary>
    ValueTask<RemoteEntry> ReadFileAsync(string path, Stream destination, CancellationToken cancellationToken);

    /// <summary>Replaces a remote file's contents (write mode), creating it if needed.</summary>
    ValueTask WriteFileAsync(string path, Stream content, CancellationToken cancellationToken);

    /// <summary>
    /// open(O_CREAT) on the remote side (write mode): makes an empty regular file with
    /// <paramref name="mode"/> (permission bits) when there is none; <paramref name="exclusive"/>
    /// (O_EXCL) fails with EEXIST when the path exists. An existing file is left as it is. The
    /// default writes no bytes through <see cref="WriteFileAsync"/> (which truncates and is never exclusive).
    /// </summary>
    ValueTask CreateFileAsync(string path, int mode, bool exclusive, CancellationToken cancellationToken)
        => WriteFileAsync(path, Stream.Null, cancellationToken);

    /// <summary>
    /// open(O_CREAT) in one round trip (write mode): when <paramref name="path"/> exists it is left as
    /// it is and its stat (lstat unless <paramref name="followSymlinks"/>) comes back with
    /// <see cref="RemoteCreate.Created"/> false; otherwise an empty regular file with
    /// <paramref name="mode"/> (permission bits) is made and its stat comes back. Throws
    /// <see cref="RemoteFileException"/> with open(2)'s errno: ENOENT or ENOTDIR for the parent,
    /// EACCES, EROFS, EEXIST when <paramref name="exclusive"/> and the path exists. Null: the remote
    /// side cannot (an older agent), and the caller stats the path and its parent itself before
    /// <see cref="CreateFileAsync"/>. The default returns null.
    /// </summary>
    ValueTask<RemoteCreate?> CreateOrGetEntryAsync(string path, int mode, bool exclusive, bool followSymlinks, CancellationToken cancellationToken)
        => ValueTask.FromResult<RemoteCreate?>(null);

    /// <summary>
    /// A write-back: <see cref="WriteFileAsync(string, Stream, bool, CancellationToken)"/> that also
    /// leaves the file with <paramref name="attributes"/> (the local copy's mode and modification
    /// time), in one round trip where the remote side can. The default writes, then calls
    /// <see cref="SetAttributesAsync"/> (symlinks followed).
    /// </summary>
    async ValueTask WriteFileAsync(string path, Stream content, bool inPlace, RemoteAttributes attributes, CancellationToken cancellationToken)
    {
        await WriteFileAsync(path, content, inPlace, cancellationToken).ConfigureAwait(false);
        await SetAttributesAsync(path, attributes, followSymlinks: true, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A write-back into the remote file itself (never a new file renamed over it, so remote
    /// processes' open fds and locks stay on it): with a <paramref name="plan"/>, only its ranges of
    /// <paramref name="content"/> (a seekable stream of the whole local copy) go, at their offsets or
    /// appended, and the file is cut to <see cref="RemoteWritePlan.FinalLength"/>; without one, the
    /// whole content from its start, the file cut to its length after the last byte. Leaves the file
    /// with <paramref name="attributes"/> as <see cref="WriteFileAsync(string, Stream, bool, RemoteAttributes, CancellationToken)"/>
    /// does, and returns the file's stat before and after the write (null where the remote side
    /// does not tell). Throws <see cref="RemoteFileException"/>; after a failure the file may hold
    /// part of the bytes. The default, for a remote side that writes no ranges, writes the whole
    /// content in place and returns null.
    /// </summary>
    async ValueTask<RemoteWriteResult?> WriteChangesAsync(string path, Stream content, RemoteWritePlan? plan, RemoteAttributes attributes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        content.Position = 0;
        await WriteFileAsync(path, content, inPlace: true, attributes, cancellationToken).ConfigureAwait(false);
        return null;
    }

    /// <summary>
    /// <see cref="LockAsync"/> whose answer also carries, for a granted lock, the remote file's stat
    /// taken right after it where the remote side sends one (the refresh at a lock point then needs
    /// no stat of its own). The default calls <see cref="LockAsync"/> and sends no stat.
    /// </summary>
    async ValueTask<RemoteLockOutcome> LockAndStatAsync(string path, RemoteLock request, CancellationToken cancellationToken)
        => new(await LockAsync(path, request, cancellationToken).ConfigureAwait(false), null);

    /// <summary>
    /// open(O_WRONLY) of an existing remote file, closed again with nothing written (write mode):
    /// whether the remote side lets the program write it, so a file on a read-only file system or
    /// mount, or one the pod's user may not write, fails at the program's open with the remote's
    /// errno (EROFS, EACCES, ETXTBSY) rather than at its close. The default lets every file be written.
    /// </summary>
    ValueTask CheckWritableAsync(string path, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <summary>
    /// <see cref="WriteFileAsync(string, Stream, CancellationToken)"/> that writes into the remote
    /// file itself when <paramref name="inPlace"/> (never a new file renamed over it), so a file
    /// locked in the pod keeps its inode: the pod processes' open fds and the locks stay on it. The
    /// default ignores <paramref name="inPlace"/>.
    /// </summary>
    ValueTask WriteFileAsync(string path, Stream content, bool inPlace, CancellationToken cancellationToken)
        => WriteFileAsync(path, content, cancellationToken);

    /// <summary>
    /// Takes, releases or tests a lock on the remote file itself, so remote processes and the program
    /// see each other's locks. Returns the conflicting lock for a test (null: the range is free; its
    /// pid is -1 for an open-file-description lock's holder), null otherwise. Throws
    /// <see cref="RemoteFileException"/> with EAGAIN for a conflict (no wait), the remote's errno
    /// otherwise; a waiting call ends when <paramref name="cancellationToken"/> is cancelled. The
    /// default refuses with ENOLCK (a remote side without locks).
    /// </summary>
    ValueTask<Doppel.Linux.Files.LockRange?> LockAsync(string path, RemoteLock request, CancellationToken cancellationToken)
        => throw new RemoteFileException(Doppel.Linux.Native.Errno.ENOLCK, $"{path}: locks are not supported");

    /// <summary>Drops every lock the given owners hold on the remote side (their process closed the file or exited).</summary>
    ValueTask ReleaseLocksAsync(IReadOnlyCollection<string> owners, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <summary>mkdir on the remote side (write mode).</summary>
    ValueTask CreateDirectoryAsync(string path, int mode, CancellationToken cancellationToken);

    /// <summary>unlink, or rmdir when <paramref name="directory"/> (write mode).</summary>
    ValueTask DeleteAsync(string path, bool directory, CancellationToken cancellationToken);

    /// <summary>rename within the remote file system (write mode); replaces <paramref name="to"/> unless <paramref name="noReplace"/>.</summary>
    ValueTask RenameAsync(string from, string to, bool noReplace, CancellationToken cancellationToken);

    /// <summary>
    /// renameat2(RENAME_EXCHANGE) within the remote file system (write mode): swaps two existing
    /// paths atomically. The default refuses with EINVAL (a remote side that cannot).
    /// </summary>
    ValueTask ExchangeAsync(string first, string second, CancellationToken cancellationToken)
        => throw new RemoteFileException(Doppel.Linux.Native.Errno.EINVAL, $"{first}: exchanging is not supported");

    /// <summary>
    /// symlink(2) on the remote side (write mode): makes <paramref name="path"/> a symlink holding
    /// <paramref name="target"/> as it is. Throws <see cref="RemoteFileException"/> with the
    /// remote's errno (EEXIST, ENOENT, ENOTDIR, EACCES, ...). The default refuses with EPERM
    /// (symlink(2): the file system does not support symlinks), as a remote side without links does.
    /// </summary>
    ValueTask SymlinkAsync(string target, string path, CancellationToken cancellationToken)
        => throw new RemoteFileException(Doppel.Linux.Native.Errno.EPERM, $"{path}: making symlinks is not supported");

    /// <summary>
    /// linkat(2) within the remote file system (write mode): <paramref name="to"/> becomes another
    /// name of <paramref name="from"/>, or of the file a final symlink in it leads to when
    /// <paramref name="followSymlinks"/> (AT_SYMLINK_FOLLOW). Throws <see cref="RemoteFileException"/>
    /// with the remote's errno (EEXIST, ENOENT, EPERM for a directory, EXDEV across mounts, ...).
    /// The default refuses with EPERM (link(2): the file system does not support hard links).
    /// </summary>
    ValueTask LinkAsync(string from, string to, bool followSymlinks, CancellationToken cancellationToken)
        => throw new RemoteFileException(Doppel.Linux.Native.Errno.EPERM, $"{to}: making hard links is not supported");

    /// <summary>
    /// chmod/chown/utimensat on the remote side (write mode), of the symlink itself unless
    /// <paramref name="followSymlinks"/>; also called after a write-back with the written file's
    /// mode and modification time.
    /// </summary>
    ValueTask SetAttributesAsync(string path, RemoteAttributes attributes, bool followSymlinks, CancellationToken cancellationToken);

    /// <summary>
    /// Connects to <paramref name="destination"/> on the remote side; completes when that connect
    /// has ended (this may take as long as the pod kernel's own connect timeout). On success the
    /// outcome carries the connection's <see cref="TcpStandIn"/>: a loopback endpoint that stands
    /// for the destination and the pod-side address. The app's socket is connected there and
    /// admitted (<see cref="TcpStandIn.Admit"/>); the stand-in relays that one connection to the
    /// real destination and closes any other. On failure the outcome carries the pod's errno,
    /// which the app sees. Cancelling abandons the remote attempt (the app closed its socket
    /// before the connect ended).
    /// </summary>
    ValueTask<TcpConnectOutcome> ConnectTcpAsync(IPEndPoint destination, CancellationToken cancellationToken);

    /// <summary>
    /// A loopback UDP endpoint that relays datagrams to <paramref name="destination"/> and sends
    /// the replies back to the app <em>from that same endpoint</em> (one endpoint per
    /// destination): the supervisor rewrites their source to the destination, which resolvers
    /// check. Null: the destination is unreachable (the app sees ECONNREFUSED / ENETUNREACH).
    /// </summary>
    ValueTask<IPEndPoint?> GetUdpRelayAsync(IPEndPoint destination, CancellationToken cancellationToken);

    /// <summary>
    /// The loopback endpoint that an app's UDP socket is connected to for <paramref name="destination"/>.
    /// Unlike <see cref="GetUdpRelayAsync"/>, a remote side may give each connected socket its own
    /// endpoint and keep <paramref name="socket"/> (it then owns and disposes it) to hand the app
    /// the pod's ICMP errors. The default shares the destination's relay and disposes
    /// <paramref name="socket"/>. Null: as for <see cref="GetUdpRelayAsync"/>.
    /// </summary>
    async ValueTask<IPEndPoint?> ConnectUdpAsync(IPEndPoint destination, IConnectedUdpSocket socket, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(socket);
        socket.Dispose();
        return await GetUdpRelayAsync(destination, cancellationToken).ConfigureAwait(false);
    }
}
