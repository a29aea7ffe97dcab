using System.Collections.Concurrent;
using System.Net;

namespace Doppel.Interception.Network;

/// <summary>
/// Redirected sockets by socket inode: the target may dup the fd, pass it to a child or move it
/// around, but the inode names the socket itself. Entries are checked against the socket's real
/// peer before use, so an inode reused by a new socket is detected and dropped.
/// </summary>
internal sealed class RedirectTable
{
    private readonly ConcurrentDictionary<ulong, RedirectedSocket> _byInode = new();
    private readonly ConcurrentDictionary<ulong, byte> _udpInodes = new();
    private readonly ConcurrentDictionary<IPEndPoint, IPEndPoint> _relayToDestination = new();

    public int Count => _byInode.Count;

    public void Set(ulong inode, RedirectedSocket socket) => _byInode[inode] = socket;

    public RedirectedSocket? Get(ulong inode) => _byInode.TryGetValue(inode, out var s) ? s : null;

    public void Remove(ulong inode) => _byInode.TryRemove(inode, out _);

    /// <summary>Records that a UDP socket has sent through a relay: its receives need source rewriting.</summary>
    public void MarkUdp(ulong inode, IPEndPoint relay, IPEndPoint destination)
    {
        _udpInodes[inode] = 0;
        _relayToDestination[relay] = destination;
    }

    public bool IsUdpRedirected(ulong inode) => _udpInodes.ContainsKey(inode);

    /// <summary>The destination a relay stands for, or the source itself when it is no relay.</summary>
    public IPEndPoint RewriteSource(IPEndPoint source) => _relayToDestination.TryGetValue(source, out var destination) ? destination : source;
}
