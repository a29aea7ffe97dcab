using System.Net;

namespace Doppel.Interception.Network;

/// <summary>
/// A target socket connected to a loopback stand-in (TCP listener or UDP relay) for
/// <see cref="Destination"/>. <see cref="Peer"/> is what the kernel says it is connected to: the
/// stand-in, or the holding address for a TCP connect that waited there (its connection is
/// relayed to the stand-in); it tells this socket from a new one that got a recycled inode.
/// </summary>
internal sealed record RedirectedSocket(IPEndPoint Destination, IPEndPoint StandIn, IPEndPoint? Source, IPEndPoint Peer);
