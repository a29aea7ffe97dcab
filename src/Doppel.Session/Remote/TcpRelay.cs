using System.Net;
using System.Net.Sockets;
using Doppel.Interception.Remote;
using Doppel.Linux.Sockets;
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
/// resets the app's socket, so the app sees ECONNRESET rather than a hang. A port-forward's
/// connection (<see cref="RunConnectedAsync"/>) has no stand-in: its accepted socket is relayed as it is.
/// </summary>
internal sealed class TcpRelay(
    IPEndPoint destination,
    TcpStandIn? standIn,
    Socket? listener,
    AsyncDuplexStreamingCall<TcpClientMessage, TcpServerMessage> call,
    CancellationTokenSource cancel,
    IDisposable lane,
    ILogger logger)
{
    /// <summary>Accepts the app's connection on the stand-in, then relays it (see <see cref="RunConnectedAsync"/>).</summary>
    public async Task RunAsync()
    {
        Socket? app = null;
        try
        {
            using var acceptTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancel.Token);
            acceptTimeout.CancelAfter(TcpRelays.ConnectTimeout);
            app = await AcceptAdmittedAsync(acceptTimeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            RemoteLog.RelayEndedBeforeAccept(logger, destination);
        }
        finally
        {
            listener?.Dispose();
            if (app is null)
            {
                await cancel.CancelAsync().ConfigureAwait(false);
                call.Dispose();
                cancel.Dispose();
                lane.Dispose();
            }
        }

        if (app is not null)
        {
            await RunConnectedAsync(app).ConfigureAwait(false);
        }
    }

    /// <summary>Copies both ways between <paramref name="app"/> and the call until both directions end; then closes both.</summary>
    public async Task RunConnectedAsync(Socket app)
    {
        try
        {
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
        finally
        {
            app.Dispose();
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
            var accepted = await listener!.AcceptAsync(cancellationToken).ConfigureAwait(false);
            var peer = accepted.RemoteEndPoint as IPEndPoint;
            try
            {
                await standIn!.AdmittedPeer.WaitAsync(cancellationToken).ConfigureAwait(false);
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
    private Task<bool> UploadAsync(Socket app) => ByteRelay.ToAgentAsync(
        (buffer, ct) => app.ReceiveAsync(buffer, SocketFlags.None, ct),
        (data, ct) => call.RequestStream.WriteAsync(new TcpClientMessage { Data = data }, ct),
        ct => call.RequestStream.WriteAsync(new TcpClientMessage { HalfClose = new TcpHalfClose() }, ct),
        reason => RemoteLog.RelayAppSideEnded(logger, destination, reason),
        cancel.Token);

    /// <summary>Agent → app. True when it ended cleanly (half-close passed on).</summary>
    private Task<bool> DownloadAsync(Socket app) => ByteRelay.FromAgentAsync(
        call.ResponseStream,
        message => message.MessageCase switch
        {
            TcpServerMessage.MessageOneofCase.Data => (ByteRelay.Kind.Data, message.Data.Memory),
            TcpServerMessage.MessageOneofCase.HalfClose => (ByteRelay.Kind.HalfClose, default),
            TcpServerMessage.MessageOneofCase.Error => (ByteRelay.Kind.Error, default),
            _ => (ByteRelay.Kind.Other, default(ReadOnlyMemory<byte>)),
        },
        (data, ct) => SendAllAsync(app, data, ct),
        () => app.Shutdown(SocketShutdown.Send),
        message => RemoteLog.RelayPodSideFailed(logger, destination, message.Error.Errno, message.Error.Message),
        reason => RemoteLog.RelayAgentSideEnded(logger, destination, reason),
        cancel.Token);

    /// <summary>Sends all of <paramref name="data"/> (a send may take part of it).</summary>
    internal static async ValueTask SendAllAsync(Socket socket, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        while (!data.IsEmpty)
        {
            var sent = await socket.SendAsync(data, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            data = data[sent..];
        }
    }

    /// <summary>Closes with RST (SO_LINGER 0): the app sees ECONNRESET.</summary>
    internal static void Reset(Socket app) => SocketReset.Close(app);
}
