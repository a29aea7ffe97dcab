using System.Net;
using System.Net.Sockets;
using Doppel.Interception.Remote;
using Doppel.Protocol;
using Doppel.Protocol.V1;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Doppel.Session.Remote;

/// <summary>
/// One relayed connection: accepts the app's socket on the stand-in listener (only the peer the
/// interception engine admitted: <see cref="TcpStandIn.Admit"/>; any other connection, another
/// local process that found the port, is reset), then copies both ways. End of stream on either
/// side is passed on as a half-close; an error on the agent's side (or the agent going away)
/// resets the app's socket, so the app sees ECONNRESET rather than a hang.
/// </summary>
internal sealed class TcpRelay(
    IPEndPoint destination,
    TcpStandIn standIn,
    Socket listener,
    AsyncDuplexStreamingCall<TcpClientMessage, TcpServerMessage> call,
    CancellationTokenSource cancel,
    IDisposable lane,
    ILogger logger)
{
    public async Task RunAsync()
    {
        Socket? app = null;
        try
        {
            using (var acceptTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancel.Token))
            {
                acceptTimeout.CancelAfter(TcpRelays.ConnectTimeout);
                app = await AcceptAdmittedAsync(acceptTimeout.Token).ConfigureAwait(false);
            }

            listener.Dispose();
            app.NoDelay = true;
            var upload = UploadAsync(app);
            var download = DownloadAsync(app);
            var first = await Task.WhenAny(upload, download).ConfigureAwait(false);
            if (!await first.ConfigureAwait(false))
            {
                // One side failed: tear the other down too.
                Reset(app);
                await cancel.CancelAsync().ConfigureAwait(false);
            }

            await Task.WhenAll(upload, download).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            RemoteLog.RelayEndedBeforeAccept(logger, destination);
        }
        finally
        {
            listener.Dispose();
            if (app is not null)
            {
                app.Dispose();
            }

            await cancel.CancelAsync().ConfigureAwait(false);
            call.Dispose();
            cancel.Dispose();
            lane.Dispose();
        }
    }

    /// <summary>
    /// Accepts connections until the admitted one comes; every other one is reset. A connection
    /// accepted before the interception engine has admitted its peer waits for that word.
    /// </summary>
    private async Task<Socket> AcceptAdmittedAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var accepted = await listener.AcceptAsync(cancellationToken).ConfigureAwait(false);
            var peer = accepted.RemoteEndPoint as IPEndPoint;
            try
            {
                await standIn.AdmittedPeer.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                accepted.Dispose();
                throw;
            }

            if (standIn.IsAdmitted(peer))
            {
                RemoteLog.AppConnected(logger, peer!, destination);
                return accepted;
            }

            RemoteLog.StandInRefused(logger, peer, destination);
            Reset(accepted);
        }
    }

    /// <summary>App → agent. True when it ended cleanly (half-close sent).</summary>
    private async Task<bool> UploadAsync(Socket app)
    {
        var buffer = GC.AllocateUninitializedArray<byte>(Relay.ChunkSize);
        try
        {
            int n;
            while ((n = await app.ReceiveAsync(buffer, SocketFlags.None, cancel.Token).ConfigureAwait(false)) > 0)
            {
                // WriteAsync has serialised the message when it completes: the buffer can be reused.
                await call.RequestStream.WriteAsync(new TcpClientMessage { Data = Relay.Wrap(buffer, n) }, cancel.Token).ConfigureAwait(false);
            }

            await call.RequestStream.WriteAsync(new TcpClientMessage { HalfClose = new TcpHalfClose() }, cancel.Token).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is SocketException or RpcException or OperationCanceledException or InvalidOperationException or ObjectDisposedException)
        {
            RemoteLog.RelayAppSideEnded(logger, destination, e.Message);
            return false;
        }
    }

    /// <summary>Agent → app. True when it ended cleanly (half-close passed on).</summary>
    private async Task<bool> DownloadAsync(Socket app)
    {
        try
        {
            while (await call.ResponseStream.MoveNext(cancel.Token).ConfigureAwait(false))
            {
                var message = call.ResponseStream.Current;
                switch (message.MessageCase)
                {
                    case TcpServerMessage.MessageOneofCase.Data:
                        var data = message.Data.Memory;
                        while (!data.IsEmpty)
                        {
                            var sent = await app.SendAsync(data, SocketFlags.None, cancel.Token).ConfigureAwait(false);
                            data = data[sent..];
                        }

                        break;
                    case TcpServerMessage.MessageOneofCase.HalfClose:
                        app.Shutdown(SocketShutdown.Send);
                        break;
                    case TcpServerMessage.MessageOneofCase.Error:
                        RemoteLog.RelayPodSideFailed(logger, destination, message.Error.Errno, message.Error.Message);
                        return false;
                }
            }

            return true;
        }
        catch (Exception e) when (e is SocketException or RpcException or OperationCanceledException or ObjectDisposedException)
        {
            RemoteLog.RelayAgentSideEnded(logger, destination, e.Message);
            return false;
        }
    }

    /// <summary>Closes with RST (SO_LINGER 0): the app sees ECONNRESET.</summary>
    private static void Reset(Socket app)
    {
        try
        {
            app.LingerState = new LingerOption(true, 0);
            app.Close();
        }
        catch (ObjectDisposedException)
        {
        }
    }
}
