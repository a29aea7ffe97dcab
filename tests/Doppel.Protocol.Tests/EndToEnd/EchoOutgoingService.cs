using Doppel.Protocol.V1;
using Grpc.Core;

namespace Doppel.Protocol.Tests.EndToEnd;

/// <summary>
/// ConnectTcp as an echo "destination": answers the connect (port 1 refuses with ECONNREFUSED),
/// echoes every data message, and answers the client's half-close with its own. OpenUdp echoes
/// each datagram back from the peer it was sent to.
/// </summary>
internal sealed class EchoOutgoingService : OutgoingService.OutgoingServiceBase
{
    public const int RefusedPort = 1;
    public const int Econnrefused = 111;

    public override async Task ConnectTcp(
        IAsyncStreamReader<TcpClientMessage> requestStream,
        IServerStreamWriter<TcpServerMessage> responseStream,
        ServerCallContext context)
    {
        var ct = context.CancellationToken;
        if (!await requestStream.MoveNext(ct) || requestStream.Current.MessageCase != TcpClientMessage.MessageOneofCase.Connect)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "The first message of ConnectTcp must be connect."));
        }

        var destination = requestStream.Current.Connect.Destination;
        if (destination.Port == RefusedPort)
        {
            await responseStream.WriteAsync(
                new TcpServerMessage { ConnectResult = new TcpConnectResult { Error = new PosixError { Errno = Econnrefused, Message = "Connection refused" } } }, ct);
            return;
        }

        await responseStream.WriteAsync(
            new TcpServerMessage
            {
                ConnectResult = new TcpConnectResult
                {
                    LocalAddress = new SockAddr { Ip = destination.Ip, Port = 40_000 },
                    RemoteAddress = destination,
                },
            },
            ct);

        while (await requestStream.MoveNext(ct))
        {
            switch (requestStream.Current.MessageCase)
            {
                case TcpClientMessage.MessageOneofCase.Data:
                    // The received ByteString is this message's own copy: sending it on is safe.
                    await responseStream.WriteAsync(new TcpServerMessage { Data = requestStream.Current.Data }, ct);
                    break;
                case TcpClientMessage.MessageOneofCase.HalfClose:
                    await responseStream.WriteAsync(new TcpServerMessage { HalfClose = new TcpHalfClose() }, ct);
                    return;
                default:
                    throw new RpcException(new Status(StatusCode.InvalidArgument, "Only data and half_close may follow connect."));
            }
        }
    }

    public override async Task OpenUdp(
        IAsyncStreamReader<UdpClientMessage> requestStream,
        IServerStreamWriter<UdpServerMessage> responseStream,
        ServerCallContext context)
    {
        var ct = context.CancellationToken;
        if (!await requestStream.MoveNext(ct) || requestStream.Current.MessageCase != UdpClientMessage.MessageOneofCase.Open)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "The first message of OpenUdp must be open."));
        }

        var open = requestStream.Current.Open;
        await responseStream.WriteAsync(
            new UdpServerMessage { OpenResult = new UdpOpenResult { LocalAddress = new SockAddr { Ip = open.Destination.Ip, Port = 53_000 } } }, ct);

        // Until the session completes its request stream: that closes the flow.
        while (await requestStream.MoveNext(ct))
        {
            var datagram = requestStream.Current.Datagram;
            await responseStream.WriteAsync(
                new UdpServerMessage { Datagram = new UdpDatagram { Peer = datagram.Peer ?? open.Destination, Data = datagram.Data } }, ct);
        }
    }
}
