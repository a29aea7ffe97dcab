using Doppel.Protocol.V1;
using Grpc.Net.Client;

namespace Doppel.Session.Agent;

/// <summary>
/// The HTTP/2 connections that carry relayed bytes. A connection's frames leave in order, so a
/// small request on a connection that also carries a bulk transfer can wait behind the bulk
/// stream's frames (LINUX-NOTES.md, "gRPC": 0.8–1.1 ms p50 on a shared connection; more over a
/// port-forward with real RTT). Each new relayed stream takes the lane with the fewest open
/// streams, so one bulk transfer occupies only its own lane. On a 2-CPU machine with a local
/// agent the CPU, not the queueing, dominates (docs/benchmarks.md, "Relay lanes, A/B").
/// Lanes connect lazily, on their first stream.
/// </summary>
public sealed class RelayLanes : IDisposable
{
    /// <summary>Enough that a few bulk transfers leave a quiet lane for interactive traffic.</summary>
    public const int Count = 4;

    private readonly GrpcChannel[] _channels;
    private readonly OutgoingService.OutgoingServiceClient[] _clients;
    private readonly IncomingService.IncomingServiceClient[] _incoming;
    private readonly int[] _open;

    public RelayLanes(Func<GrpcChannel> channel)
    {
        ArgumentNullException.ThrowIfNull(channel);
        _channels = Enumerable.Range(0, Count).Select(_ => channel()).ToArray();
        _clients = _channels.Select(c => new OutgoingService.OutgoingServiceClient(c)).ToArray();
        _incoming = _channels.Select(c => new IncomingService.IncomingServiceClient(c)).ToArray();
        _open = new int[Count];
    }

    /// <summary>Takes the least busy lane; dispose the lease when the stream has ended.</summary>
    public Lease Take()
    {
        var best = 0;
        for (var i = 1; i < Count; i++)
        {
            if (Volatile.Read(ref _open[i]) < Volatile.Read(ref _open[best]))
            {
                best = i;
            }
        }

        Interlocked.Increment(ref _open[best]);
        return new Lease(this, best);
    }

    public void Dispose()
    {
        foreach (var channel in _channels)
        {
            channel.Dispose();
        }
    }

    /// <summary>One stream's use of a lane.</summary>
    public sealed class Lease : IDisposable
    {
        private readonly RelayLanes _lanes;
        private readonly int _lane;
        private int _released;

        internal Lease(RelayLanes lanes, int lane)
        {
            _lanes = lanes;
            _lane = lane;
        }

        public OutgoingService.OutgoingServiceClient Client => _lanes._clients[_lane];

        /// <summary>The lane's IncomingService client, for Serve calls (incoming work is relayed bytes too).</summary>
        public IncomingService.IncomingServiceClient Incoming => _lanes._incoming[_lane];

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                Interlocked.Decrement(ref _lanes._open[_lane]);
            }
        }
    }
}
