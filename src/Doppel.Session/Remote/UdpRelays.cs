using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Doppel.Session.Agent;
using Microsoft.Extensions.Logging;

namespace Doppel.Session.Remote;

/// <summary>
/// Outgoing UDP through the agent: one loopback socket per destination stands in for it; each app
/// socket that sends there (told apart by its source address) gets its own flow at the agent, so
/// replies go back to the socket that asked.
/// </summary>
internal sealed class UdpRelays(RelayLanes lanes, DnsRouting? dns, ILogger logger) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<IPEndPoint, Lazy<UdpRelay>> _relays = new();
    private readonly CancellationTokenSource _closing = new();

    public ValueTask<IPEndPoint?> GetRelayAsync(IPEndPoint destination, CancellationToken cancellationToken)
    {
        if (_closing.IsCancellationRequested)
        {
            return new((IPEndPoint?)null);
        }

        var relay = _relays.GetOrAdd(destination, d => new Lazy<UdpRelay>(() => UdpRelay.Start(lanes, d, dns, logger, _closing.Token))).Value;
        return new(relay.LocalEndPoint);
    }

    public async ValueTask DisposeAsync()
    {
        await _closing.CancelAsync().ConfigureAwait(false);
        foreach (var relay in _relays.Values.Where(r => r.IsValueCreated))
        {
            await relay.Value.DisposeAsync().ConfigureAwait(false);
        }

        _closing.Dispose();
    }
}
