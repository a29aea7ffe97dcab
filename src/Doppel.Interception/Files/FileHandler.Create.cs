using Doppel.Interception.Remote;
using Doppel.Linux.Files;
using Doppel.Interception.Supervision;
using Doppel.Linux.Native;

namespace Doppel.Interception.Files;

/// <summary>
/// Write mode: a file the program creates (open with O_CREAT of a path the pod does not have) is
/// created in the pod at the call, empty, with the mode the program asked for less its umask, so
/// another pod process sees the name at once; O_EXCL is the pod's (EEXIST when a pod process
/// made it first). Its content follows at fsync/close (<see cref="WriteThroughHandler"/>).
/// </summary>
internal sealed partial class FileHandler
{
    private const int DefaultUmask = 0x12; // 022
    private const int RenameExchange = 2;

    /// <summary>0, or the errno the pod answered the create with.</summary>
    private async ValueTask<int> CreateInPodAsync(string path, int flags, int mode, CancellationToken cancellationToken)
    {
        try
        {
            await remote.CreateFileAsync(path, mode, exclusive: (flags & OpenFlags.Exclusive) != 0, cancellationToken).ConfigureAwait(false);
            return 0;
        }
        catch (RemoteFileException e)
        {
            return e.Errno;
        }
    }

    /// <summary>The calling process's umask (the Umask line of /proc/TID/status, Linux 4.7); 022 when unreadable.</summary>
    private static int Umask(int threadId)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{threadId}/status"))
            {
                if (line.StartsWith("Umask:", StringComparison.Ordinal))
                {
                    return Convert.ToInt32(line["Umask:".Length..].Trim(), 8);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            // The caller has gone, or an older kernel: the usual default.
        }

        return DefaultUmask;
    }

    /// <summary>
    /// What stat and access by path see: for a file written here, the pod's entry with the local
    /// copy's mode, size, blocks and times (the program's own latest writes, as fstat on its fd sees
    /// them: <see cref="Overlay"/>), without sending anything; for any other path, the pod's entry once a written copy
    /// closed since it was sent has gone back (<see cref="IFileSync.SettleAsync"/>). Null: no such path.
    /// </summary>
    private async ValueTask<RemoteEntry?> EntryAsync(string path, bool follow, CancellationToken cancellationToken)
    {
        if (!files.IsWritten(path))
        {
            await files.SettleAsync(path, cancellationToken).ConfigureAwait(false);
            return await remote.GetEntryAsync(path, follow, cancellationToken).ConfigureAwait(false);
        }

        var entry = await remote.GetEntryAsync(path, follow, cancellationToken).ConfigureAwait(false);
        if (RootedFiles.Stat(files.LocalPath(path), followSymlinks: true, out var local) != 0 || !local.IsRegularFile)
        {
            return entry;
        }

        return Overlay(entry, path, local);
    }

    /// <summary>renameat2(RENAME_EXCHANGE) of two pod paths: swapped in the pod, written copies and their pending content swapped with them.</summary>
    private ValueTask<HandlerResult> ExchangeAsync(Notification n, string first, string second, CancellationToken cancellationToken)
        => Remotely(n, async () =>
        {
            await files.ExchangeAsync(first, second, c => remote.ExchangeAsync(first, second, c).AsTask(), cancellationToken).ConfigureAwait(false);
        });
}
