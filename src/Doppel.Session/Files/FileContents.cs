using System.Collections.Concurrent;
using Doppel.Interception.Remote;
using Doppel.Linux.Native;

namespace Doppel.Session.Files;

/// <summary>
/// Regular files' content in the cache tree. Each copy is keyed on the stat that came with its
/// bytes (ReadFile's fstat of the file it read), never on an earlier stat, so a copy is never
/// taken for a version it is not.
/// <code>
///   no copy yet ──ReadFile──► bytes + stat ──► ROOT/path (mode, mtime from that stat)    1 round trip
///   a copy     ──Stat──► same size and mtime? ──yes──► reuse                              1 round trip
///                                              └─no──► ReadFile as above                  2 round trips
/// </code>
/// A download is shared by concurrent fetches of one path; it runs under the session's lifetime
/// (<c>lifetime</c>), not under the token of the fetch that started it, and each fetch waits with its
/// own token: a fetch cancelled (its program thread killed) fails alone.
/// </summary>
internal sealed class FileContents(IRemote remote, CacheTree tree, CancellationToken lifetime)
{
    // The stat each local copy came with.
    private readonly ConcurrentDictionary<string, RemoteEntry> _copies = new(StringComparer.Ordinal);

    // Downloads under way: concurrent opens of one path share one.
    private readonly ConcurrentDictionary<string, Lazy<Task>> _downloads = new(StringComparer.Ordinal);

    /// <summary>The local path of a regular file's current content (see <see cref="Interception.Files.IFileSync.FetchAsync"/>).</summary>
    public async ValueTask<string> FetchAsync(string remotePath, CancellationToken cancellationToken)
    {
        var local = tree.LocalPath(remotePath);
        if (_copies.TryGetValue(remotePath, out var copy))
        {
            var now = await remote.GetEntryAsync(remotePath, followSymlinks: true, cancellationToken).ConfigureAwait(false)
                ?? throw new RemoteFileException(Errno.ENOENT, $"{remotePath}: no such file");
            if (now.Kind == RemoteEntryKind.Directory)
            {
                throw new RemoteFileException(Errno.EISDIR, $"{remotePath}: is a directory");
            }

            if (now.Size == copy.Size && now.LastWriteTime == copy.LastWriteTime && File.Exists(local))
            {
                return local;
            }
        }

        Lazy<Task>? mine = null;
        mine = new Lazy<Task>(() => DownloadSharedAsync(remotePath, mine!));
        await _downloads.GetOrAdd(remotePath, mine).Value.WaitAsync(cancellationToken).ConfigureAwait(false);
        return local;
    }

    /// <summary>The stat the path's current copy came with; null when it has none.</summary>
    public RemoteEntry? EntryOf(string remotePath) => _copies.TryGetValue(remotePath, out var copy) ? copy : null;

    /// <summary>Records that the path's local copy now holds the content <paramref name="entry"/> came with (refreshed in place at a lock).</summary>
    public void Adopt(string remotePath, RemoteEntry entry) => _copies[remotePath] = entry;

    /// <summary>Forgets a path's copy: its next fetch downloads again.</summary>
    public void Forget(string remotePath) => _copies.TryRemove(remotePath, out _);

    /// <summary>The download <paramref name="self"/> stands for; it leaves <see cref="_downloads"/> when it ends, whoever waits for it.</summary>
    private async Task DownloadSharedAsync(string remotePath, Lazy<Task> self)
    {
        try
        {
            await DownloadAsync(remotePath, lifetime).ConfigureAwait(false);
        }
        finally
        {
            _downloads.TryRemove(KeyValuePair.Create(remotePath, self));
        }
    }

    private async Task DownloadAsync(string remotePath, CancellationToken cancellationToken)
    {
        var local = tree.LocalPath(remotePath);
        Directory.CreateDirectory(Path.GetDirectoryName(local)!);

        // Download beside, then rename: an app never sees a half-written file.
        var partial = $"{local}.doppel-{Guid.NewGuid():N}";
        RemoteEntry stat;
        try
        {
            var file = new FileStream(partial, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024, useAsync: true);
            await using (file.ConfigureAwait(false))
            {
                stat = await remote.ReadFileAsync(remotePath, file, cancellationToken).ConfigureAwait(false);
            }

            File.SetUnixFileMode(partial, (UnixFileMode)(stat.Mode & 0xfff));
            File.SetLastWriteTimeUtc(partial, stat.LastWriteTime.UtcDateTime);
            if (Directory.Exists(local))
            {
                Directory.Delete(local, recursive: true); // a placeholder of another kind, listed before
            }

            File.Move(partial, local, overwrite: true);
        }
        catch
        {
            File.Delete(partial);
            throw;
        }

        _copies[remotePath] = stat;
    }
}
