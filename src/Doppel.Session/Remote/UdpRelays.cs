using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Doppel.Interception.Remote;
using Doppel.Session.Agent;
using Microsoft.Extensions.Logging;

namespace Doppel.Session.Remote;

/// <summary>
/// Outgoing UDP through the agent: one loopback socket per destination stands in for it; each app
/// socket that sends there (told apart by its source address) gets its own flow at the agent, so
/// replies go back to the socket that asked. A connected app socket gets a stand-in of its own
/// (<see cref="ConnectAsync"/>), through which the pod's ECONNREFUSED reaches it. Every stand-in
/// reads <paramref name="time"/> (the system's clock; a test's fake one) for its idle flows.
/// </summary>
internal sealed class UdpRelays(RelayLanes lanes, DnsRouting? dns, ILogger logger, TimeProvider time) : IAsyncDisposable
{
    private static readonly TimeSpan DropInterval = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<IPEndPoint, Lazy<UdpRelay>> _relays = new();
    private readonly CancellationTokenSource _closing = new();
    private readonly ConcurrentDictionary<UdpRelay, byte> _connected = new();
    private long _lastDrop = time.GetTimestamp();

    /// <summary>Background tasks of every stand-in still running.</summary>
    public int Running =>
        _relays.Values.Where(r => r.IsValueCreated).Sum(r => r.Value.Running) + _connected.Keys.Sum(r => r.Running);

    public ValueTask<IPEndPoint?> GetRelayAsync(IPEndPoint destination, CancellationToken cancellationToken)
    {
        if (_closing.IsCancellationRequested)
        {
            return new((IPEndPoint?)null);
        }

        var relay = _relays.GetOrAdd(destination, d => new Lazy<UdpRelay>(() => UdpRelay.Start(lanes, d, dns, time, logger, _closing.Token))).Value;
        return new(relay.LocalEndPoint);
    }

    /// <summary>
    /// A stand-in of its own for one connected app socket, so that the pod's ICMP port unreachable
    /// can be handed to that socket alone (<see cref="UdpRelay"/>). Stand-ins whose app socket has
    /// gone (closed, re-connected, exited) are dropped on later calls.
    /// </summary>
    public async ValueTask<IPEndPoint?> ConnectAsync(IPEndPoint destination, IConnectedUdpSocket app, CancellationToken cancellationToken)
    {
        await DropGoneAsync().ConfigureAwait(false);
        if (_closing.IsCancellationRequested)
        {
            app.Dispose();
            return null;
        }

        var relay = UdpRelay.StartFor(lanes, destination, app, dns, time, logger, _closing.Token);
        _connected[relay] = 0;
        return relay.LocalEndPoint;
    }

    public async ValueTask DisposeAsync()
    {
        await _closing.CancelAsync().ConfigureAwait(false);
        foreach (var relay in _relays.Values.Where(r => r.IsValueCreated))
        {
            await relay.Value.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var relay in _connected.Keys)
        {
            await relay.DisposeAsync().ConfigureAwait(false);
        }

        _closing.Dispose();
    }

    // At most every few seconds, and never a stand-in so new that its app socket may not be
    // connected to it yet.
    private async ValueTask DropGoneAsync()
    {
        var now = time.GetTimestamp();
        var last = Interlocked.Read(ref _lastDrop);
        if (time.GetElapsedTime(last, now) < DropInterval || Interlocked.CompareExchange(ref _lastDrop, now, last) != last)
        {
            return;
        }

        foreach (var relay in _connected.Keys)
        {
            if (time.GetElapsedTime(relay.Created, now) > DropInterval && !relay.App!.IsConnectedTo(relay.LocalEndPoint) && _connected.TryRemove(relay, out _))
            {
                await relay.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
