using Doppel.Interception.Policy;
using Doppel.Interception.Remote;
using Doppel.Interception.Supervision;
using Doppel.Linux.Native;

namespace Doppel.Interception.Files;

/// <summary>Write mode: directory and name changes go to the remote at once, and the cache tree follows.</summary>
internal sealed partial class FileHandler
{
    private const int RenameNoReplace = 1;

    private ValueTask<HandlerResult> MkdirAsync(Notification n, int dirfd, ulong pathAddress, int mode, CancellationToken cancellationToken)
    {
        var (path, early) = Decide(n, dirfd, pathAddress, FileIntent.Write);
        return path is null ? new(early!.Value) : Remotely(n, async () =>
        {
            await remote.CreateDirectoryAsync(path, mode & 0xfff, cancellationToken).ConfigureAwait(false);
            files.EnsureNode(path, RemoteEntryKind.Directory);
        });
    }

    private ValueTask<HandlerResult> DeleteAsync(Notification n, int dirfd, ulong pathAddress, bool directory, CancellationToken cancellationToken)
    {
        var (path, early) = Decide(n, dirfd, pathAddress, FileIntent.Write);
        return path is null ? new(early!.Value) : Remotely(n, async () =>
        {
            // A write-back of the file must not land after the delete and bring it back.
            await files.DeleteAsync(path, directory, c => remote.DeleteAsync(path, directory, c).AsTask(), cancellationToken).ConfigureAwait(false);
        });
    }

    private ValueTask<HandlerResult> RenameAsync(Notification n, int fromDirfd, ulong fromAddress, int toDirfd, ulong toAddress, int flags, CancellationToken cancellationToken)
    {
        var (from, fromEarly) = Decide(n, fromDirfd, fromAddress, FileIntent.Write);
        var (to, toEarly) = Decide(n, toDirfd, toAddress, FileIntent.Write);
        if (from is null && to is null)
        {
            // Both local (or both refused): the kernel decides; a refusal of either wins.
            return new(fromEarly!.Value.Response is { Flags: not 0 } ? toEarly!.Value : fromEarly.Value);
        }

        var refused = new[] { fromEarly, toEarly }.FirstOrDefault(e => e?.Response is { Flags: 0 });
        if (refused is not null)
        {
            return new(refused.Value);
        }

        if (from is null || to is null)
        {
            return new(n.Fail(Errno.EXDEV)); // across the local/remote boundary: mv falls back to copy + delete
        }

        if (flags == RenameExchange)
        {
            return ExchangeAsync(n, from, to, cancellationToken);
        }

        if ((flags & ~RenameNoReplace) != 0)
        {
            return new(n.Fail(Errno.EINVAL)); // RENAME_WHITEOUT is not carried; EXCHANGE with NOREPLACE is EINVAL
        }

        return Remotely(n, async () =>
        {
            // Written content first; a file open for writing keeps going back, under the new name.
            await files.RenameAsync(from, to, c => remote.RenameAsync(from, to, (flags & RenameNoReplace) != 0, c).AsTask(), cancellationToken).ConfigureAwait(false);
        });
    }

    private ValueTask<HandlerResult> TruncateAsync(Notification n, ulong pathAddress, long length, CancellationToken cancellationToken)
    {
        var (path, early) = Decide(n, OpenFlags.AtFdCwd, pathAddress, FileIntent.Write);
        return path is null ? new(early!.Value) : TruncateRemoteAsync(n, path, length, cancellationToken);
    }

    private async ValueTask<HandlerResult> TruncateRemoteAsync(Notification n, string path, long length, CancellationToken cancellationToken)
    {
        string local;
        try
        {
            local = await files.FetchAsync(path, cancellationToken).ConfigureAwait(false); // ENOENT, EISDIR as truncate(2) says
        }
        catch (RemoteFileException e)
        {
            return n.Fail(e.Errno);
        }

        // Marked before the open: its close is one of the closes the write-back counts.
        files.MarkWritten(path);
        using (var file = new FileStream(local, FileMode.Open, FileAccess.Write))
        {
            file.SetLength(length);
        }

        // In the pod at the call, as the other name changes are.
        try
        {
            await files.PushAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (RemoteFileException e)
        {
            return n.Fail(e.Errno);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return n.Fail(Errno.EIO);
        }

        return n.Return(0);
    }
}
