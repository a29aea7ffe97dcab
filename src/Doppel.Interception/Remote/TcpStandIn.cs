using System.Net;

namespace Doppel.Interception.Remote;

/// <summary>
/// One relayed TCP connection, as the remote side hands it over: the loopback
/// <see cref="EndPoint"/> that stands for the destination (a one-shot listener), the pod-side
/// address of the remote connection behind it, and the one peer the stand-in accepts.
/// The interception engine connects the app's socket to <see cref="EndPoint"/> and then names
/// that socket's local address with <see cref="Admit"/>; the stand-in closes any other
/// connection it accepts (another local process that found the port), so nobody but the app
/// can take over the pod connection.
/// </summary>
/// <param name="endPoint">The loopback listener's address.</param>
/// <param name="podLocalAddress">The remote connection's own address in the pod (pod IP and port), for the app's getsockname; null when not known.</param>
public sealed class TcpStandIn(IPEndPoint endPoint, IPEndPoint? podLocalAddress)
{
    private readonly TaskCompletionSource<IPEndPoint> _peer = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The loopback listener that stands for the destination.</summary>
    public IPEndPoint EndPoint { get; } = endPoint;

    /// <summary>The pod-side address (pod IP and port) the destination sees; null when not known.</summary>
    public IPEndPoint? PodLocalAddress { get; } = podLocalAddress;

    /// <summary>
    /// The peer to accept, once <see cref="Admit"/> has named it (IPv4-mapped addresses as IPv4).
    /// The stand-in may accept a connection before that and waits here to judge it.
    /// </summary>
    public Task<IPEndPoint> AdmittedPeer => _peer.Task;

    /// <summary>
    /// Names the only connection to accept: <paramref name="peer"/> is the local address
    /// (getsockname) of the socket connected to <see cref="EndPoint"/>: the app's socket, or the
    /// supervisor's socket that relays a connection completed at the holding listener. The first
    /// call counts.
    /// </summary>
    public void Admit(IPEndPoint peer)
    {
        ArgumentNullException.ThrowIfNull(peer);
        _peer.TrySetResult(Normalized(peer));
    }

    /// <summary>Whether an accepted connection's remote address is the admitted one (false until one is admitted).</summary>
    public bool IsAdmitted(IPEndPoint? peer) =>
        peer is not null && _peer.Task.IsCompletedSuccessfully && _peer.Task.Result.Equals(Normalized(peer));

    private static IPEndPoint Normalized(IPEndPoint address) =>
        address.Address.IsIPv4MappedToIPv6 ? new IPEndPoint(address.Address.MapToIPv4(), address.Port) : address;
}
