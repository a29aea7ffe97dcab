using System.Net;

namespace Doppel.Interception.Network;

/// <summary>
/// A target socket connected to a loopback stand-in (TCP listener or UDP relay) for
/// <see cref="Destination"/>. <see cref="Peer"/> is what the kernel says it is connected to: the
/// stand-in, or the holding address for a TCP connect that waited there (its connection is
/// relayed to the stand-in); it tells this socket from a new one that got a recycled inode.
/// <see cref="PodLocal"/> is the pod-side address of a relayed TCP connection (from its
/// <see cref="Remote.TcpStandIn"/>), the app's getsockname; null when not known (and for UDP).
/// </summary>
internal sealed record RedirectedSocket(IPEndPoint Destination, IPEndPoint Peer, IPEndPoint? PodLocal);
