using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Doppel.Config;
using Doppel.Protocol.V1;
using Doppel.Session.Agent;
using Doppel.Session.Incoming;
using Doppel.Session.Remote;
using Doppel.Session.Sessions;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Doppel.Session.Forwarding;

/// <summary>
/// <c>doppel port-forward</c>'s session with one agent (mirrord's <c>port-forward</c>): the same
/// connection, relay lanes and incoming subscriptions as <c>doppel exec</c>'s, without a program.
/// <code>
///   -L: client ─► 127.0.0.1:L (accept) ─► name? DnsService.Lookup in the pod (every connection; first IPv4, else first)
///                 ─► OutgoingService.ConnectTcp from the pod ─► bytes both ways, half-closes passed on
///                 the pod's connect fails ─► the client's connection is reset, one warning, the listener goes on
///   -R: IncomingService.Subscribe(port R, mode, filter) ─► Serve calls ─► 127.0.0.1:L (IncomingTraffic)
///   watch: AgentService.Ping every 2 s; no answer for <see cref="GoneAfter"/> ─► <see cref="Gone"/> completes
/// </code>
/// A dropped transport is reconnected by the next call as for exec (a cluster agent's pod gone is
/// replaced by the transport; incoming subscriptions are restored), so only an agent that stays
/// unreachable ends the session.
/// </summary>
public sealed class PortForwardSession : IAsyncDisposable, IIncomingAgents
{
    /// <summary>How long the agent may stay unreachable (every ping failing) before the session gives it up.</summary>
    public static readonly TimeSpan GoneAfter = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan s_pingInterval = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan s_pingTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan s_lookupTimeout = TimeSpan.FromSeconds(30);

    private readonly PortForwardOptions _options;
    private readonly AgentConnection _connection;
    private readonly TcpRelays _tcp;
    private readonly IncomingReplicas? _incoming;
    private readonly ILogger _logger;
    private readonly BackgroundTasks _tasks;
    private readonly CancellationTokenSource _closing = new();
    private readonly TaskCompletionSource<string> _gone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Dictionary<LocalForward, string> _lastFailure = [];

    private PortForwardSession(PortForwardOptions options, AgentConnection connection, ILoggerFactory loggers, string description)
    {
        _options = options;
        _connection = connection;
        _logger = loggers.CreateLogger("doppel.forward");
        _tasks = new BackgroundTasks(_logger);
        _tcp = new TcpRelays(connection.Relay, loggers.CreateLogger("doppel.remote"));
        Description = description;
        if (options.Reverse.Count > 0)
        {
            var incomingLogger = loggers.CreateLogger("doppel.incoming");
            _incoming = new IncomingReplicas(
                (agent, info, warn, error, counts, delivered, outage) => new IncomingTraffic(
                    options.Config.Feature.Network.Incoming, agent, options.SessionName, info, warn, error, incomingLogger,
                    options.Config.Agent.FlushConnections, counts, delivered, watchListeners: false, outage: outage),
                connection,
                options.Config.Feature.Network.Incoming.Mode == IncomingMode.Steal ? "stealing" : "mirroring",
                options.Info,
                options.Warn,
                options.Error,
                incomingLogger);
        }
    }

    /// <summary>One line for the person: <c>session: pod/x (pid 12, …)</c>, as exec prints it.</summary>
    public string Description { get; }

    /// <summary>What the agent serves, as it said in its hello.</summary>
    public TargetInfo Target => _connection.Hello.Target;

    /// <summary>Completes, with one sentence saying why, when the agent has not answered for <see cref="GoneAfter"/>.</summary>
    public Task<string> Gone => _gone.Task;

    /// <inheritdoc/>
    public bool TakesIncoming => _incoming is not null;

    /// <inheritdoc/>
    public bool IncomingListened => _incoming?.HasListened ?? false;

    /// <summary>The line <c>doppel port-forward</c> prints when other sessions use the same agent (<see cref="AgentStatus.OtherSessionsLineAsync"/>); null when none do.</summary>
    public Task<string?> OtherSessionsLineAsync(string targetPath, CancellationToken cancellationToken) =>
        AgentStatus.OtherSessionsLineAsync(_connection, targetPath, cancellationToken);

    /// <inheritdoc/>
    public Task AddIncomingAgentAsync(IAgentTransport transport, string name, CancellationToken cancellationToken) =>
        _incoming?.AddAsync(name, transport, _options.Config.Key ?? "doppel", _options.ClientVersion, cancellationToken) ?? Task.CompletedTask;

    /// <inheritdoc/>
    public Task<bool> RemoveIncomingAgentAsync(string name) =>
        _incoming is null ? Task.FromResult(false) : _incoming.RemoveAsync(name);

    /// <inheritdoc/>
    public void IncomingTargetGone() => _incoming?.FirstTargetGone();

    /// <summary>"alice@laptop (pid 4242)": the session's name in other sessions' messages, from USER in <paramref name="environment"/>.</summary>
    public static string NameOf(IReadOnlyDictionary<string, string> environment) => IncomingTraffic.SessionName(environment);

    /// <summary>
    /// Connects to the agent, starts accepting on every -L listener and subscribes every -R port.
    /// Throws <see cref="AgentConnectionException"/> (one sentence) when the agent cannot be reached
    /// or refuses the session, <see cref="OperationCanceledException"/> when cancelled.
    /// </summary>
    public static async Task<PortForwardSession> StartAsync(PortForwardOptions options, IAgentTransport transport, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(loggers);
        var target = options.Config.Target ?? throw new ArgumentException("the configuration names no target", nameof(options));
        var connection = await AgentConnection.ConnectAsync(transport, options.Config.Key ?? "doppel", options.ClientVersion, cancellationToken).ConfigureAwait(false);
        var session = new PortForwardSession(options, connection, loggers, DoppelSession.Describe(connection.Hello.Target, target));
        session.Start();
        return session;
    }

    /// <summary>Unsubscribes the -R ports, closes the listeners, resets the forwarded connections and closes the agent connection.</summary>
    public async ValueTask DisposeAsync()
    {
        await _closing.CancelAsync().ConfigureAwait(false);
        _options.Listeners.Dispose();
        if (_incoming is not null)
        {
            await _incoming.DisposeAsync().ConfigureAwait(false);
        }

        await _tasks.WhenAllAsync().ConfigureAwait(false);
        await _tcp.DisposeAsync().ConfigureAwait(false);
        await _connection.SayEndingAsync().ConfigureAwait(false);
        _connection.Dispose();
        _closing.Dispose();
    }

    private void Start()
    {
        foreach (var (forward, socket) in _options.Listeners.Listeners)
        {
            _tasks.Run($"port-forward listener {forward}", () => AcceptLoopAsync(forward, socket));
        }

        foreach (var reverse in _options.Reverse)
        {
            _incoming!.Forward(reverse.RemotePort, new IPEndPoint(IPAddress.Loopback, reverse.LocalPort));
        }

        _tasks.Run("agent watch", WatchAgentAsync);
    }

    private async Task AcceptLoopAsync(LocalForward forward, Socket listener)
    {
        while (!_closing.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(_closing.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                ForwardLog.ListenerEnded(_logger, forward.ToString(), e.Message);
                return;
            }

            ForwardLog.Accepted(_logger, client.RemoteEndPoint, forward.ToString());
            _tasks.Run($"port-forward connection {forward}", () => ForwardAsync(forward, client));
        }
    }

    /// <summary>One accepted connection: the destination (looked up in the pod for a name), the pod's connect, then the relay owns the socket.</summary>
    private async Task ForwardAsync(LocalForward forward, Socket client)
    {
        try
        {
            var destination = forward.RemoteAddress is { } address
                ? new IPEndPoint(address, forward.RemotePort)
                : await LookupAsync(forward).ConfigureAwait(false);
            if (destination is not null)
            {
                var errno = await _tcp.ForwardAsync(destination, client, _closing.Token).ConfigureAwait(false);
                if (errno == 0)
                {
                    Succeeded(forward);
                    return;
                }

                Failed(forward, $"the pod could not connect to {destination} ({Marshal.GetPInvokeErrorMessage(errno)})");
            }
        }
        catch (Exception e) when (_closing.IsCancellationRequested && e is OperationCanceledException or RpcException)
        {
            // The session is ending.
        }

        // mirrord closes the client's connection here; a reset says more plainly that nothing was reached.
        TcpRelay.Reset(client);
    }

    /// <summary>The pod's address for the forward's name (the first IPv4 one, else the first), or null after a warning.</summary>
    private async Task<IPEndPoint?> LookupAsync(LocalForward forward)
    {
        DnsLookupResponse response;
        try
        {
            response = await _connection.Dns.LookupAsync(
                new DnsLookupRequest { Name = forward.RemoteHost, Family = IpFamily.Unspecified },
                deadline: DateTime.UtcNow + s_lookupTimeout,
                cancellationToken: _closing.Token).ConfigureAwait(false);
        }
        catch (RpcException e) when (!_closing.IsCancellationRequested)
        {
            Failed(forward, $"the agent did not look up {forward.RemoteHost} ({e.StatusCode})");
            return null;
        }

        var addresses = response.Addresses.Select(a => new IPAddress(a.Span)).ToList();
        if (response.Status != DnsLookupStatus.Ok || addresses.Count == 0)
        {
            Failed(forward, $"the pod's resolver does not know {forward.RemoteHost}{(response.Message is { Length: > 0 } m ? $" ({m.TrimEnd('.')})" : string.Empty)}");
            return null;
        }

        var chosen = addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses[0];
        return new IPEndPoint(chosen, forward.RemotePort);
    }

    /// <summary>One warning per forward and reason: a client retrying in a loop does not flood the terminal.</summary>
    private void Failed(LocalForward forward, string reason)
    {
        if (_closing.IsCancellationRequested)
        {
            return; // connects cut short by the end of the session
        }

        lock (_lastFailure)
        {
            if (_lastFailure.TryGetValue(forward, out var last) && last == reason)
            {
                ForwardLog.FailedAgain(_logger, forward.ToString(), reason);
                return;
            }

            _lastFailure[forward] = reason;
        }

        _options.Warn($"{forward}: {reason}; the local connection was reset, and doppel goes on forwarding.");
    }

    private void Succeeded(LocalForward forward)
    {
        lock (_lastFailure)
        {
            _lastFailure.Remove(forward);
        }
    }

    /// <summary>Pings the agent every 2 s: says once when it stops answering and when it answers again; gives it up after <see cref="GoneAfter"/>.</summary>
    private async Task WatchAgentAsync()
    {
        var answered = Stopwatch.StartNew();
        var silent = false;
        using var timer = new PeriodicTimer(s_pingInterval);
        using var stop = _closing.Token.Register(timer.Dispose);
        ulong sequence = 0;
        while (await timer.WaitForNextTickAsync().ConfigureAwait(false))
        {
            try
            {
                await _connection.Agent.PingAsync(new PingRequest { Sequence = ++sequence }, deadline: DateTime.UtcNow + s_pingTimeout, cancellationToken: _closing.Token).ConfigureAwait(false);
                answered.Restart();
                if (silent)
                {
                    silent = false;
                    _options.Info($"the agent at {_connection.Address} answers again; forwarding goes on.");
                }
            }
            catch (Exception e) when (_closing.IsCancellationRequested && e is OperationCanceledException or RpcException)
            {
                return; // the session is ending
            }
            catch (RpcException e)
            {
                ForwardLog.PingFailed(_logger, $"{e.StatusCode}: {e.Status.Detail}");
                if (answered.Elapsed >= GoneAfter)
                {
                    _gone.TrySetResult($"the agent at {_connection.Address} has not answered for {GoneAfter.TotalSeconds:0} s ({e.StatusCode}: {e.Status.Detail.TrimEnd('.')}), so the port-forward ends");
                    return;
                }

                if (!silent)
                {
                    silent = true;
                    _options.Warn($"the agent at {_connection.Address} does not answer ({e.StatusCode}); new connections fail until it does, and doppel gives up after {GoneAfter.TotalSeconds:0} s.");
                }
            }
        }
    }
}
