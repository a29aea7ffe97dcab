using System.Collections.Concurrent;
using System.Net;

namespace Doppel.Session.Incoming;

/// <summary>
/// The original clients of the whole TCP connections the session is delivering to the app, by the
/// session's end of each (its local address and port, which is the peer the app's accepted socket
/// sees), so that the app's getpeername on that socket answers the client, not the relay:
/// <code>
///   agent tcp_open {client 203.0.113.7:51000} ─► session socket bound 127.0.0.1:E ─connect─► app 127.0.0.1:3000
///   app: getpeername(accepted) = 127.0.0.1:E ──trap──► OriginalClient(127.0.0.1:E) = 203.0.113.7:51000
/// </code>
/// An entry lives from before the connect (the app may ask right after accept) until the delivery ends.
/// </summary>
internal sealed class DeliveredClients
{
    private readonly ConcurrentDictionary<IPEndPoint, IPEndPoint> _clients = new();

    /// <summary>Records that the session's socket at <paramref name="relay"/> carries <paramref name="client"/>'s connection.</summary>
    public void Add(IPEndPoint relay, IPEndPoint client) => _clients[Normal(relay)] = client;

    /// <summary>Forgets the connection of the session's socket at <paramref name="relay"/>.</summary>
    public void Remove(IPEndPoint relay) => _clients.TryRemove(Normal(relay), out _);

    /// <summary>The original client of the connection whose session end is <paramref name="relay"/>; null for any other peer.</summary>
    public IPEndPoint? OriginalClient(IPEndPoint relay) => _clients.IsEmpty ? null : _clients.GetValueOrDefault(Normal(relay));

    private static IPEndPoint Normal(IPEndPoint endPoint) =>
        endPoint.Address.IsIPv4MappedToIPv6 ? new IPEndPoint(endPoint.Address.MapToIPv4(), endPoint.Port) : endPoint;
}
