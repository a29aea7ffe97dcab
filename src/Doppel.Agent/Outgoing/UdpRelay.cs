using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Doppel.Agent.Network;
using Doppel.Agent.Services;
using Doppel.Linux.Native;
using Doppel.Protocol;
using Doppel.Protocol.V1;
using Doppel.Agent.Logging;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Doppel.Agent.Outgoing;

/// <summary>
/// One <c>OpenUdp</c> call: a UDP socket in the target's namespace and datagrams both ways, each
/// with its peer address (outgoing.proto).
/// <code>
///   session ──datagram(peer = destination)──► ToPod ──sendto──► pod
///   session ◄──datagram(peer = source)─────── ToSession ◄──recvfrom── pod
/// </code>
/// Send failures and ICMP errors (ECONNREFUSED on a connected flow) are sent as <c>error</c> and
/// the flow goes on; the session completing its request stream, or cancelling, closes it.
/// A flow opened without a family uses a dual-stack IPv6 socket and reports IPv4 peers as IPv4.
/// </summary>
internal sealed class UdpRelay : RelayCall<UdpClientMessage, UdpServerMessage>
{
    private const int MaxDatagram = 65_535;

    public UdpRelay(IAsyncStreamReader<UdpClientMessage> requests, IServerStreamWriter<UdpServerMessage> responses, ILogger logger)
        : base(requests, responses, logger)
    {
    }

    /// <summary>Runs the call to its end.</summary>
    public async Task RunAsync(TargetNetwork network, CancellationToken cancellationToken)
    {
        var open = (await ReadOpeningAsync(
            m => m.MessageCase == UdpClientMessage.MessageOneofCase.Open,
            "An OpenUdp call starts with an open message.",
            cancellationToken).ConfigureAwait(false)).Open;
        var destination = open.Destination is null ? null : Endpoints.Parse(open.Destination, "destination");
        var family = open.Family switch
        {
            IpFamily.V4 => AddressFamily.InterNetwork,
            IpFamily.V6 => AddressFamily.InterNetworkV6,
            _ => destination?.AddressFamily ?? AddressFamily.InterNetworkV6,
        };
        var unmap = open.Family == IpFamily.Unspecified && destination is null;
        AgentLog.UdpOpened(Logger, destination?.ToString() ?? "any peer");

        using var socket = await network.CreateSocketAsync(family, SocketType.Dgram, ProtocolType.Udp).ConfigureAwait(false);
        PosixError? error = null;
        try
        {
            if (family == AddressFamily.InterNetworkV6)
            {
                socket.DualMode = true; // as an app's AF_INET6 socket on Linux (bindv6only=0)
            }

            socket.Bind(new IPEndPoint(family == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0));
            if (destination is not null)
            {
                socket.Connect(destination);
            }
        }
        catch (SocketException e)
        {
            error = SocketErrnos.From(e);
        }

        if (error is not null)
        {
            await WriteAsync(new UdpServerMessage { OpenResult = new UdpOpenResult { Error = error } }, cancellationToken).ConfigureAwait(false);
            return;
        }

        await WriteAsync(
            new UdpServerMessage { OpenResult = new UdpOpenResult { LocalAddress = Endpoints.ToWire(socket.LocalEndPoint!, unmap) } },
            cancellationToken).ConfigureAwait(false);

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var toSession = ToSessionAsync(socket, unmap, stop.Token);
        try
        {
            await ToPodAsync(socket, destination is not null, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await toSession.ConfigureAwait(false);
        }
    }

    // session --app datagrams--> pod; returns when the session completes its request stream.
    private async Task ToPodAsync(Socket socket, bool connected, CancellationToken cancellationToken)
    {
        while (await Requests.MoveNext(cancellationToken).ConfigureAwait(false))
        {
            var message = Requests.Current;
            if (message.MessageCase != UdpClientMessage.MessageOneofCase.Datagram)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, "After open, an OpenUdp call carries only datagrams."));
            }

            var datagram = message.Datagram;
            try
            {
                if (datagram.Peer is not null)
                {
                    await socket.SendToAsync(datagram.Data.Memory, SocketFlags.None, Endpoints.Parse(datagram.Peer, "peer"), cancellationToken).ConfigureAwait(false);
                }
                else if (connected)
                {
                    await socket.SendAsync(datagram.Data.Memory, SocketFlags.None, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await WriteAsync(new UdpServerMessage { Error = PosixErrors.Of(Errno.EDESTADDRREQ) }, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (SocketException e)
            {
                await WriteAsync(new UdpServerMessage { Error = SocketErrnos.From(e) }, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    // pod --pod datagrams--> session; runs until the flow closes.
    private async Task ToSessionAsync(Socket socket, bool unmap, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(MaxDatagram);
        EndPoint any = new IPEndPoint(socket.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
        try
        {
            while (true)
            {
                UdpServerMessage message;
                try
                {
                    var received = await socket.ReceiveFromAsync(buffer.AsMemory(0, MaxDatagram), SocketFlags.None, any, cancellationToken).ConfigureAwait(false);
                    message = new UdpServerMessage
                    {
                        Datagram = new UdpDatagram { Peer = Endpoints.ToWire(received.RemoteEndPoint, unmap), Data = Relay.Wrap(buffer, received.ReceivedBytes) },
                    };
                }
                catch (SocketException e) when (e.SocketErrorCode != SocketError.OperationAborted)
                {
                    message = new UdpServerMessage { Error = SocketErrnos.From(e) }; // an ICMP error: the flow stays open
                }

                await WriteAsync(message, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException or SocketException)
        {
            // the flow is closing
        }
        finally
        {
            // Every write that wrapped the buffer has completed by now (Relay's ownership rule).
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
