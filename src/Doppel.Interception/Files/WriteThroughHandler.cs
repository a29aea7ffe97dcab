using Doppel.Interception.Supervision;
using Doppel.Linux.Native;

namespace Doppel.Interception.Files;

/// <summary>
/// Write mode's write-through: close, fsync and fdatasync of an fd on a written pod file send the
/// file's content to the pod before the call goes on, so another pod process sees it once the
/// program's call returns (close-to-open consistency, as on NFS). A failed send is the call's EIO
/// (and one sentence to the user, from the file sync); the fd then stays open: doppel cannot
/// close an fd of another process, and Linux's close would have closed it. Any other fd costs
/// one look at /proc/TID/fd/FD, and nothing at all while no pod file is open for writing. Only an
/// fd opened for writing sends: a reader's close of the same file neither sends nor fails.
/// <code>
///   close(fd) / fsync(fd) ─► /proc/TID/fd/FD ─► in the cache tree, written, fd opened for writing? ─► PushAsync ─► continue
///                                                                      failed ─► EIO
/// </code>
/// </summary>
internal sealed class WriteThroughHandler(IFileSync files) : ISyscallHandler
{
    public IEnumerable<int> SyscallNumbers => [SyscallNumber.Close, SyscallNumber.Fsync, SyscallNumber.Fdatasync];

    public ValueTask<HandlerResult> HandleAsync(Notification n, CancellationToken cancellationToken) =>
        files.HasWrittenFiles ? HandleAsync(n, FdLinks.PodPath(files, n.ThreadId, n.ArgInt(0)), cancellationToken) : new(n.Continue());

    /// <summary>The same call, its fd's pod path read already (null: not a pod file's), as the lock handler's close has it.</summary>
    internal ValueTask<HandlerResult> HandleAsync(Notification n, string? path, CancellationToken cancellationToken) =>
        path is null || !files.HasWrittenFiles || !files.IsWritten(path) || !OpenForWriting(n.ThreadId, n.ArgInt(0)) ? new(n.Continue()) : PushAsync(n, path, cancellationToken);

    /// <summary>
    /// Whether the fd was opened for writing (the flags line of /proc/TID/fdinfo/FD, octal): a
    /// reader's close or fsync sends nothing and cannot fail for a writer's failed send.
    /// </summary>
    private static bool OpenForWriting(int threadId, int fd)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{threadId}/fdinfo/{fd}"))
            {
                if (line.StartsWith("flags:", StringComparison.Ordinal))
                {
                    return (Convert.ToInt32(line["flags:".Length..].Trim(), 8) & OpenFlags.AccessModeMask) != OpenFlags.ReadOnly;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            // The fd or the caller has gone: the kernel answers the call.
        }

        return false;
    }

    private async ValueTask<HandlerResult> PushAsync(Notification n, string path, CancellationToken cancellationToken)
    {
        try
        {
            await files.PushAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return n.Fail(Errno.EIO); // told to the user by the file sync, naming the file
        }

        return n.Continue();
    }
}
