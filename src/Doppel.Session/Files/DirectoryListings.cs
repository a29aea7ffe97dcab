using System.Collections.Concurrent;
using Doppel.Interception.Remote;

namespace Doppel.Session.Files;

/// <summary>
/// Remote directories listed into the cache tree: one placeholder per entry, entries gone remotely
/// removed (unless written here and not sent back). A listing is reused for
/// <see cref="Lifetime"/>; an open after that lists the directory again, so remote changes show up.
/// </summary>
internal sealed class DirectoryListings(IRemote remote, CacheTree tree, Func<string, bool> isWritten, Action<string> forget, TimeProvider time)
{
    /// <summary>How long a listing is reused.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(2);

    private readonly ConcurrentDictionary<string, (Lazy<Task> Listing, long Timestamp)> _listed = new(StringComparer.Ordinal);

    public async ValueTask<string> MaterializeAsync(string remotePath, CancellationToken cancellationToken)
    {
        var listing = _listed.AddOrUpdate(
            remotePath,
            p => (new Lazy<Task>(() => ListAsync(p, cancellationToken)), time.GetTimestamp()),
            (p, current) => time.GetElapsedTime(current.Timestamp) < Lifetime
                ? current
                : (new Lazy<Task>(() => ListAsync(p, cancellationToken)), time.GetTimestamp()));
        try
        {
            await listing.Listing.Value.ConfigureAwait(false);
        }
        catch
        {
            _listed.TryRemove(remotePath, out _);
            throw;
        }

        return tree.LocalPath(remotePath);
    }

    /// <summary>Drops the listing of a path, if any (it is listed again on its next open).</summary>
    public void Forget(string remotePath) => _listed.TryRemove(remotePath, out _);

    private async Task ListAsync(string remotePath, CancellationToken cancellationToken)
    {
        var entries = await remote.ListDirectoryAsync(remotePath, cancellationToken).ConfigureAwait(false);
        var local = tree.LocalPath(remotePath);
        CacheTree.EnsurePlaceholder(local, RemoteEntryKind.Directory);
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            if (entry.Name is "" or "." or ".." || entry.Name.Contains('/', StringComparison.Ordinal))
            {
                continue;
            }

            names.Add(entry.Name);
            CacheTree.EnsurePlaceholder(Path.Combine(local, entry.Name), entry.Kind);
        }

        // Gone remotely: gone here too, unless written here and not sent back yet (".doppel-" names are downloads under way).
        foreach (var existing in new DirectoryInfo(local).EnumerateFileSystemInfos())
        {
            var child = remotePath == "/" ? "/" + existing.Name : remotePath + "/" + existing.Name;
            if (!names.Contains(existing.Name) && !isWritten(child) && !existing.Name.Contains(".doppel-", StringComparison.Ordinal))
            {
                forget(child);
            }
        }
    }
}
