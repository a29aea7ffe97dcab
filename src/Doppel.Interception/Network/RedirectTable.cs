using System.Collections.Concurrent;

namespace Doppel.Interception.Network;

/// <summary>
/// Redirected sockets by socket inode: the target may dup the fd, pass it to a child or move it
/// around, but the inode names the socket itself. Entries are checked against the socket's real
/// peer before use, so an inode reused by a new socket is detected and dropped.
/// </summary>
internal sealed class RedirectTable
{
    private readonly ConcurrentDictionary<ulong, RedirectedSocket> _byInode = new();

    public int Count => _byInode.Count;

    public void Set(ulong inode, RedirectedSocket socket) => _byInode[inode] = socket;

    public RedirectedSocket? Get(ulong inode) => _byInode.TryGetValue(inode, out var s) ? s : null;

    public void Remove(ulong inode) => _byInode.TryRemove(inode, out _);
}
