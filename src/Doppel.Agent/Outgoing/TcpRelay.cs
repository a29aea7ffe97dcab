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
/// One <c>ConnectTcp</c> call: a TCP connection from the target's namespace, relayed both ways
/// (outgoing.proto has the message flow).
/// <code>
///   session ──data / half_close──► ToPod ──send / shutdown(SHUT_WR)──► pod
///   session ◄──data / half_close── ToSession ◄──recv / recv()==0────── pod
/// </code>
/// Both directions end with a half-close and the call with OK; a socket error after connecting is
/// sent as <c>error</c> and ends the call; a cancelled call closes the socket with RST (linger 0).
/// </summary>
internal sealed class TcpRelay : RelayCall<TcpClientMessage, TcpServerMessage>
{
    /// <summary>The connect timeout when the session leaves it to the agent.</summary>
    public static readonly TimeSpan DefaultConnectTimeout = TimeSpan.FromSeconds(10);

    public TcpRelay(IAsyncStreamReader<TcpClientMessage> requests, IServerStreamWriter<TcpServerMessage> responses, ILogger logger)
        : base(requests, responses, logger)
    {
    }

    /// <summary>Runs the call to its end.</summary>
    public async Task RunAsync(TargetNetwork network, CancellationToken cancellationToken)
    {
        var connect = (await ReadOpeningAsync(
            m => m.MessageCase == TcpClientMessage.MessageOneofCase.Connect,
            "A ConnectTcp call starts with a connect message.",
            cancellationToken).ConfigureAwait(false)).Connect;
        var destination = Endpoints.Parse(connect.Destination, "destination");
        var timeout = connect.TimeoutMs == 0 ? DefaultConnectTimeout : TimeSpan.FromMilliseconds(connect.TimeoutMs);
        using var socket = await network.CreateSocketAsync(destination.AddressFamily, SocketType.Stream, ProtocolType.Tcp).ConfigureAwait(false);
        AgentLog.TcpConnecting(Logger, destination);
        var error = await ConnectAsync(socket, destination, timeout, cancellationToken).ConfigureAwait(false);
        if (error is not null)
        {
            AgentLog.TcpConnectFailed(Logger, destination, error.Errno, error.Message);
            await WriteAsync(new TcpServerMessage { ConnectResult = new TcpConnectResult { Error = error } }, cancellationToken).ConfigureAwait(false);
            return;
        }

        AgentLog.TcpConnected(Logger, destination, socket.LocalEndPoint);
        socket.NoDelay = true;
        await WriteAsync(
            new TcpServerMessage
            {
                ConnectResult = new TcpConnectResult
                {
                    LocalAddress = SockAddr.FromIPEndPoint((IPEndPoint)socket.LocalEndPoint!),
                    RemoteAddress = SockAddr.FromIPEndPoint((IPEndPoint)socket.RemoteEndPoint!),
                },
            },
            cancellationToken).ConfigureAwait(false);

        using var abort = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var toPod = ToPodAsync(socket, abort.Token);
        var toSession = ToSessionAsync(socket, abort.Token);
        var first = await Task.WhenAny(toPod, toSession).ConfigureAwait(false);
        var end = await first.ConfigureAwait(false);
        if (end == RelayEnd.HalfClosed)
        {
            end = await (first == toPod ? toSession : toPod).ConfigureAwait(false);
        }

        if (end != RelayEnd.HalfClosed)
        {
            // An error or a cancellation: the other direction stops now, the peer gets RST.
            await abort.CancelAsync().ConfigureAwait(false);
            Reset(socket);
            await Task.WhenAll(toPod, toSession).ConfigureAwait(false);
        }

        cancellationToken.ThrowIfCancellationRequested();
    }

    private static async Task<PosixError?> ConnectAsync(Socket socket, IPEndPoint destination, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await socket.ConnectAsync(destination, deadline.Token).ConfigureAwait(false);
            return null;
        }
        catch (SocketException e)
        {
            return SocketErrnos.From(e);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return PosixErrors.Of(Errno.ETIMEDOUT);
        }
    }

    // session --app bytes--> pod
    private async Task<RelayEnd> ToPodAsync(Socket socket, CancellationToken cancellationToken)
    {
        try
        {
            while (await Requests.MoveNext(cancellationToken).ConfigureAwait(false))
            {
                var message = Requests.Current;
                if (message.MessageCase == TcpClientMessage.MessageOneofCase.HalfClose)
                {
                    break;
                }

                if (message.MessageCase != TcpClientMessage.MessageOneofCase.Data)
                {
                    return RelayEnd.Aborted; // a second connect: the session is confused, drop the connection
                }

                var data = message.Data.Memory;
                while (!data.IsEmpty)
                {
                    data = data[await socket.SendAsync(data, SocketFlags.None, cancellationToken).ConfigureAwait(false)..];
                }
            }

            // half_close, or the session completed its request stream: both mean no more bytes.
            socket.Shutdown(SocketShutdown.Send);
            return RelayEnd.HalfClosed;
        }
        catch (SocketException e)
        {
            return await FailAsync(e, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException)
        {
            return RelayEnd.Aborted;
        }
    }

    // pod --pod bytes--> session
    private async Task<RelayEnd> ToSessionAsync(Socket socket, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(Relay.ChunkSize);
        try
        {
            while (true)
            {
                var read = await socket.ReceiveAsync(buffer.AsMemory(0, Relay.ChunkSize), SocketFlags.None, cancellationToken).ConfigureAwait(false);
                var message = read == 0
                    ? new TcpServerMessage { HalfClose = new TcpHalfClose() }
                    : new TcpServerMessage { Data = Relay.Wrap(buffer, read) };
                await WriteAsync(message, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    return RelayEnd.HalfClosed;
                }
            }
        }
        catch (SocketException e)
        {
            return await FailAsync(e, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException)
        {
            return RelayEnd.Aborted;
        }
        finally
        {
            // Every write that wrapped the buffer has completed by now (Relay's ownership rule).
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task<RelayEnd> FailAsync(SocketException e, CancellationToken cancellationToken)
    {
        try
        {
            await WriteAsync(new TcpServerMessage { Error = SocketErrnos.From(e) }, cancellationToken).ConfigureAwait(false);
            return RelayEnd.Failed;
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException)
        {
            return RelayEnd.Aborted;
        }
    }

    private static void Reset(Socket socket) => Doppel.Linux.Sockets.SocketReset.Close(socket);
}
