using System.Net;
using System.Net.Sockets;
using Doppel.Interception.Remote;
using Doppel.Linux.Native;
using Doppel.Protocol;
using Doppel.Protocol.V1;
using Doppel.Session.Agent;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Doppel.Session.Remote;

/// <summary>
/// Outgoing TCP through the agent. For each app connection: the agent connects from the pod's
/// namespace first (so a refused or unreachable destination fails for the app too, with the pod's
/// errno), then a one-shot loopback listener stands in for the destination (a <see cref="TcpStandIn"/>,
/// with the agent socket's pod-side address); the app's socket is connected to it, admitted as its
/// only peer, and the bytes are pumped between that socket and the call, half-closes included.
/// </summary>
internal sealed class TcpRelays(RelayLanes lanes, ILogger logger) : IAsyncDisposable
{
    /// <summary>How long the app may take to reach the stand-in once the agent has connected.</summary>
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(15);

    /// <summary>
    /// The limit the agent is given for its connect. It is no real limit: the pod kernel's own
    /// timeout (its <c>net.ipv4.tcp_syn_retries</c>, ≈ 127 s by default) ends a connect to a
    /// silent destination first, with ETIMEDOUT, exactly as it would for an app in the pod. The
    /// app's own timeout, or its closing the socket, ends it earlier (the call is cancelled).
    /// It only bounds a connect that some kernel setting lets run for longer.
    /// </summary>
    public static readonly TimeSpan AgentConnectLimit = TimeSpan.FromMinutes(10);

    /// <summary>
    /// The stand-in's listen backlog: room for the app's connection beside a few others that the
    /// relay resets (connections that are not the app's must not keep it out).
    /// </summary>
    private const int StandInBacklog = 8;

    private readonly CancellationTokenSource _closing = new();
    private readonly BackgroundTasks _relays = new(logger);

    /// <summary>Relays running (each one app connection's pumps).</summary>
    public int Running => _relays.Count;

    public async ValueTask<TcpConnectOutcome> ConnectAsync(IPEndPoint destination, CancellationToken cancellationToken)
    {
        var opened = await OpenAsync(destination, cancellationToken).ConfigureAwait(false);
        if (opened.Call is not { } call)
        {
            return TcpConnectOutcome.Failed(opened.Errno);
        }

        Socket listener;
        try
        {
            listener = LoopbackSocket.Bind(SocketType.Stream, ProtocolType.Tcp, StandInBacklog);
        }
        catch (SocketException e)
        {
            // A stand-in that cannot listen has closed its socket: the call and the lane are let go.
            RemoteLog.ConnectFailed(logger, destination, e.Message);
            Abandon(call, opened.Cancel!);
            opened.Lane!.Dispose();
            return TcpConnectOutcome.Failed(Errno.ECONNREFUSED);
        }

        var standIn = new TcpStandIn((IPEndPoint)listener.LocalEndPoint!, opened.PodSide);
        var relay = new TcpRelay(destination, standIn, listener, call, opened.Cancel!, opened.Lane!, logger);
        _relays.Run($"TCP relay to {destination}", relay.RunAsync);
        return TcpConnectOutcome.Connected(standIn);
    }

    /// <summary>
    /// <c>doppel port-forward -L</c>: the agent connects to <paramref name="destination"/> from the
    /// pod, then <paramref name="local"/> (an accepted connection) is relayed to it, half-closes
    /// included; the relay owns the socket from here. 0 when relaying started, else the pod's errno
    /// (the socket is left to the caller).
    /// </summary>
    public async ValueTask<int> ForwardAsync(IPEndPoint destination, Socket local, CancellationToken cancellationToken)
    {
        var opened = await OpenAsync(destination, cancellationToken).ConfigureAwait(false);
        if (opened.Call is not { } call)
        {
            return opened.Errno;
        }

        var relay = new TcpRelay(destination, standIn: null, listener: null, call, opened.Cancel!, opened.Lane!, logger);
        _relays.Run($"TCP forward to {destination}", () => relay.RunConnectedAsync(local));
        return 0;
    }

    /// <summary>
    /// The agent's half of a relayed connection: a ConnectTcp call on the least busy lane, whose
    /// connect in the pod has succeeded (Call set, with its cancel source, lane and the pod-side
    /// address), or failed (Errno: the pod's, or ECONNREFUSED when the agent did not answer).
    /// </summary>
    private async ValueTask<Opened> OpenAsync(IPEndPoint destination, CancellationToken cancellationToken)
    {
        var cancel = CancellationTokenSource.CreateLinkedTokenSource(_closing.Token);
        var lane = lanes.Take();
        AsyncDuplexStreamingCall<TcpClientMessage, TcpServerMessage>? call = null;
        try
        {
            call = lane.Client.ConnectTcp(cancellationToken: cancel.Token);

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, cancel.Token);
            timeout.CancelAfter(AgentConnectLimit + ConnectTimeout);

            // The caller giving up (the app closed its socket) or the time limit cancels the call
            // itself (a token given to MoveNext alone did not end the wait, measured here): the
            // agent then closes its socket in the pod, whatever its connect is waiting for.
            using var giveUp = timeout.Token.Register(static c => ((CancellationTokenSource)c!).Cancel(), cancel);
            await call.RequestStream.WriteAsync(
                new TcpClientMessage { Connect = new TcpConnect { Destination = SockAddr.FromIPEndPoint(destination), TimeoutMs = (uint)AgentConnectLimit.TotalMilliseconds } },
                timeout.Token).ConfigureAwait(false);
            if (!await call.ResponseStream.MoveNext(timeout.Token).ConfigureAwait(false)
                || call.ResponseStream.Current.MessageCase != TcpServerMessage.MessageOneofCase.ConnectResult)
            {
                throw new InvalidOperationException("the agent answered a connect without a connect result");
            }

            if (call.ResponseStream.Current.ConnectResult.Error is { } error)
            {
                RemoteLog.AgentConnectFailed(logger, destination, error.Errno, error.Message);
                Abandon(call, cancel);
                lane.Dispose();
                return new Opened(error.Errno > 0 ? error.Errno : Errno.ECONNREFUSED, null, null, null, null);
            }

            return new Opened(0, call, cancel, lane, call.ResponseStream.Current.ConnectResult.LocalAddress?.ToIPEndPoint());
        }
        catch (Exception e) when (e is RpcException or OperationCanceledException or InvalidOperationException or IOException or SocketException)
        {
            // Cancelled here (the app closed its socket or gave up) or as the session ends (the
            // program exited with connects under way): neither is a failure to warn about.
            var cancelled = cancellationToken.IsCancellationRequested
                || e is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled };
            if (cancelled)
            {
                RemoteLog.ConnectAbandoned(logger, destination);
            }
            else
            {
                RemoteLog.ConnectFailed(logger, destination, e.Message);
            }

            if (call is not null)
            {
                Abandon(call, cancel);
            }
            else
            {
                cancel.Dispose();
            }

            lane.Dispose();

            // No answer from the agent: refused, as an unreachable service would be.
            return new Opened(Errno.ECONNREFUSED, null, null, null, null);
        }
    }

    /// <summary>Ends every relay (their calls are cancelled, app sockets closed) and waits for them.</summary>
    public async ValueTask DisposeAsync()
    {
        await _closing.CancelAsync().ConfigureAwait(false);
        await _relays.WhenAllAsync().ConfigureAwait(false);
        _closing.Dispose();
    }

    private static void Abandon(AsyncDuplexStreamingCall<TcpClientMessage, TcpServerMessage> call, CancellationTokenSource cancel)
    {
        cancel.Cancel();
        call.Dispose();
        cancel.Dispose();
    }

    /// <summary>What <see cref="OpenAsync"/> came to: a call whose connect succeeded, or the errno of its failure.</summary>
    private readonly record struct Opened(
        int Errno,
        AsyncDuplexStreamingCall<TcpClientMessage, TcpServerMessage>? Call,
        CancellationTokenSource? Cancel,
        RelayLanes.Lease? Lane,
        IPEndPoint? PodSide);
}
